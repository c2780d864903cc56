package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// cameraEntry is the JSON value of an allow-list entry.
type cameraEntry struct {
	Name   string `json:"name"`
	SeenMS int64  `json:"seen_ms"` // last time a fetcher listed it
	// Watched: followed only while someone watches (preview.Camera.Watched).
	Watched bool `json:"watched,omitempty"`
	// Signed and Origins: preview.Camera's. A replica older than these
	// fields would serve a signed camera publicly: upgrade web replicas
	// before marking a camera signed.
	Signed  bool   `json:"signed,omitempty"`
	Origins string `json:"origins,omitempty"`
}

// PublishCameras marks cams public now. Fetchers call it periodically; a
// camera no fetcher lists any more ages out (see Cameras).
func (s *Store) PublishCameras(ctx context.Context, cams []preview.Camera, now time.Time) error {
	if len(cams) == 0 {
		return nil
	}
	fields := make([]any, 0, 2*len(cams))
	for _, c := range cams {
		v, _ := json.Marshal(cameraEntry{Name: c.Name, SeenMS: now.UnixMilli(), Watched: c.Watched, Signed: c.Signed, Origins: c.Origins})
		fields = append(fields, string(c.ESN), string(v))
	}
	if err := s.rdb.HSet(ctx, s.keys.Cameras(), fields...).Err(); err != nil {
		return fmt.Errorf("redisstore: publishing cameras: %w", err)
	}
	return nil
}

// Cameras returns the allow-list: every camera a fetcher listed within
// maxAge. Older entries are removed, so the hash does not grow forever.
func (s *Store) Cameras(ctx context.Context, maxAge time.Duration, now time.Time) ([]preview.Camera, error) {
	all, err := s.rdb.HGetAll(ctx, s.keys.Cameras()).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reading cameras: %w", err)
	}
	var cams []preview.Camera
	var expired []string
	for id, raw := range all {
		esn, err := preview.ParseESN(id)
		var e cameraEntry
		if err != nil || json.Unmarshal([]byte(raw), &e) != nil || now.Sub(time.UnixMilli(e.SeenMS)) > maxAge {
			expired = append(expired, id)
			continue
		}
		cams = append(cams, preview.Camera{ESN: esn, Name: e.Name, Watched: e.Watched, Signed: e.Signed, Origins: e.Origins})
	}
	if len(expired) > 0 {
		// Best effort: another reader may prune the same fields.
		s.rdb.HDel(ctx, s.keys.Cameras(), expired...)
	}
	return cams, nil
}

// Package redisstore keeps camrelay's shared state in Redis: frames written
// by a fenced Lua script, the public camera allow-list, live fetchers, and
// the frame notifications on pub/sub.
package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
)

// Store reads and writes camrelay's keys. It is safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	keys preview.Keys
	// cluster is rdb on a Redis Cluster, where notices go sharded; else nil.
	cluster *redis.ClusterClient
}

// New returns a store over rdb with keys under prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	cc, _ := rdb.(*redis.ClusterClient)
	return &Store{rdb: rdb, keys: preview.Keys{Prefix: prefix}, cluster: cc}
}

// Client returns the underlying Redis client (for locks and pub/sub).
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Keys returns the key names in use.
func (s *Store) Keys() preview.Keys { return s.keys }

// storeFrame is the fenced write: (1) the lock must still hold the caller's
// value, (2) the frame must be newer than the stored one, (3) write and
// expire the hash, (4) publish with ARGV[9], PUBLISH or (on a Cluster,
// to the camera's own channel) SPUBLISH. Returns 1 stored, 0 not newer,
// -1 lock lost.
var storeFrame = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local cur = redis.call('HGET', KEYS[2], 'ts')
if cur and cur >= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'jpeg', ARGV[3], 'ts', ARGV[2], 'etag', ARGV[4], 'fetched_ms', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call(ARGV[9], ARGV[7], ARGV[8])
return 1
`)

// SaveFrame stores f if fence is still the value of the camera's lock and f
// is newer than the stored frame; it publishes a FrameEvent when it does.
// It returns preview.ErrLockLost or preview.ErrStale when it does not.
func (s *Store) SaveFrame(ctx context.Context, fence string, f preview.Frame, ttl time.Duration) error {
	msg, err := json.Marshal(preview.FrameEvent{ESN: f.ESN, TS: f.TS, ETag: f.ETag, Size: len(f.JPEG)})
	if err != nil {
		return err
	}
	publish, channel := "PUBLISH", s.keys.FramesChannel()
	if s.cluster != nil {
		publish, channel = "SPUBLISH", s.keys.FrameShardChannel(f.ESN)
	}
	res, err := storeFrame.Run(ctx, s.rdb,
		[]string{s.keys.Lock(f.ESN), s.keys.Frame(f.ESN)},
		fence, string(f.TS), f.JPEG, f.ETag, f.FetchedAt.UnixMilli(), ttl.Milliseconds(),
		channel, msg, publish,
	).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: saving frame of %s: %w", f.ESN, err)
	case res == -1:
		return preview.ErrLockLost
	case res == 0:
		return preview.ErrStale
	}
	return nil
}

// Frame returns the camera's stored frame, or preview.ErrNoFrame.
func (s *Store) Frame(ctx context.Context, esn preview.ESN) (preview.Frame, error) {
	v, err := s.rdb.HMGet(ctx, s.keys.Frame(esn), "ts", "etag", "fetched_ms", "jpeg").Result()
	if err != nil {
		return preview.Frame{}, fmt.Errorf("redisstore: reading frame of %s: %w", esn, err)
	}
	return decodeFrame(esn, v)
}

// FrameMeta is Frame without the image bytes.
func (s *Store) FrameMeta(ctx context.Context, esn preview.ESN) (preview.Frame, error) {
	v, err := s.rdb.HMGet(ctx, s.keys.Frame(esn), "ts", "etag", "fetched_ms").Result()
	if err != nil {
		return preview.Frame{}, fmt.Errorf("redisstore: reading frame of %s: %w", esn, err)
	}
	return decodeFrame(esn, append(v, nil))
}

func decodeFrame(esn preview.ESN, v []any) (preview.Frame, error) {
	tsv, _ := v[0].(string)
	etag, _ := v[1].(string)
	ms, _ := v[2].(string)
	if tsv == "" || etag == "" {
		return preview.Frame{}, preview.ErrNoFrame
	}
	f := preview.Frame{ESN: esn, TS: preview.Timestamp(tsv), ETag: etag}
	if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
		f.FetchedAt = time.UnixMilli(n)
	}
	if b, ok := v[3].(string); ok {
		f.JPEG = []byte(b)
	}
	return f, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

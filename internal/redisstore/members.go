package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
)

// heartbeat records a fetcher as alive and returns every fetcher alive
// within the window, all by Redis' own clock so hosts' clocks may differ.
var heartbeat = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
table.insert(ids, 1, tostring(added))
return ids
`)

// Heartbeat marks fetcher id alive and returns the ids of the fetchers
// that beat within window (id included), dropping older ones. joined is
// true when id was not in the set: its first beat, or Redis lost its data
// (restarted empty, or failed over) or dropped it as dead.
func (s *Store) Heartbeat(ctx context.Context, id string, window time.Duration) (ids []string, joined bool, err error) {
	res, err := heartbeat.Run(ctx, s.rdb, []string{s.keys.Fetchers()}, id, window.Milliseconds()).StringSlice()
	if err != nil || len(res) == 0 {
		return nil, false, fmt.Errorf("redisstore: heartbeat: %w", err)
	}
	return res[1:], res[0] == "1", nil
}

// Leave removes fetcher id from the live set at once (on shutdown), so its
// cameras are reassigned without waiting for its heartbeat to age out.
func (s *Store) Leave(ctx context.Context, id string) error {
	return s.rdb.ZRem(ctx, s.keys.Fetchers(), id).Err()
}

// LockTTL returns how long the camera's lock still has; 0 when nobody
// holds it.
func (s *Store) LockTTL(ctx context.Context, esn preview.ESN) (time.Duration, error) {
	d, err := s.rdb.PTTL(ctx, s.keys.Lock(esn)).Result()
	if err != nil {
		return 0, err
	}
	return max(d, 0), nil // -2: no key; -1 cannot happen for a lock
}

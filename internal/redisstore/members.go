package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
)

// heartbeat records a fetcher as alive and returns every fetcher alive
// within the window, all by Redis' own clock so hosts' clocks may differ.
// The window runs back from the newest beat before this one, not from now:
// while the key was out of reach (its Redis or Cluster shard failing
// over) nobody could beat, and the first beat after must not drop the
// others as dead; a fetcher that stopped beating while others did is.
var heartbeat = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2] -- the highest score; ZRANGE, which the fetchers' ACL allows
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
if newest then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', math.min(now, tonumber(newest)) - tonumber(ARGV[2]))
end
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
table.insert(ids, 1, tostring(added))
return ids
`)

// Heartbeat marks fetcher id alive and returns the ids of the fetchers
// that beat within window of the newest earlier beat (id included),
// dropping older ones. joined is
// true when id was not in the set: its first beat, or Redis lost its data
// (restarted empty, or failed over) or dropped it as dead.
func (s *Store) Heartbeat(ctx context.Context, id string, window time.Duration) (ids []string, joined bool, err error) {
	res, err := heartbeat.Run(ctx, s.rdb, []string{s.keys.Fetchers()}, id, window.Milliseconds()).StringSlice()
	if err != nil || len(res) == 0 {
		return nil, false, fmt.Errorf("redisstore: heartbeat: %w", err)
	}
	return res[1:], res[0] == "1", nil
}

// followLists keeps the hash of each live fetcher's camera list, on one key
// (so one Redis Cluster slot). ARGV: this fetcher's id, its list or "" to
// leave it as stored, the number of live ids, the live ids, then the ids
// whose lists the caller wants. It stores the list, drops the lists of
// fetchers not live, and returns whether this fetcher's list is stored
// ("1"/"0") followed by each wanted list ("" when not stored).
var followLists = redis.NewScript(`
local key, id, list, nlive = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local live = {[id] = true}
for i = 4, 3 + nlive do live[ARGV[i]] = true end
if list ~= '' then redis.call('HSET', key, id, list) end
for _, f in ipairs(redis.call('HKEYS', key)) do
  if not live[f] then redis.call('HDEL', key, f) end
end
local out = {redis.call('HGET', key, id) and '1' or '0'}
for i = 4 + nlive, #ARGV do
  out[#out + 1] = redis.call('HGET', key, ARGV[i]) or ''
end
return out
`)

// FollowLists publishes the cameras fetcher id follows (unless cams is
// nil: already stored), drops the lists of fetchers not in live, and
// returns the lists of the fetchers in want that have published one.
// stored reports whether id's own list is in Redis now; it is not after
// Redis lost its data, or when a peer pruned it in the moment between this
// fetcher's first beat and its list.
func (s *Store) FollowLists(ctx context.Context, id string, cams []preview.ESN, live, want []string) (lists map[string][]preview.ESN, stored bool, err error) {
	args := make([]any, 0, 3+len(live)+len(want))
	args = append(args, id, encodeESNs(cams), len(live))
	for _, l := range live {
		args = append(args, l)
	}
	for _, w := range want {
		args = append(args, w)
	}
	res, err := followLists.Run(ctx, s.rdb, []string{s.keys.FetcherCameras()}, args...).StringSlice()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: camera lists: %w", err)
	}
	if len(res) != 1+len(want) {
		return nil, false, fmt.Errorf("redisstore: camera lists: %d answers for %d lists", len(res), len(want))
	}
	lists = make(map[string][]preview.ESN, len(want))
	for i, w := range want {
		if res[1+i] != "" {
			lists[w] = decodeESNs(res[1+i])
		}
	}
	return lists, res[0] == "1", nil
}

// encodeESNs writes a camera list in its canonical form: sorted, comma-separated.
func encodeESNs(cams []preview.ESN) string {
	s := make([]string, len(cams))
	for i, c := range cams {
		s[i] = string(c)
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// decodeESNs reads a stored camera list, sorted, skipping anything not an
// ESN.
func decodeESNs(list string) []preview.ESN {
	var out []preview.ESN
	for item := range strings.SplitSeq(list, ",") {
		if esn, err := preview.ParseESN(item); err == nil {
			out = append(out, esn)
		}
	}
	slices.Sort(out)
	return out
}

// Leave removes fetcher id and its camera list from the live set at once
// (on shutdown), so its cameras are reassigned without waiting for its
// heartbeat to age out.
func (s *Store) Leave(ctx context.Context, id string) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.keys.Fetchers(), id)
		p.HDel(ctx, s.keys.FetcherCameras(), id)
		return nil
	})
	return err
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

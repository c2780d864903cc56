package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
)

// markWatched sets a camera's watch key for ARGV[1] ms and, when the key
// did not exist, publishes the ESN (ARGV[3]) on the wake channel (ARGV[2])
// with ARGV[4] (PUBLISH, or SPUBLISH on a Cluster) so that its fetcher
// wakes at once. One key, so one Redis Cluster slot.
// Returns 1 when it woke the camera, 0 when it only extended the mark.
var markWatched = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'GET') then return 0 end
redis.call(ARGV[4], ARGV[2], ARGV[3])
return 1
`)

// MarkWatched says that someone watches the camera, for ttl from now. woke
// is true when nobody did a moment ago: the mark then published the
// camera on the wake channel. Web replicas call it at most once every few
// seconds per camera, never per request.
func (s *Store) MarkWatched(ctx context.Context, esn preview.ESN, ttl time.Duration) (woke bool, err error) {
	if ttl < time.Millisecond {
		return false, fmt.Errorf("redisstore: marking %s watched: ttl %s is under 1ms", esn, ttl)
	}
	publish, channel := "PUBLISH", s.keys.WakeChannel()
	if s.cluster != nil {
		publish, channel = "SPUBLISH", s.keys.WakeShardChannel(esn)
	}
	res, err := markWatched.Run(ctx, s.rdb, []string{s.keys.Watch(esn)},
		ttl.Milliseconds(), channel, string(esn), publish).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: marking %s watched: %w", esn, err)
	}
	return res == 1, nil
}

// WatchTTLs returns how long each camera's watch mark still lives, in the
// order given: 0 for a camera nobody watches. One pipelined PTTL each.
func (s *Store) WatchTTLs(ctx context.Context, esns []preview.ESN) ([]time.Duration, error) {
	cmds := make([]*redis.DurationCmd, len(esns))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, esn := range esns {
			cmds[i] = p.PTTL(ctx, s.keys.Watch(esn))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redisstore: reading watch marks: %w", err)
	}
	out := make([]time.Duration, len(esns))
	for i, c := range cmds {
		// -2: no mark. -1 (no expiry) is no web's doing, but it is a mark.
		switch d := c.Val(); {
		case d == -1:
			out[i] = time.Duration(1<<63 - 1)
		case d > 0:
			out[i] = d
		}
	}
	return out, nil
}

// Wakes calls wake with each camera published on the wake channel until
// ctx ends. subscribed is called after each (re)subscription: pub/sub
// drops what is published while disconnected, so the caller re-reads the
// watch marks then. Both run on the reader goroutine and must not block.
// On Redis Cluster it hears every public camera's sharded wake channel.
func (s *Store) Wakes(ctx context.Context, wake func(preview.ESN), subscribed func()) error {
	decode := func(payload string) {
		if esn, err := preview.ParseESN(payload); err == nil {
			wake(esn)
		}
	}
	if s.cluster != nil {
		return s.subscribeSharded(ctx, s.keys.WakeShardChannel, decode, subscribed)
	}
	return s.subscribe(ctx, s.keys.WakeChannel(), 1024, decode, subscribed)
}

package redisstore

import (
	"context"
	"encoding/json"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
)

// Watch delivers every FrameEvent published until ctx ends. subscribed is
// called after each (re)subscription: pub/sub cannot replay what was missed
// while disconnected, so the caller re-reads state then. Both callbacks
// run on the reader goroutine and must not block.
// On Redis Cluster it hears every public camera's sharded channel.
func (s *Store) Watch(ctx context.Context, event func(preview.FrameEvent), subscribed func()) error {
	decode := func(payload string) {
		var ev preview.FrameEvent
		if json.Unmarshal([]byte(payload), &ev) != nil {
			return
		}
		if esn, err := preview.ParseESN(string(ev.ESN)); err == nil && ev.TS != "" {
			ev.ESN = esn
			event(ev)
		}
	}
	if s.cluster != nil {
		return s.subscribeSharded(ctx, s.keys.FrameShardChannel, decode, subscribed)
	}
	return s.subscribe(ctx, s.keys.FramesChannel(), 4096, decode, subscribed)
}

// subscribe calls message with each payload published on channel until
// ctx ends, and subscribed after each (re)subscription. Both run on the
// reader goroutine; size is the buffer between it and go-redis' reader.
func (s *Store) subscribe(ctx context.Context, channel string, size int, message func(string), subscribed func()) error {
	ps := s.rdb.Subscribe(ctx, channel)
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(size))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-ch:
			if !ok {
				return nil
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					subscribed()
				}
			case *redis.Message:
				message(m.Payload)
			}
		}
	}
}

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
func (s *Store) Watch(ctx context.Context, event func(preview.FrameEvent), subscribed func()) error {
	ps := s.rdb.Subscribe(ctx, s.keys.FramesChannel())
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(4096))
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
				var ev preview.FrameEvent
				if json.Unmarshal([]byte(m.Payload), &ev) != nil {
					continue
				}
				if esn, err := preview.ParseESN(string(ev.ESN)); err == nil && ev.TS != "" {
					ev.ESN = esn
					event(ev)
				}
			}
		}
	}
}

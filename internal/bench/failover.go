package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// failoverScenario kills (SIGKILL) the fetcher leading a camera, measures
// the time to that camera's next stored frame (seen on the frames
// channel), starts a replacement fetcher, waits until every camera has
// one leader again, and repeats.
func failoverScenario(ctx context.Context, e *env) ([]Row, error) {
	trials, lockTTL := e.sized(10, 2), e.window(5*time.Second, time.Second)
	s, err := e.startStack(ctx, "failover", 4, 250*time.Millisecond, lockTTL)
	if err != nil {
		return nil, err
	}
	defer s.close()
	w, err := watchFrames(ctx, s.rds)
	if err != nil {
		return nil, err
	}
	defer w.close()
	if err := s.addFetchers(ctx, 2, nil); err != nil {
		return nil, err
	}
	var took []time.Duration
	for i := range trials {
		if err := waitUntil(ctx, 30*time.Second, "every camera led once, shared by two fetchers", func() bool {
			return s.balanced(ctx)
		}); err != nil {
			return nil, err
		}
		esn := s.cams[i%len(s.cams)]
		victim := slices.IndexFunc(s.fetchers, func(p *proc) bool { return status(ctx, p)[esn].Leading })
		if victim < 0 {
			return nil, fmt.Errorf("trial %d: nobody leads %s", i+1, esn)
		}
		s.fetchers[victim].kill()
		killed := time.Now()
		s.fetchers = slices.Delete(s.fetchers, victim, victim+1)
		var at time.Time
		if err := waitUntil(ctx, lockTTL+10*time.Second, "the next frame of "+string(esn), func() bool {
			var ok bool
			at, ok = w.after(esn, killed)
			return ok
		}); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		took = append(took, at.Sub(killed))
		e.log("failover: trial %d: camera %s: next frame %s after kill -9", i+1, esn, ms(at.Sub(killed)))
		if _, err := s.addFetcher(ctx, nil); err != nil {
			return nil, err
		}
	}
	bound := lockTTL + time.Second
	worst := slices.Max(took)
	return []Row{{
		Figure:   fmt.Sprintf("kill -9 of the leader → next stored frame, p50 / max (%d trials, LOCK_TTL %s)", trials, lockTTL),
		Camrelay: ms(percentile(took, 50)) + " / " + ms(worst),
		Target:   fmt.Sprintf("≤ LOCK_TTL + 1 s = %s", bound), Met: met(worst <= bound),
	}}, nil
}

// balanced reports whether every camera has one leader and no fetcher
// leads more than its share, ceil(cameras ÷ fetchers): the assignment has
// settled, no handover is pending.
func (s *stack) balanced(ctx context.Context) bool {
	if !s.settled(ctx) {
		return false
	}
	share := (len(s.cams) + len(s.fetchers) - 1) / len(s.fetchers)
	for _, p := range s.fetchers {
		n := 0
		for _, st := range status(ctx, p) {
			if st.Leading {
				n++
			}
		}
		if n > share {
			return false
		}
	}
	return true
}

// frameWatcher records when each camera's frames were published.
type frameWatcher struct {
	mu     sync.Mutex
	seen   map[preview.ESN][]time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

func watchFrames(ctx context.Context, rds *redisServer) (*frameWatcher, error) {
	ctx, cancel := context.WithCancel(ctx)
	sub := rds.client.Subscribe(ctx, preview.Keys{Prefix: preview.DefaultKeyPrefix}.FramesChannel())
	if _, err := sub.Receive(ctx); err != nil {
		cancel()
		return nil, err
	}
	w := &frameWatcher{seen: make(map[preview.ESN][]time.Time), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer sub.Close()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				now := time.Now()
				var ev preview.FrameEvent
				if json.Unmarshal([]byte(m.Payload), &ev) == nil {
					w.mu.Lock()
					w.seen[ev.ESN] = append(w.seen[ev.ESN], now)
					w.mu.Unlock()
				}
			}
		}
	}()
	return w, nil
}

// after returns when the first frame of esn after t was published.
func (w *frameWatcher) after(esn preview.ESN, t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.seen[esn] {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

func (w *frameWatcher) close() { w.cancel(); <-w.done }

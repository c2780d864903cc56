package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
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
	w, err := testbed.WatchFrames(ctx, s.rds.client, preview.DefaultKeyPrefix)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if _, err := s.AddFetchers(ctx, 2, nil); err != nil {
		return nil, err
	}
	var took []time.Duration
	for i := range trials {
		if err := testbed.Wait(ctx, 30*time.Second, "every camera led once, shared by two fetchers", func() bool {
			return s.balanced(ctx)
		}); err != nil {
			return nil, err
		}
		esn := s.cams[i%len(s.cams)]
		// A fetcher still joining may take the camera over right now: wait
		// for its leader rather than catch it between two.
		victim := -1
		if err := testbed.Wait(ctx, 2*lockTTL, "a leader of "+string(esn), func() bool {
			victim = slices.IndexFunc(s.Fetchers, func(p *proc) bool { return status(ctx, p)[esn].Leading })
			return victim >= 0
		}); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		s.Fetchers[victim].Kill()
		killed := time.Now()
		s.Fetchers = slices.Delete(s.Fetchers, victim, victim+1)
		var at time.Time
		if err := testbed.Wait(ctx, lockTTL+10*time.Second, "the next frame of "+string(esn), func() bool {
			f, ok := w.After(esn, killed)
			at = f.At
			return ok
		}); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		took = append(took, at.Sub(killed))
		e.log("failover: trial %d: camera %s: next frame %s after kill -9", i+1, esn, ms(at.Sub(killed)))
		if _, err := s.AddFetcher(ctx, nil); err != nil {
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
	share := (len(s.cams) + len(s.Fetchers) - 1) / len(s.Fetchers)
	for _, p := range s.Fetchers {
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

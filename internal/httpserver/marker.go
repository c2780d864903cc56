package httpserver

import (
	"context"
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
)

// markTimeout bounds one MarkWatched call.
const markTimeout = 2 * time.Second

// run marks the watched cameras until ctx ends: each camera's first
// viewer at once (requests wake it), then again every interval while it
// stays watched, and once after its last viewer, so that the key ends
// WatchTTL after that viewer. A failed mark is retried with backoff; the
// outage is logged when it begins and when it ends.
func (in *interest) run(ctx context.Context) {
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	t := time.NewTimer(in.every)
	defer t.Stop()
	failing := false
	for ctx.Err() == nil {
		next, err := in.pass(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				in.log.Warn("web: marking watched cameras failed; retrying", "err", err)
			}
			failing = true
			backoff.Sleep(ctx, bo.Next()) // requests' wake-ups wait too: Redis is failing
			continue
		case failing:
			in.log.Info("web: marking watched cameras works again")
			failing = false
			bo.Reset()
		}
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
		case <-in.kick:
		case <-t.C:
		}
	}
}

// pass marks each camera whose mark is due, in turn, and says when to
// look again. Marks due within a slack (an eighth of the interval) are
// made now, so that cameras due about together share a pass. It stops at
// the first error.
func (in *interest) pass(ctx context.Context, now time.Time) (next time.Time, err error) {
	n := now.UnixNano()
	next = now.Add(in.every) // look again at least this often
	slack := int64(in.every / 8)
	forget := in.forget.Swap(false)
	in.cams.Range(func(_, v any) bool {
		ci := v.(*camInterest)
		if forget {
			ci.covered, ci.markedAt = 0, 0
		}
		// Cleared before the state is read: a request that finds it clear
		// after writing its use wakes the marker, one that finds it set
		// wrote before this reads.
		ci.queued.Store(false)
		u, ok := ci.pending(n, in.ttl)
		if !ok || !in.public(ci.esn) {
			return true
		}
		ci.queued.Store(true)
		if ci.markedAt+int64(in.every) <= n+slack {
			if err = in.mark(ctx, ci, u, n); err != nil {
				return false
			}
		}
		next = time.Unix(0, min(next.UnixNano(), ci.markedAt+int64(in.every)))
		return true
	})
	if err != nil && forget {
		in.forget.Store(true) // those not reached yet still need it
	}
	return next, err
}

// pending returns the time of the interest a mark would cover now, and
// whether one is needed: now while streams are open, else the latest use
// that no mark covers yet and that is not over.
func (ci *camInterest) pending(now int64, ttl time.Duration) (int64, bool) {
	if ci.streams.Load() > 0 {
		return now, true
	}
	u := ci.used.Load()
	return u, u > ci.covered && u+int64(ttl) > now
}

// mark sets the camera's watch key to last until u+WatchTTL. Never less
// than two intervals: after an outage delayed this mark, it must not cut
// short a key another replica's viewers keep (they mark again within one).
func (in *interest) mark(ctx context.Context, ci *camInterest, u, now int64) error {
	ttl := min(max(time.Duration(u+int64(in.ttl)-now), 2*in.every), in.ttl).Round(time.Millisecond)
	mctx, cancel := context.WithTimeout(ctx, markTimeout)
	woke, err := in.marker.MarkWatched(mctx, ci.esn, ttl)
	cancel()
	if err != nil {
		in.marks.WithLabelValues("error").Inc()
		return fmt.Errorf("camera %s: %w", ci.esn, err)
	}
	in.marks.WithLabelValues("ok").Inc()
	if woke {
		in.wakes.Inc()
	}
	ci.covered, ci.markedAt = u, now
	return nil
}

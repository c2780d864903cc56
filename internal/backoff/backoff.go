// Package backoff spaces out retries: exponential growth with jitter, so
// many callers that failed together do not retry together.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields growing waits between Min and Max. The zero value is not
// useful; set Min and Max. Not safe for concurrent use: one per loop.
type Backoff struct {
	Min, Max time.Duration
	n        int
}

// Next returns the next wait: Min×2^n capped at Max, then "equal jitter"
// (half fixed, half random) so the wait never collapses to zero.
func (b *Backoff) Next() time.Duration {
	d := b.Min << min(b.n, 30)
	if d > b.Max || d <= 0 {
		d = b.Max
	} else {
		b.n++
	}
	half := d / 2
	return half + rand.N(half+1)
}

// Reset starts again from Min, after a success.
func (b *Backoff) Reset() { b.n = 0 }

// Sleep waits d or until ctx ends, whichever is first; it returns ctx's
// error if ctx ended.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Jitter returns d ± up to a fifth, to spread periodic work.
func Jitter(d time.Duration) time.Duration {
	f := d / 5
	return d - f + rand.N(2*f+1)
}

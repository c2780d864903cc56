package grant

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
)

// Run keeps the set current until ctx ends: it reads Redis every
// PollEvery (jittered), and refreshes when the set's turn comes. On
// return no refresh of this Manager is in progress.
func (m *Manager) Run(ctx context.Context) error {
	defer m.waitFlight()
	for {
		if err := m.sync(ctx); err != nil {
			return nil
		}
		if backoff.Sleep(ctx, m.nextLook(time.Now())) != nil {
			return nil
		}
	}
}

// nextLook is how long to wait before the next look: the poll interval,
// or less when the set falls due sooner (plus a random part of a quarter
// of the margin, so that one fetcher is first) or a retry was asked for.
func (m *Manager) nextLook(now time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	wake := now.Add(backoff.Jitter(m.cfg.PollEvery))
	r := m.mem.rec
	if due := m.dueAt(r); due.After(now) && r.Lost == "" {
		spread := m.cfg.ahead(r.Set.Expiry.Sub(r.Issued)) / 4
		if due = due.Add(rand.N(spread + 1)); due.Before(wake) {
			wake = due
		}
	}
	if !m.retryAt.IsZero() && m.retryAt.Before(wake) {
		wake = m.retryAt // "at once" too: Redis changed under a claim
	}
	return max(wake.Sub(now), 5*time.Millisecond)
}

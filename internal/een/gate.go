package een

import (
	"errors"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
)

// maxLoginRetry is the longest wait between logins EEN keeps refusing.
const maxLoginRetry = 5 * time.Minute

// loginGate holds logins back after EEN refused one. Until the wait is
// over every caller gets the refusal at once instead of asking again, and
// the wait doubles (with jitter) at each refusal: a wrong password costs
// EEN a few logins an hour, not one per camera per retry, and does not
// run into EEN's lockout of a user after many failed logins.
type loginGate struct {
	mu      sync.Mutex
	refused error // the last refusal; nil once a login succeeds
	retryAt time.Time
	bo      backoff.Backoff
}

func newLoginGate(first time.Duration) *loginGate {
	return &loginGate{bo: backoff.Backoff{Min: first, Max: max(first, maxLoginRetry)}}
}

// check returns the refusal, saying how long to wait, while logins are
// held back.
func (g *loginGate) check(now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refused == nil || !now.Before(g.retryAt) {
		return nil
	}
	return withRetryAfter(g.refused, g.retryAt.Sub(now))
}

// record notes a login's outcome and returns err, carrying the wait after
// a refusal. Other failures (network, 5xx, rate limits) change nothing:
// they say nothing about the credentials.
func (g *loginGate) record(err error, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case err == nil:
		g.refused = nil
		g.bo.Reset()
	case errors.Is(err, ErrLoginRefused):
		wait := g.bo.Next()
		g.refused, g.retryAt = err, now.Add(wait)
		return withRetryAfter(err, wait)
	}
	return err
}

// last returns the refusal of the last login, or nil.
func (g *loginGate) last() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}

// withRetryAfter returns a copy of a StatusError asking to wait at least
// d (rounded up to a millisecond, so waiting that long is enough), so
// callers' backoff honours the gate; other errors as they are.
func withRetryAfter(err error, d time.Duration) error {
	var se *StatusError
	if !errors.As(err, &se) {
		return err
	}
	cp := *se
	cp.Wait = max(cp.Wait, (d + time.Millisecond - 1).Truncate(time.Millisecond))
	return &cp
}

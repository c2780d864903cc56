package grant

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// Reasons a grant is lost, as Redis keeps them and logs show them: plain
// words, never an error's text (which might quote an answer).
const (
	reasonNoSet      = "Redis holds no EEN v3 token set"
	reasonSignIn     = "EEN refused the refresh token (grant revoked or expired)"
	reasonUnanswered = "a refresh went unanswered: its refresh token may be spent"
	reasonNoRotation = "EEN answered a refresh without a new refresh token"
	reasonStaleClaim = "a fetcher claimed a refresh and never stored its answer (killed or hung)"
)

// refresh takes the lock, reads again, and refreshes if it is still due.
// It returns when to look again at the earliest (zero: the usual time).
func (m *Manager) refresh(ctx context.Context) time.Time {
	lease, err := m.store.ObtainTokenLock(ctx, m.cfg.LockTTL, m.cfg.LockTTL)
	if err != nil {
		// Another fetcher has held it all along: its answer will be in Redis.
		return time.Now().Add(m.cfg.PollEvery / 4)
	}
	defer lease.Release(context.WithoutCancel(ctx))
	r, err := m.store.ReadToken(ctx)
	if err != nil {
		return time.Now().Add(m.cfg.PollEvery / 4)
	}
	m.absorb(ctx, r)
	if !m.due(time.Now()) {
		return time.Time{}
	}
	return m.claimAndPresent(ctx)
}

// claimAndPresent claims the current gen, then presents its refresh token
// once. The claim is the fence: past it, the token counts as spent.
func (m *Manager) claimAndPresent(ctx context.Context) time.Time {
	rec := m.mem.rec
	call(ctx, m.cfg.Hooks.BeforeClaim)
	if next, ok := m.claim(ctx, rec.Gen, m.settle(rec)); !ok {
		return next
	}
	m.TestSignals.Claimed.Signal(rec.Gen)
	call(ctx, m.cfg.Hooks.BeforeRefresh)
	m.mu.Lock()
	m.mem.sent = true
	m.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, m.cfg.RefreshTimeout)
	set, err := m.cfg.Refresh(rctx, rec.Set.RefreshToken)
	cutOff := rctx.Err() != nil // whatever the error says, it may have been sent
	cancel()
	return m.outcome(ctx, rec, set, err, cutOff)
}

// claim claims gen and waits settle for the claim to reach the
// append-only file and replicas; then it checks the claim is still there,
// since one lost in a Redis crash meanwhile fences nothing. It reports
// whether the token may be presented, or else when to look again.
func (m *Manager) claim(ctx context.Context, gen int64, settle time.Duration) (time.Time, bool) {
	for range 3 {
		res, wait, err := m.store.ClaimToken(ctx, gen, m.owner)
		switch {
		case err != nil:
			return time.Now().Add(m.cfg.PollEvery / 4), false
		case res == redisstore.ClaimKept || res == redisstore.Claimed && settle == 0:
			return time.Time{}, true
		case res == redisstore.ClaimHeld:
			return m.holdOff(wait), false
		case res != redisstore.Claimed:
			return time.Now(), false // changed, claimed by another or lost: read again
		}
		m.mu.Lock()
		m.mem.claim = m.owner
		m.mu.Unlock()
		if backoff.Sleep(ctx, settle) != nil {
			return m.release(ctx, gen, 0), false
		}
	}
	return m.release(ctx, gen, m.cfg.RetryMin), false
}

// settle is ClaimSettle, but at most a quarter of the margin ahead of
// expiry, so that sets living seconds (tests, the simulator) are still
// refreshed before they expire; EEN's, living hours, get it whole, and so
// does a seed.
func (m *Manager) settle(r redisstore.TokenRecord) time.Duration {
	if life := r.Set.Expiry.Sub(r.Issued); r.Set.AccessToken != "" && life > 0 {
		return min(m.cfg.ClaimSettle, m.cfg.ahead(life)/4)
	}
	return m.cfg.ClaimSettle
}

// outcome acts on the token endpoint's answer to rec's refresh token.
func (m *Manager) outcome(ctx context.Context, rec redisstore.TokenRecord, set eenv3.TokenSet, err error, cutOff bool) time.Time {
	switch {
	case err == nil && set.AccessToken != "" && set.RefreshToken != "":
		m.m.refreshes.Inc()
		m.clientOK()
		next := redisstore.TokenRecord{Set: set, Issued: time.Now(), Gen: rec.Gen + 1}
		m.mu.Lock()
		m.mem.pending = &next
		m.mu.Unlock()
		m.storeWithRetry(ctx)
		return time.Time{}
	case err == nil:
		return m.lose(ctx, rec.Gen, reasonNoRotation, "no_rotation")
	case errors.Is(err, eenv3.ErrSignInNeeded):
		return m.lose(ctx, rec.Gen, reasonSignIn, "sign_in_needed")
	case cutOff || errors.Is(err, eenv3.ErrUnanswered):
		return m.lose(ctx, rec.Gen, reasonUnanswered, "unanswered")
	case errors.Is(err, eenv3.ErrClientRejected):
		m.m.failures.WithLabelValues("client_rejected").Inc()
		m.clientRejected()
		return m.release(ctx, rec.Gen, m.cfg.RetryMin)
	}
	m.m.failures.WithLabelValues("retryable").Inc()
	m.cfg.Log.Warn("grant: EEN v3 token refresh failed; the cluster waits before the next",
		"err", redact(err, rec.Set.RefreshToken, rec.Set.AccessToken))
	return m.release(ctx, rec.Gen, max(m.retryWait(rec.Failures), retryAfter(err)))
}

// release gives back a claim whose refresh token was not spent, holding
// the cluster's claims off for wait.
func (m *Manager) release(ctx context.Context, gen int64, wait time.Duration) time.Time {
	_, err := m.store.ReleaseToken(ctx, gen, m.owner, wait)
	m.mu.Lock()
	m.mem.sent = false
	if err == nil {
		m.mem.claim = ""
	} // else the claim stays ours and unsent: this Manager may take it again
	m.mu.Unlock()
	if err != nil {
		m.cfg.Log.Warn("grant: giving back a claim on the EEN refresh token", "err", err)
	}
	return m.holdOff(wait)
}

// holdOff notes that no claim can succeed for wait, so that this Manager
// does not take the lock for nothing meanwhile.
func (m *Manager) holdOff(wait time.Duration) time.Time {
	until := time.Now().Add(wait)
	m.mu.Lock()
	m.heldUntil = until
	m.mu.Unlock()
	return until
}

// lose marks the grant lost: rec's refresh token is spent or refused, and
// no refresh can follow until someone signs in again.
func (m *Manager) lose(ctx context.Context, gen int64, reason, kind string) time.Time {
	m.m.failures.WithLabelValues(kind).Inc()
	m.mu.Lock()
	m.mem.rec.Lost = reason
	m.mu.Unlock()
	if _, err := m.store.LoseToken(ctx, gen, reason, 0); err != nil {
		m.cfg.Log.Warn("grant: marking the EEN grant lost in Redis", "err", err)
	}
	return time.Time{}
}

// storeWithRetry stores the refreshed set, trying a few times: until it is
// stored only this process holds its refresh token.
func (m *Manager) storeWithRetry(ctx context.Context) {
	bo := backoff.Backoff{Min: 50 * time.Millisecond, Max: time.Second}
	for range 8 {
		if m.storePending(ctx) || backoff.Sleep(ctx, bo.Next()) != nil {
			return
		}
	}
}

// retryWait is the cluster's wait after failures refreshes failed in a
// row and one more: RetryMin doubling to RetryMax, half of it random.
func (m *Manager) retryWait(failures int) time.Duration {
	d := m.cfg.RetryMin << min(failures, 30)
	if d > m.cfg.RetryMax || d <= 0 {
		d = m.cfg.RetryMax
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter is the wait an error asks for (Retry-After), or 0.
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}

// redact is err's text without the tokens, should an error quote them.
func redact(err error, secrets ...string) string {
	s := err.Error()
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

func call(ctx context.Context, hook func(context.Context)) {
	if hook != nil {
		hook(ctx)
	}
}

package grant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// Manager hands out the cluster's shared token set and refreshes it when
// its turn comes. It is safe for concurrent use. Run keeps it current;
// Token and Rejected work without Run but then refresh only on demand.
type Manager struct {
	cfg   Config
	store *redisstore.Store
	owner string
	m     *metrics

	mu        sync.Mutex
	mem       memory    // written only inside a flight, under mu
	flight    *flight   // the read-and-maybe-refresh in progress, if any
	rejected  string    // the access token a caller saw refused (401), to refresh
	retryAt   time.Time // when the last flight asked to look again
	heldUntil time.Time // no claim can succeed before then (back-off, hold)
	state     state

	// TestSignals are for tests only (Init before Run).
	TestSignals TestSignals
}

// memory is what this Manager knows of the shared set.
type memory struct {
	read    bool                    // Redis has been read once
	rec     redisstore.TokenRecord  // the newest set known stored (rec.Lost: known lost)
	pending *redisstore.TokenRecord // a refreshed set not yet stored: nobody uses it until it is
	claim   string                  // owner of a claim on rec.Gen seen or made; "" none known
	sent    bool                    // this Manager presented rec's refresh token
}

// spent reports whether rec's refresh token may have been presented: it is
// claimed, unless by this Manager that never sent it.
func (m *Manager) spent() bool {
	return m.mem.claim != "" && (m.mem.claim != m.owner || m.mem.sent)
}

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, store: cfg.Store, owner: uniqueOwner(cfg.Owner), m: newMetrics(cfg.Registerer)}, nil
}

// Token returns a set whose access token has not expired. When the one it
// holds has, it reads Redis and refreshes (once in the cluster) if its
// turn has come, waiting up to LockTTL for a refresh in progress. Its
// error matches eenv3.ErrSignInNeeded when the grant is gone; otherwise it
// has a RetryAfter() time.Duration method.
func (m *Manager) Token(ctx context.Context) (eenv3.TokenSet, error) {
	giveUp := time.Now().Add(m.cfg.LockTTL)
	for {
		if set, ok := m.current(time.Now()); ok {
			return set, nil
		}
		if err := m.sync(ctx); err != nil {
			return eenv3.TokenSet{}, err
		}
		if set, ok := m.current(time.Now()); ok {
			return set, nil
		}
		err := m.unavailable()
		if errors.Is(err, eenv3.ErrSignInNeeded) || time.Now().After(giveUp) {
			return eenv3.TokenSet{}, err
		}
		// Another fetcher's refresh is in progress, or the cluster backs off.
		if err := backoff.Sleep(ctx, min(max(retryAfter(err), 20*time.Millisecond), 250*time.Millisecond)); err != nil {
			return eenv3.TokenSet{}, err
		}
	}
}

// Rejected is called when EEN answered 401 to stale.AccessToken: it
// returns a newer set, refreshing once in the cluster if no fetcher has
// yet, or an error as Token's. A set younger than RejectedMinAge is not
// refreshed again: the error then says when to try.
func (m *Manager) Rejected(ctx context.Context, stale eenv3.TokenSet) (eenv3.TokenSet, error) {
	for range 3 {
		m.mu.Lock()
		rec := m.mem.rec
		if rec.Set.AccessToken == stale.AccessToken {
			m.rejected = stale.AccessToken
		}
		m.mu.Unlock()
		if rec.Set.AccessToken != stale.AccessToken && valid(rec, time.Now()) {
			return rec.Set, nil
		}
		if err := m.sync(ctx); err != nil {
			return eenv3.TokenSet{}, err
		}
	}
	m.mu.Lock()
	rec := m.mem.rec
	m.mu.Unlock()
	if rec.Set.AccessToken != stale.AccessToken && valid(rec, time.Now()) {
		return rec.Set, nil
	}
	if young := m.cfg.RejectedMinAge - time.Since(rec.Issued); young > 0 && m.Lost() == nil {
		return eenv3.TokenSet{}, &RetryError{Wait: young, Err: errors.New("grant: EEN refused an access token refreshed moments ago")}
	}
	return eenv3.TokenSet{}, m.unavailable()
}

// Lost is nil while this fetcher can use and refresh the shared set. Else
// it matches eenv3.ErrSignInNeeded (the grant is gone: run fetcher
// connect) or eenv3.ErrClientRejected (EEN refuses this fetcher's client
// id or secret). For readiness.
func (m *Manager) Lost() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.err()
}

// Seed stores refreshToken (EEN_REFRESH_TOKEN) as the grant when Redis
// holds no usable set and this token was never seeded before; the first
// refresh presents it. It says what it did.
func (m *Manager) Seed(ctx context.Context, refreshToken string) (redisstore.SeedResult, error) {
	res, err := m.store.SeedToken(ctx, refreshToken, 2*m.cfg.PollEvery)
	if err != nil {
		return 0, err
	}
	if res == redisstore.Seeded {
		m.cfg.Log.Info("grant: EEN v3 token set seeded from EEN_REFRESH_TOKEN")
	}
	return res, m.sync(ctx)
}

// current returns the set in use when its access token is still valid.
func (m *Manager) current(now time.Time) (eenv3.TokenSet, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mem.rec.Set, valid(m.mem.rec, now)
}

func valid(r redisstore.TokenRecord, now time.Time) bool {
	return r.Gen != 0 && r.Set.AccessToken != "" && now.Before(r.Set.Expiry)
}

// unavailable is the error of a caller that found no valid access token.
func (m *Manager) unavailable() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.state.err(); err != nil && !errors.Is(err, eenv3.ErrClientRejected) {
		return err
	}
	// Until the next look, the end of the cluster's back-off, or this
	// fetcher's own (its client refused): whichever is latest.
	wait := max(time.Until(m.retryAt), time.Until(m.heldUntil), time.Until(m.state.clientHold), 50*time.Millisecond)
	return &RetryError{Wait: wait, Err: errors.New("grant: no valid EEN access token yet")}
}

// RetryError is a temporary failure to get a token: try again after Wait.
type RetryError struct {
	Wait time.Duration
	Err  error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("%v (retry in %s)", e.Err, e.Wait.Round(time.Millisecond))
}
func (e *RetryError) Unwrap() error             { return e.Err }
func (e *RetryError) RetryAfter() time.Duration { return e.Wait }

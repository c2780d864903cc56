package grant_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// fakeEEN is a token endpoint that rotates refresh tokens as EEN does: a
// spent one presented again is counted and revokes the grant, so every
// later refresh answers ErrSignInNeeded. Every token it makes starts with
// SECRET, so tests can look for leaks.
type fakeEEN struct {
	mu        sync.Mutex
	life      time.Duration
	n         int
	current   string               // the one refresh token that works
	spent     map[string]bool      // refresh tokens presented once
	access    map[string]time.Time // access tokens issued → expiry
	revoked   bool
	calls     int // refresh calls, whatever their answer
	refreshes int // refreshes answered with a new set
	reuses    int // spent refresh tokens presented again
	// before, if set, may fail call n before rotating (EEN did not rotate);
	// after may fail it after rotating (the answer was lost).
	before, after func(n int) error
	delay         time.Duration // each call takes this long
}

func newFakeEEN(life time.Duration) *fakeEEN {
	return &fakeEEN{life: life, spent: map[string]bool{}, access: map[string]time.Time{}}
}

// issue makes a new set; the caller holds mu.
func (f *fakeEEN) issue() eenv3.TokenSet {
	f.n++
	set := eenv3.TokenSet{AccessToken: fmt.Sprintf("SECRET-at-%d", f.n), RefreshToken: fmt.Sprintf("SECRET-rt-%d", f.n),
		Expiry: time.Now().Add(f.life), BaseURL: "https://api.c001.example.com"}
	f.current = set.RefreshToken
	f.access[set.AccessToken] = set.Expiry
	return set
}

// connect is a new grant: "fetcher connect" did the authorization.
func (f *fakeEEN) connect() eenv3.TokenSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = false
	return f.issue()
}

func (f *fakeEEN) refresh(ctx context.Context, rt string) (eenv3.TokenSet, error) {
	f.mu.Lock()
	f.calls++
	n, delay := f.calls, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return eenv3.TokenSet{}, ctx.Err() // not sent, as far as the caller can tell
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.before != nil {
		if err := f.before(n); err != nil {
			return eenv3.TokenSet{}, err
		}
	}
	if f.spent[rt] {
		f.reuses++
		f.revoked = true
	}
	if f.revoked || rt != f.current {
		return eenv3.TokenSet{}, fmt.Errorf("fake: invalid_grant: %w", eenv3.ErrSignInNeeded)
	}
	f.spent[rt] = true
	f.refreshes++
	set := f.issue()
	if f.after != nil {
		if err := f.after(n); err != nil {
			return eenv3.TokenSet{}, err
		}
	}
	return set, nil
}

// validAt reports whether at is an access token this endpoint issued that
// has not expired at now and whose grant is not revoked.
func (f *fakeEEN) validAt(at string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.access[at]
	return ok && !f.revoked && now.Before(exp)
}

func (f *fakeEEN) counts() (calls, refreshes, reuses int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.refreshes, f.reuses
}

func (f *fakeEEN) set(fn func(f *fakeEEN)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

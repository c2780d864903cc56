package fetcher

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testsignal"
)

// fakeCredentials refuses every login while refuse is set, asking the
// caller to wait window before the next, like the client's login gate.
type fakeCredentials struct {
	refuse  atomic.Bool
	refused atomic.Bool // the last login was refused
	logins  atomic.Int64
	window  time.Duration
	tried   testsignal.TestSignal[struct{}] // tells of each login, once counted
}

func (c *fakeCredentials) Login(context.Context) error {
	c.logins.Add(1)
	c.tried.Signal(struct{}{})
	c.refused.Store(c.refuse.Load())
	if c.refuse.Load() {
		return &upstreamError{code: 401, wait: c.window, refused: true}
	}
	return nil
}

func (c *fakeCredentials) LoginRefused() error {
	if c.refused.Load() {
		return &upstreamError{code: 401, refused: true}
	}
	return nil
}

// beatCounter counts heartbeats and leaves.
type beatCounter struct {
	fakeSink
	beats, leaves atomic.Int64
}

func (s *beatCounter) Heartbeat(ctx context.Context, id string, window time.Duration) ([]string, bool, error) {
	s.beats.Add(1)
	return s.fakeSink.Heartbeat(ctx, id, window)
}

func (s *beatCounter) Leave(context.Context, string) error { s.leaves.Add(1); return nil }

// Issue 12: a fetcher whose login is refused checks it before joining,
// stays out of the live set and takes no lock, logging in again only once
// per gate window; accepted, it joins and leads; refused while leading, it
// leaves the live set and gives its locks back.
func TestRefusedLoginStandsAside(t *testing.T) {
	creds := &fakeCredentials{window: 100 * time.Millisecond}
	creds.refuse.Store(true)
	creds.tried.Init()
	store, locks := &beatCounter{}, &fakeLocker{}
	store.beaten.Init()
	f := New(Config{ID: "t", Cameras: []preview.Camera{{ESN: camA}}, LockTTL: 500 * time.Millisecond,
		Credentials: creds, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, &fakeSource{}, store, locks)
	f.TestSignals.Init()
	start := time.Now()
	stop := run(t, f)
	defer stop()
	creds.tried.WaitUntil(t, "three refused logins", func() bool { return creds.logins.Load() >= 3 })
	elapsed := time.Since(start)
	if n := store.beats.Load(); n != 0 {
		t.Errorf("%d heartbeats while the login is refused, want none", n)
	}
	if n := locks.obtained.Load(); n != 0 {
		t.Errorf("%d locks taken while the login is refused, want none", n)
	}
	// One login at start, then one per window at most.
	if n, most := creds.logins.Load(), 1+int64(elapsed/creds.window); n > most {
		t.Errorf("%d logins in %s, want at most %d (one per %s window)", n, elapsed.Round(time.Millisecond), most, creds.window)
	}

	creds.refuse.Store(false)
	// Leading needs an assignment, which needs a beat: joined.
	f.TestSignals.LeadGained.WaitOrTimeout(t)
	if store.beats.Load() == 0 || !f.State()[camA].Leading {
		t.Fatalf("leading with %d heartbeats; state %+v", store.beats.Load(), f.State()[camA])
	}
	logins := creds.logins.Load()
	store.beaten.WaitUntil(t, "ten more beats", func() bool { return store.beats.Load() > 10 })
	if n := creds.logins.Load(); n != logins {
		t.Errorf("%d logins while the login is accepted, want none", n-logins)
	}

	// A lead's call found the login refused.
	leaves := store.leaves.Load()
	creds.refuse.Store(true)
	creds.refused.Store(true)
	f.TestSignals.SteppedAside.WaitOrTimeout(t) // the live set left
	f.TestSignals.LeadLost.WaitFor(t, "the lead given up as the fetcher steps aside", func(l LeadLost) bool {
		return errors.Is(l.Cause, errAside)
	})
	if f.State()[camA].Leading || store.leaves.Load() <= leaves || locks.released.Load() != locks.obtained.Load() {
		t.Errorf("after stepping aside: leading %v, %d more leaves, %d locks obtained and %d released",
			f.State()[camA].Leading, store.leaves.Load()-leaves, locks.obtained.Load(), locks.released.Load())
	}
	beats := store.beats.Load()
	creds.tried.WaitUntil(t, "another refused login", func() bool { return creds.logins.Load() > logins+1 })
	if n := store.beats.Load(); n != beats {
		t.Errorf("%d heartbeats after stepping aside, want none", n-beats)
	}
}

package httpserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// downStore is a fakeStore whose Redis can be taken away: while down, the
// allow-list read (the replica's Redis check) fails.
type downStore struct {
	*fakeStore
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (s *downStore) Cameras(ctx context.Context, maxAge time.Duration, now time.Time) ([]preview.Camera, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.fakeStore.Cameras(ctx, maxAge, now)
}

// The replica says when it is ready, when it re-subscribed, and when
// Redis is lost and back, each as it happens; /readyz agrees with it.
func TestSignalsTellReadinessAndOutages(t *testing.T) {
	store := &downStore{fakeStore: newFakeStore(preview.Camera{ESN: camA})}
	srv := New(Config{RefreshInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}, store)
	srv.TestSignals.Init()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close(); cancel(); <-done })
	sig := &srv.TestSignals
	readyz := ts.URL + "/readyz"

	sig.Subscribed.WaitOrTimeout(t)
	sig.ReadyChanged.WaitFor(t, "ready", func(r Readiness) bool { return r.Ready })
	if r, _ := get(t, readyz); r.StatusCode != 200 {
		t.Errorf("/readyz %d once ready was signalled", r.StatusCode)
	}

	// The start may re-read twice (first check, first subscription): a
	// Subscribed counts once it has read what it was sent for.
	reread := func(f preview.Frame) func(struct{}) bool {
		return func(struct{}) bool { m, _ := srv.hub.Current(camA, time.Now()); return m.TS == f.TS }
	}
	missed := store.putQuiet(camA, "20261124040506.250", "missed")
	store.resub <- struct{}{}
	sig.Subscribed.WaitFor(t, "the missed frame re-read", reread(missed))

	lost := time.Now()
	store.down.Store(true)
	if err := sig.RedisLost.WaitOrTimeout(t); !errors.Is(err, errDown) {
		t.Errorf("Redis lost with %v, want the check's error", err)
	}
	notReady := sig.ReadyChanged.WaitFor(t, "not ready, Redis unreachable", func(r Readiness) bool {
		return !r.Ready && r.Why != "subscribing to frame notices" // a start-up re-read may still be in the buffer
	})
	if notReady.Why != "Redis unreachable" {
		t.Errorf("not ready because %q, want Redis unreachable", notReady.Why)
	}
	wantNotReady(t, readyz, "Redis unreachable")

	during := store.putQuiet(camA, "20261124040507.250", "during")
	store.down.Store(false)
	if d := sig.RedisBack.WaitOrTimeout(t); d <= 0 || d > time.Since(lost) {
		t.Errorf("Redis back after %v, want the outage's length", d)
	}
	sig.Subscribed.WaitFor(t, "the frame stored during the outage re-read", reread(during))
	sig.ReadyChanged.WaitFor(t, "ready again", func(r Readiness) bool { return r.Ready })
	if r, _ := get(t, readyz); r.StatusCode != 200 {
		t.Errorf("/readyz %d once ready again was signalled", r.StatusCode)
	}
	for name, n := range map[string]int64{"ready": sig.ReadyChanged.Dropped(), "subscribed": sig.Subscribed.Dropped()} {
		if n != 0 {
			t.Errorf("%d %s signals dropped", n, name)
		}
	}
}

// Signals a test does not initialise cost nothing and never block: a
// replica that nobody listens to runs as in production.
func TestSignalsOffByDefault(t *testing.T) {
	srv := New(Config{}, newFakeStore(preview.Camera{ESN: camA}))
	runServer(t, srv)
	// Nothing signals this replica: its readiness is polled.
	testbed.WaitFor(t, 5*time.Second, "replica ready", func() bool { return srv.ready(time.Now()) })
	if srv.TestSignals.ReadyChanged.Enabled() || srv.TestSignals.Subscribed.Enabled() {
		t.Error("a replica's test signals are on without Init")
	}
	if n := testing.AllocsPerRun(100, srv.readyChanged); n != 0 {
		t.Errorf("readyChanged allocates %v times with no test listening", n)
	}
}

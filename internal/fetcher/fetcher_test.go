package fetcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testsignal"
)

const camA = preview.ESN("1006073b")

// fakeSource answers prev with the current second's frame and next with
// the frame one second after the asked time, at once.
type fakeSource struct {
	mu    sync.Mutex
	asked []string // "prev now", "next <ts>"
	fail  error    // when set, every call fails with it
	calls atomic.Int64
	block chan struct{} // when set, next blocks until ctx ends
	// called tells of each call, once counted ("prev" or "next").
	called testsignal.TestSignal[string]
}

func (s *fakeSource) Prev(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	return s.answer(ctx, "prev", ts, time.Now().Truncate(time.Second))
}

func (s *fakeSource) Next(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	at := time.Now().Truncate(time.Second).Add(time.Second)
	if ts != "now" {
		at = preview.Timestamp(ts).Time().Add(time.Second)
	}
	return s.answer(ctx, "next", ts, at)
}

func (s *fakeSource) answer(ctx context.Context, op, ts string, at time.Time) (preview.Image, error) {
	s.calls.Add(1)
	s.called.Signal(op)
	s.mu.Lock()
	s.asked = append(s.asked, op+" "+ts)
	fail, block := s.fail, s.block
	s.mu.Unlock()
	if block != nil && op == "next" {
		<-ctx.Done()
		return preview.Image{}, ctx.Err()
	}
	if fail != nil {
		return preview.Image{}, fail
	}
	return preview.Image{TS: preview.FormatTimestamp(at), JPEG: []byte("\xff\xd8\xffimg")}, nil
}

// upstreamError is an upstream answer other than success, as een.StatusError
// gives one: 429 and 5xx are retryable; refused matches
// preview.ErrLoginRefused.
type upstreamError struct {
	code    int
	wait    time.Duration
	refused bool
}

func (e *upstreamError) Error() string             { return fmt.Sprintf("upstream: %d", e.code) }
func (e *upstreamError) StatusCode() int           { return e.code }
func (e *upstreamError) Retryable() bool           { return e.code == 429 || e.code >= 500 }
func (e *upstreamError) RetryAfter() time.Duration { return e.wait }

func (e *upstreamError) Unwrap() error {
	if e.refused {
		return preview.ErrLoginRefused
	}
	return nil
}

// fakeSink records frames; it refuses them once lost is set.
type fakeSink struct {
	mu     sync.Mutex
	frames []preview.Frame
	lost   atomic.Bool
	beaten testsignal.TestSignal[string] // tells of each heartbeat, by fetcher id
}

func (s *fakeSink) SaveFrame(ctx context.Context, fence string, f preview.Frame, ttl time.Duration) error {
	if s.lost.Load() {
		return preview.ErrLockLost
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, f)
	return nil
}

func (s *fakeSink) PublishCameras(context.Context, []preview.Camera, time.Time) error { return nil }

// Heartbeat answers that this fetcher is the only one alive.
func (s *fakeSink) Heartbeat(ctx context.Context, id string, window time.Duration) ([]string, bool, error) {
	s.beaten.Signal(id)
	return []string{id}, false, nil
}

// FollowLists answers that this fetcher's list is stored and that no
// other fetcher has one.
func (s *fakeSink) FollowLists(context.Context, string, []preview.ESN, []string, []string) (map[string][]preview.ESN, bool, error) {
	return nil, true, nil
}

func (s *fakeSink) Leave(context.Context, string) error { return nil }

// WatchTTLs answers that nobody watches; these tests follow every camera.
func (s *fakeSink) WatchTTLs(_ context.Context, esns []preview.ESN) ([]time.Duration, error) {
	return make([]time.Duration, len(esns)), nil
}

func (s *fakeSink) Wakes(ctx context.Context, _ func(preview.ESN), _ func()) error {
	<-ctx.Done()
	return ctx.Err()
}

// fakeLocker hands out leases; refreshes fail once the test says so.
type fakeLocker struct {
	obtained atomic.Int64
	released atomic.Int64
	lose     atomic.Bool
	refuse   atomic.Bool
	down     atomic.Bool                  // every call fails, as with Redis unreachable
	failed   atomic.Int64                 // calls that failed so
	failures testsignal.TestSignal[int64] // tells of each
}

var errRedisDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

type fakeLease struct{ l *fakeLocker }

func (l *fakeLocker) Obtain(ctx context.Context, esn preview.ESN, ttl time.Duration) (preview.Lease, error) {
	if l.down.Load() {
		l.failures.Signal(l.failed.Add(1))
		return nil, errRedisDown
	}
	if l.refuse.Load() {
		return nil, preview.ErrLockLost
	}
	l.obtained.Add(1)
	return fakeLease{l}, nil
}

func (l *fakeLocker) TTL(context.Context, preview.ESN) (time.Duration, error) {
	return time.Second, nil
}

func (f fakeLease) Refresh(ctx context.Context, ttl time.Duration) error {
	if f.l.lose.Load() {
		return preview.ErrLockLost
	}
	return nil
}
func (f fakeLease) Release(ctx context.Context) error { f.l.released.Add(1); return nil }
func (f fakeLease) Fence() string                     { return "fence" }

// newTestFetcher builds a fetcher of camA with its test signals on.
func newTestFetcher(src Source, sink Store, locks Locker) *Fetcher {
	f := New(Config{ID: "t", Cameras: []preview.Camera{{ESN: camA}}, LockTTL: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, src, sink, locks)
	f.TestSignals.Init()
	return f
}

func run(t *testing.T, f *Fetcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("fetcher did not stop within 2s")
		}
	}
}

func TestFollowsPrevThenNextInOrder(t *testing.T) {
	src, sink, locks := &fakeSource{}, &fakeSink{}, &fakeLocker{}
	f := newTestFetcher(src, sink, locks)
	stop := run(t, f)
	for range 4 {
		f.TestSignals.FrameStored.WaitOrTimeout(t)
	}
	stop()
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.asked[0] != "prev now" {
		t.Errorf("first call %q, want prev now", src.asked[0])
	}
	// Each next asks from the previous frame's time (the fake's frames are
	// in the future, so the fetcher is never "behind").
	for i := 1; i < 4; i++ {
		if want := "next " + string(sink.frames[i-1].TS); src.asked[i] != want {
			t.Errorf("call %d %q, want %q", i, src.asked[i], want)
		}
	}
	if locks.released.Load() != locks.obtained.Load() {
		t.Errorf("obtained %d locks, released %d", locks.obtained.Load(), locks.released.Load())
	}
}

func TestLostLockStopsUpstreamCallAtOnce(t *testing.T) {
	src, sink, locks := &fakeSource{block: make(chan struct{})}, &fakeSink{}, &fakeLocker{}
	src.called.Init()
	f := newTestFetcher(src, sink, locks)
	stop := run(t, f)
	defer stop()
	f.TestSignals.LeadGained.WaitOrTimeout(t)
	src.called.WaitUntil(t, "polling", func() bool { return src.calls.Load() >= 2 })
	locks.refuse.Store(true)
	locks.lose.Store(true)
	lostAt := time.Now()
	f.TestSignals.LeadLost.WaitOrTimeout(t)
	if f.State()[camA].Leading {
		t.Error("still leading once the lead ended")
	}
	// Refresh runs every TTL/3; the blocked next must end with it.
	if d := time.Since(lostAt); d > 700*time.Millisecond {
		t.Errorf("gave up %s after the lock was lost, want within one refresh period", d)
	}
}

func TestUpstreamErrorsBackOff(t *testing.T) {
	src := &fakeSource{fail: &upstreamError{code: 503}}
	f := newTestFetcher(src, &fakeSink{}, &fakeLocker{})
	stop := run(t, f)
	time.Sleep(1500 * time.Millisecond) // a measured window, not synchronisation
	stop()
	// Waits of 250, 500, 1000 ms (each at least half that) fit at most 5 calls.
	if n := src.calls.Load(); n < 2 || n > 5 {
		t.Errorf("%d upstream calls in 1.5s of 503s, want 2..5 (backoff)", n)
	}
	if f.State()[camA].Errors == 0 {
		t.Error("errors not counted")
	}
}

// A write the fenced script refuses ends the lead at once: the fetcher
// releases and competes for the lock again instead of fetching on.
func TestRefusedWriteEndsLead(t *testing.T) {
	src, sink, locks := &fakeSource{}, &fakeSink{}, &fakeLocker{}
	sink.lost.Store(true)
	f := newTestFetcher(src, sink, locks)
	stop := run(t, f)
	f.TestSignals.LeadGained.WaitOrTimeout(t)
	f.TestSignals.LeadLost.WaitOrTimeout(t) // released
	f.TestSignals.LeadGained.WaitOrTimeout(t)
	if locks.released.Load() < 1 || locks.obtained.Load() < 2 {
		t.Fatalf("obtained %d locks, released %d; want a second lead after a release", locks.obtained.Load(), locks.released.Load())
	}
	stop()
	if calls, leads := src.calls.Load(), locks.obtained.Load(); calls > leads {
		t.Errorf("%d upstream calls in %d leads: fetching went on after a refused write", calls, leads)
	}
}

// While Redis is down every lock call fails at each retry: the fetcher
// says so once per camera, not once per retry.
func TestLockFailuresWarnedOncePerStreak(t *testing.T) {
	src, sink, locks := &fakeSource{}, &fakeSink{}, &fakeLocker{}
	locks.down.Store(true)
	locks.failures.Init()
	var logs bytes.Buffer // read once the fetcher has stopped
	f := New(Config{ID: "t", Cameras: []preview.Camera{{ESN: camA}}, LockTTL: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, src, sink, locks)
	f.TestSignals.Init()
	stop := run(t, f)
	locks.failures.WaitUntil(t, "four failed lock calls", func() bool { return locks.failed.Load() >= 4 })
	locks.down.Store(false)
	f.TestSignals.LeadGained.WaitOrTimeout(t)
	stop()
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d WARN lines over %d failed lock calls, want 1:\n%s", n, locks.failed.Load(), logs.String())
	}
}

// flakyWakesSink's wake subscription comes up and then breaks, again and
// again, as it does while Redis fails over.
type flakyWakesSink struct {
	fakeSink
	wakes atomic.Int64
}

func (s *flakyWakesSink) Wakes(_ context.Context, _ func(preview.ESN), subscribed func()) error {
	s.wakes.Add(1)
	subscribed()
	return errors.New("connection reset")
}

// A wake subscription that worked resets the wait before the next
// attempt, so after a Redis failover a fetcher hears wake notices again
// within the shortest wait. Without the reset the waits double towards
// LOCK_TTL: eight attempts take > 3 s.
func TestWakesResubscribeQuicklyAfterAWorkingSubscription(t *testing.T) {
	sink := &flakyWakesSink{}
	f := New(Config{ID: "t", Cameras: []preview.Camera{{ESN: camA}}, WatchedOnly: true, LockTTL: 5 * time.Second,
		WatchTTL: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, &fakeSource{}, sink, &fakeLocker{})
	f.TestSignals.Init()
	defer run(t, f)()
	for deadline := time.Now().Add(3 * time.Second); sink.wakes.Load() < 8; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) { // testbed.WaitFor's, which this package cannot import
			t.Fatalf("%d wake subscriptions in 3 s, want 8, each after the shortest wait", sink.wakes.Load())
		}
	}
}

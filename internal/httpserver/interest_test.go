package httpserver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/preview"
)

const watchTTL = 30 * time.Second // every = 5 s: the cap, not WATCH_TTL/3

// runInterest runs an interest over m until the test ends, in the test's
// bubble: time is synctest's, so minutes of viewers take no time.
func runInterest(t *testing.T, m Marker, public func(preview.ESN) bool) *interest {
	t.Helper()
	if public == nil {
		public = func(preview.ESN) bool { return true }
	}
	in := newInterest(m, watchTTL, public, slog.New(slog.DiscardHandler), newMetrics(prometheus.NewRegistry(), nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); in.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	synctest.Wait() // the marker waits for work
	return in
}

// TestMarksCoalesce: many viewers of one camera cost one mark at once,
// then one mark per interval (5 s) however many they are and however
// often they ask; the key never lapses while they watch and ends
// WatchTTL after the last one.
func TestMarksCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newFakeMarker()
		in := runInterest(t, m, nil)
		start := time.Now()
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() { in.touch(camA, time.Now()) })
		}
		wg.Wait()
		synctest.Wait()
		if n, c := m.count(camA), m.last(camA); n != 1 || c.ttl != watchTTL || !c.at.Equal(start) {
			t.Fatalf("100 viewers at once: %d marks, the last %+v; want 1 at once for %s", n, c, watchTTL)
		}
		const span, viewers = 10 * time.Minute, 100
		var mu sync.Mutex
		var last time.Time       // the last still served
		for i := range viewers { // each polls a still image every second, out of step
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 10 * time.Millisecond)
				for end := start.Add(span); time.Now().Before(end); time.Sleep(time.Second) {
					in.touch(camA, time.Now())
					mu.Lock()
					if time.Now().After(last) {
						last = time.Now()
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		n := m.count(camA)
		perSecond := float64(n) / span.Seconds()
		t.Logf("%d viewers polling every second for %s: %d marks, %.3f a second (Redis commands, one EVALSHA each)", viewers, span, n, perSecond)
		if most := int(span/(in.every-in.every/8)) + 2; n > most || n < int(span/in.every)-2 {
			t.Errorf("%d marks in %s, want about one each %s (at most %d)", n, span, in.every, most)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		least, err := m.coverage(camA, start, last.Add(watchTTL-time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if end := m.expires(camA); !end.Equal(last.Add(watchTTL)) {
			t.Errorf("the key ends %s after the last viewer, want about WatchTTL (%s)", end.Sub(last), watchTTL)
		}
		if least < watchTTL-2*in.every {
			t.Errorf("the key came within %s of expiring while watched", least)
		}
	})
}

// TestStreamsRemarkWhileOpen: an open stream marks its camera at once and
// every interval; when it closes, one last mark makes the key end
// WatchTTL later, and the marks stop.
func TestStreamsRemarkWhileOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newFakeMarker()
		in := runInterest(t, m, nil)
		start := time.Now()
		closed := in.open([]preview.ESN{camA, camB})
		synctest.Wait()
		if m.count(camA) != 1 || m.count(camB) != 1 {
			t.Fatalf("opening a stream of two cameras: %d and %d marks, want one each at once", m.count(camA), m.count(camB))
		}
		time.Sleep(time.Minute + time.Second)
		if n := m.count(camA); n != 13 {
			t.Errorf("a minute with a stream open: %d marks, want 13 (one each %s)", n, in.every)
		}
		closed()
		left := time.Now()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if n := m.count(camA); n != 14 {
			t.Errorf("after the stream closed: %d marks in all, want one more (14)", n)
		}
		if _, err := m.coverage(camA, start, left.Add(watchTTL-time.Millisecond)); err != nil {
			t.Error(err)
		}
		if end := m.expires(camA); !end.Equal(left.Add(watchTTL)) {
			t.Errorf("the key ends %s after the stream closed, want %s", end.Sub(left), watchTTL)
		}
	})
}

// TestStillResetsTheWindow: each still image served keeps the camera
// watched WatchTTL from then, and the first interest after the key ended
// marks at once (a wake is never delayed).
func TestStillResetsTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newFakeMarker()
		in := runInterest(t, m, nil)
		in.touch(camA, time.Now())
		time.Sleep(20 * time.Second)
		second := time.Now()
		in.touch(camA, second) // due: marked at once
		synctest.Wait()
		if n := m.count(camA); n != 2 || !m.expires(camA).Equal(second.Add(watchTTL)) {
			t.Fatalf("a still 20 s later: %d marks, key until +%s; want 2, +%s", n, m.expires(camA).Sub(second), watchTTL)
		}
		time.Sleep(time.Second)
		third := time.Now()
		in.touch(camA, third) // not due: marked when the interval ends, to last from this one
		time.Sleep(time.Minute)
		if n := m.count(camA); n != 3 || !m.expires(camA).Equal(third.Add(watchTTL)) {
			t.Fatalf("a still 1 s later: %d marks, key until +%s after it; want 3, +%s", n, m.expires(camA).Sub(third), watchTTL)
		}
		before := m.count(camA)
		in.touch(camA, time.Now()) // long after the key ended
		synctest.Wait()
		if m.count(camA) != before+1 {
			t.Errorf("the first viewer after the key ended was not marked at once")
		}
	})
}

// TestMarkRetriesWithBackoff: while Redis fails, marks are retried with
// growing waits, not in a loop; the camera is marked once it answers.
func TestMarkRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newFakeMarker()
		m.setFail(errors.New("connection refused"))
		in := runInterest(t, m, nil)
		closed := in.open([]preview.ESN{camA})
		defer closed()
		for range 50 {
			in.touch(camA, time.Now()) // viewers keep asking: no extra tries
		}
		time.Sleep(10 * time.Second)
		if n := m.count(camA); n < 3 || n > 12 {
			t.Errorf("%d tries in 10 s of failures, want a few with backoff (100 ms growing to 5 s)", n)
		}
		m.setFail(nil)
		time.Sleep(5 * time.Second)
		if c := m.last(camA); c.failed || m.expires(camA).IsZero() {
			t.Errorf("not marked within the longest backoff after Redis came back: %+v", c)
		}
	})
}

// TestRemarkAll: after a Redis reconnect the watched cameras are marked
// again at once: a restarted Redis has lost their keys.
func TestRemarkAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newFakeMarker()
		in := runInterest(t, m, nil)
		closed := in.open([]preview.ESN{camA})
		defer closed()
		synctest.Wait()
		in.remarkAll()
		synctest.Wait()
		if n := m.count(camA); n != 2 {
			t.Errorf("%d marks, want a second at once after remarkAll", n)
		}
	})
}

// TestOnlyPublicCamerasAreMarked: a camera that left the allow-list is
// not marked, even with a stream of it still open.
func TestOnlyPublicCamerasAreMarked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newFakeMarker()
		in := runInterest(t, m, func(esn preview.ESN) bool { return esn != camB })
		closed := in.open([]preview.ESN{camA, camB})
		in.touch(camB, time.Now())
		time.Sleep(time.Minute)
		closed()
		if m.count(camB) != 0 || m.count(camA) == 0 {
			t.Errorf("marks: %d of the public camera, %d of the other; want some, none", m.count(camA), m.count(camB))
		}
	})
}

// BenchmarkTouch is what marking costs a still-image request: viewers of
// one camera on every core at once, the marker running.
func BenchmarkTouch(b *testing.B) {
	in := newInterest(newFakeMarker(), watchTTL, func(preview.ESN) bool { return true },
		slog.New(slog.DiscardHandler), newMetrics(prometheus.NewRegistry(), nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); in.run(ctx) }()
	defer func() { cancel(); <-done }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in.touch(camA, time.Now())
		}
	})
}

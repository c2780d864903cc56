package fetcher_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testsignal"
)

const (
	camA = preview.ESN("1006073b") // followed only while watched
	camB = preview.ESN("10060a2c") // pinned (";always")

	lockTTL  = 600 * time.Millisecond
	watchTTL = time.Second // marks read every 250 ms
)

// camSource is an upstream of cameras that take a picture every interval:
// prev answers at once, next once the picture after ts is taken. It counts
// the calls per camera and tells of each.
type camSource struct {
	interval time.Duration
	mu       sync.Mutex
	calls    map[preview.ESN]int
	called   testsignal.TestSignal[upstreamCall]
}

type upstreamCall struct {
	esn preview.ESN
	at  time.Time
}

func newCamSource() *camSource {
	s := &camSource{interval: 100 * time.Millisecond, calls: map[preview.ESN]int{}}
	s.called.Init()
	return s
}

func (s *camSource) Prev(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	s.count(esn)
	return image(time.Now()), nil
}

func (s *camSource) Next(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error) {
	s.count(esn)
	from := time.Now()
	if ts != "now" {
		from = preview.Timestamp(ts).Time()
	}
	at := from.Truncate(s.interval).Add(s.interval)
	select {
	case <-ctx.Done():
		return preview.Image{}, ctx.Err()
	case <-time.After(time.Until(at)):
		return image(at), nil
	}
}

func (s *camSource) count(esn preview.ESN) {
	s.mu.Lock()
	s.calls[esn]++
	s.mu.Unlock()
	s.called.Signal(upstreamCall{esn, time.Now()})
}

func (s *camSource) callsOf(esn preview.ESN) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[esn]
}

func image(at time.Time) preview.Image {
	return preview.Image{TS: preview.FormatTimestamp(at), JPEG: []byte("\xff\xd8\xffimg")}
}

// rig is fetchers in watched mode over one real Redis.
type rig struct {
	t     *testing.T
	srv   *testbed.RedisServer
	store *redisstore.Store // the test's own (the web's part: marks)
	src   *camSource
	ttl   time.Duration // WATCH_TTL
}

func newRig(t *testing.T) *rig {
	srv := testbed.Redis(t)
	return &rig{t: t, srv: srv, store: redisstore.New(srv.Client(), testbed.Prefix(t)), src: newCamSource(), ttl: watchTTL}
}

// Published before Run (as the all-in-one does, so that its web part
// knows the cameras as it starts), the allow-list already says which
// cameras sleep until watched: a still of one waits for its wake-up from
// the first request on (CI once saw the all-in-one answer 503 at once).
func TestCamerasPublishedBeforeRun(t *testing.T) {
	r := newRig(t)
	f := fetcher.New(fetcher.Config{ID: "f1", WatchedOnly: true,
		Cameras: []preview.Camera{{ESN: camA, Name: "A"}, {ESN: camB, Name: "B", Always: true}}},
		r.src, r.store, r.store.Locker())
	if err := f.PublishCameras(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.checkWatchedOnly(t, "the allow-list before Run")
}

// checkWatchedOnly checks that the allow-list holds camA as followed only
// while watched and the pinned camB as not.
func (r *rig) checkWatchedOnly(t *testing.T, what string) {
	t.Helper()
	cams, err := r.store.Cameras(t.Context(), time.Minute, time.Now())
	watched := map[preview.ESN]bool{}
	for _, c := range cams {
		watched[c.ESN] = c.Watched
	}
	if err != nil || len(cams) != 2 || !watched[camA] || watched[camB] {
		t.Errorf("%s: %+v, %v; want camA watched-only and camB not", what, cams, err)
	}
}

// start runs a fetcher in watched mode of camA and the pinned camB on its
// own Redis client, and returns once it has its assignment and hears wake
// notices. kill closes that client: the fetcher can no longer reach Redis,
// as if it were dead.
func (r *rig) start(id string, fetchers int) (f *fetcher.Fetcher, reg *prometheus.Registry, kill func()) {
	c := redis.NewClient(&redis.Options{Addr: r.srv.Addr()})
	store := redisstore.New(c, r.store.Keys().Prefix)
	reg = prometheus.NewRegistry()
	f = fetcher.New(fetcher.Config{ID: id, LockTTL: lockTTL, WatchedOnly: true, WatchTTL: r.ttl,
		Cameras:  []preview.Camera{{ESN: camA, Name: "A"}, {ESN: camB, Name: "B", Always: true}},
		Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		r.src, store, store.Locker())
	f.TestSignals.Init()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-done; c.Close() })
	f.TestSignals.MembershipInstalled.WaitFor(r.t, "the assignment", func(m fetcher.Membership) bool { return m.Fetchers == fetchers })
	testbed.WaitFor(r.t, 5*time.Second, "the wake subscription", func() bool {
		n := r.store.Client().PubSubNumSub(context.Background(), r.store.Keys().WakeChannel()).Val()
		return n[r.store.Keys().WakeChannel()] >= int64(fetchers)
	})
	return f, reg, func() { c.Close() }
}

// mark is a replica marking camA watched.
func (r *rig) mark() {
	r.t.Helper()
	if _, err := r.store.MarkWatched(context.Background(), camA, r.ttl); err != nil {
		r.t.Fatal(err)
	}
}

// waitChecks waits for n periodic reads of the watch marks.
func waitChecks(t *testing.T, f *fetcher.Fetcher, n int) {
	for range n {
		f.TestSignals.MarksChecked.WaitOrTimeout(t)
	}
}

func waitAsleep(t *testing.T, f *fetcher.Fetcher) fetcher.LeadLost {
	return f.TestSignals.LeadLost.WaitFor(t, "camA asleep", func(l fetcher.LeadLost) bool {
		return l.ESN == camA && errors.Is(l.Cause, fetcher.ErrAsleep)
	})
}

// An unwatched camera gets no upstream call while the pinned one is
// followed; a mark wakes it within 200 ms (first call: prev "now"); a
// viewer who keeps marking keeps it awake; WATCH_TTL after the last mark
// it sleeps within a lock refresh, releases its lock and the calls stop.
func TestWatchedCameraWakesAndSleeps(t *testing.T) {
	r := newRig(t)
	f, reg, _ := r.start("f1", 1)
	f.TestSignals.FrameStored.WaitFor(t, "a frame of the pinned camera", func(s fetcher.FrameStored) bool { return s.ESN == camB })
	waitChecks(t, f, 12) // three seconds at 250 ms
	if n := r.src.callsOf(camA); n != 0 {
		t.Fatalf("%d upstream calls for a camera nobody watches", n)
	}
	if st := f.State(); st[camA].State != fetcher.StateAsleep || st[camB].State != fetcher.StatePinned {
		t.Errorf("states %q, %q; want asleep, pinned", st[camA].State, st[camB].State)
	}
	r.checkWatchedOnly(t, "the cameras hash")

	start := time.Now()
	r.mark()
	f.TestSignals.LeadGained.WaitFor(t, "camA led", func(e preview.ESN) bool { return e == camA })
	led := time.Since(start)
	call := r.src.called.WaitFor(t, "camA's first call", func(c upstreamCall) bool { return c.esn == camA })
	if first := call.at.Sub(start); led > 200*time.Millisecond || first > 200*time.Millisecond {
		t.Errorf("woke %s (first upstream call %s) after the mark, want within 200ms", led, first)
	}
	t.Logf("wake: led %s, first upstream call %s after the mark", led, call.at.Sub(start))

	// A viewer polling every 100 ms for two WATCH_TTLs: no sleep. Should
	// this test itself be starved for a WATCH_TTL between two marks (a
	// loaded machine), the camera rightly sleeps and wakes again: such
	// lapses are counted, and each allows one more wake-up.
	viewer := time.NewTicker(100 * time.Millisecond)
	lapses, last := 0, time.Now()
	for until := time.Now().Add(2 * watchTTL); time.Now().Before(until); <-viewer.C {
		r.mark()
		if now := time.Now(); now.Sub(last) >= watchTTL {
			lapses++
			t.Logf("the viewer's marks lapsed: %s between two", now.Sub(last))
		}
		last = time.Now()
	}
	viewer.Stop()
	if st := f.State()[camA]; lapses == 0 && (!st.Leading || st.State != fetcher.StateWatched) {
		t.Fatalf("camA during the viewer's polls: %+v; want led and watched", st)
	}
	lastMark := time.Now()
	r.mark()
	waitAsleep(t, f)
	slept := time.Since(lastMark)
	t.Logf("slept %s after the last mark (WATCH_TTL %s, lock refresh %s)", slept, watchTTL, lockTTL/3)
	if slept < watchTTL || slept > watchTTL+lockTTL/3+250*time.Millisecond {
		t.Errorf("slept %s after the last mark, want WATCH_TTL (%s) + at most a lock refresh (%s)", slept, watchTTL, lockTTL/3)
	}
	if ttl := r.store.Client().PTTL(context.Background(), r.store.Keys().Lock(camA)).Val(); ttl != -2 {
		t.Errorf("camA's lock has %s left once asleep, want released", ttl)
	}
	calls := r.src.callsOf(camA)
	waitChecks(t, f, 8)
	if n := r.src.callsOf(camA); n != calls {
		t.Errorf("%d upstream calls for camA after it slept", n-calls)
	}
	if st := f.State()[camA]; st.Leading || st.State != fetcher.StateAsleep {
		t.Errorf("camA asleep: %+v", st)
	}
	if n := metric(t, reg, "camrelay_fetcher_wakeups_total", camA); n != float64(1+lapses) {
		t.Errorf("wakeups_total %v, want %d (1 + the viewer's lapses)", n, 1+lapses)
	}
	for state, want := range map[string]float64{fetcher.StateAsleep: 1, fetcher.StateWatched: 0} {
		if v := metric(t, reg, "camrelay_fetcher_camera_state", camA, "state", state); v != want {
			t.Errorf("camera_state{state=%q} = %v, want %v", state, v, want)
		}
	}
	if v := metric(t, reg, "camrelay_fetcher_camera_state", camB, "state", fetcher.StatePinned); v != 1 {
		t.Errorf("camB's camera_state{state=pinned} = %v, want 1", v)
	}
}

// metric returns the value of the series name{camera, label=value}.
func metric(t *testing.T, reg *prometheus.Registry, name string, esn preview.ESN, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"camera": string(esn)}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if mf.GetName() == name && maps.Equal(got, want) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, want)
	return 0
}

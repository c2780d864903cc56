package httpserver

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Pub/sub cannot replay what it lost: after a resubscription the replica
// re-reads every public camera's frame.
func TestResubscriptionReReadsMissedFrames(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA})
	srv, ts := newTestServer(t, store, Config{})
	store.put(camA, "20261124040506.250", "one")
	f2 := store.putQuiet(camA, "20261124040507.250", "two")
	testbed.WaitFor(t, 5*time.Second, "first frame known", func() bool { m, _ := srv.hub.Current(camA, time.Now()); return m.TS != "" })
	store.resub <- struct{}{}
	srv.TestSignals.Subscribed.WaitUntil(t, "missed frame re-read", func() bool { m, _ := srv.hub.Current(camA, time.Now()); return m.TS == f2.TS })
	if r, body := get(t, ts.URL+"/preview/1006073b.jpg"); r.StatusCode != 200 || body != string(f2.JPEG) {
		t.Errorf("after the re-read: %d %q, want the missed frame", r.StatusCode, body)
	}
}

// Over HTTP/2 a connection cannot be taken over: streams are written
// through net/http on the handler's goroutine instead, and still end at
// Close.
func TestStreamsOverHTTP2(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA})
	srv := New(Config{}, store)
	srv.TestSignals.Init()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(func() { srv.Close(); ts.Close(); cancel(); <-done })
	waitReadiness(t, srv, true, "replica ready")
	f := store.put(camA, "20261124040506.250", "one")
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := srv.hub.Current(camA, time.Now()); return m.TS == f.TS })

	resp, err := ts.Client().Get(ts.URL + "/preview/1006073b/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	events := eventReader(resp.Body)
	if ev := <-events; ev != "frame 1006073b-"+string(f.TS) {
		t.Fatalf("first event %q", ev)
	}
	f2 := store.put(camA, "20261124040507.250", "two")
	if ev := <-events; ev != "frame 1006073b-"+string(f2.TS) {
		t.Fatalf("second event %q", ev)
	}
	srv.Close()
	if _, ok := <-events; ok {
		t.Error("stream still open after Close")
	}
}

// flakyWatchStore's subscription comes up and then breaks, again and
// again, as it does while Redis fails over.
type flakyWatchStore struct {
	*fakeStore
	watches atomic.Int64
}

func (s *flakyWatchStore) Watch(ctx context.Context, event func(preview.FrameEvent), subscribed func()) error {
	s.watches.Add(1)
	subscribed()
	return errors.New("connection reset")
}

// A subscription that worked resets the wait before the next attempt:
// after a long-lived subscription breaks (a Redis failover) the replica
// resubscribes within the shortest wait, however many outages came before.
// Without the reset the waits double to 5 s: eight attempts take > 5 s.
func TestResubscribesQuicklyAfterAWorkingSubscription(t *testing.T) {
	store := &flakyWatchStore{fakeStore: newFakeStore(preview.Camera{ESN: camA})}
	srv := New(Config{}, store)
	runServer(t, srv)
	testbed.WaitFor(t, 3*time.Second, "eight subscriptions, each after the shortest wait", func() bool { return store.watches.Load() >= 8 })
}

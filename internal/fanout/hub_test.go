package fanout

import (
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

const (
	camA = preview.ESN("1006073b")
	camB = preview.ESN("100c2f4e")
	ttl  = 15 * time.Second
)

var t0 = time.Date(2026, 11, 24, 4, 5, 6, 0, time.UTC)

// frameAt is camera esn's frame taken at t0+ms and seen at seen.
func frameAt(esn preview.ESN, ms int, seen time.Time) Meta {
	ts := preview.FormatTimestamp(t0.Add(time.Duration(ms) * time.Millisecond))
	return Meta{ESN: esn, TS: ts, ETag: `"` + string(ts) + `"`, SeenAt: seen}
}

// next returns the event waiting on s: the hub sends before Publish,
// Sweep or Beat returns, so there is nothing to wait for.
func next(t *testing.T, s *Subscription) *Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatal("subscription closed, want an event")
		}
		return ev
	default:
		t.Fatal("no event waiting")
		return nil
	}
}

func none(t *testing.T, s *Subscription) {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		t.Fatalf("got %+v (open %v), want nothing", ev, ok)
	default:
	}
}

func closed(t *testing.T, s *Subscription) {
	t.Helper()
	for range clientBuffer + 1 {
		select {
		case _, ok := <-s.Events():
			if !ok {
				return
			}
		default:
			t.Fatal("subscription still open")
		}
	}
	t.Fatal("subscription still delivering")
}

func nop() {}

func TestPublishSharesOneEventPerFrame(t *testing.T) {
	h := New(ttl, nil)
	a1, a2 := h.Subscribe([]preview.ESN{camA}, nop), h.Subscribe([]preview.ESN{camA, camB}, nop)
	b := h.Subscribe([]preview.ESN{camB}, nop)

	m := frameAt(camA, 0, t0)
	h.Publish(m)
	ev := next(t, a1)
	if ev != next(t, a2) {
		t.Error("subscribers got different events for one frame: each was encoded again")
	}
	if ev.Meta != m || ev.Offline || ev.Beat {
		t.Errorf("event = %+v, want the frame %+v", ev, m)
	}
	none(t, b)

	h.Publish(m)                     // the same frame again
	h.Publish(frameAt(camA, -1, t0)) // an older one, arriving late
	none(t, a1)
	if cur, fresh := h.Current(camA, t0); cur != m || !fresh {
		t.Errorf("Current = %+v, %v; want %+v, fresh", cur, fresh, m)
	}
}

func TestCurrentIsFreshForTheFrameTTL(t *testing.T) {
	h := New(ttl, nil)
	if m, fresh := h.Current(camA, t0); m != (Meta{}) || fresh {
		t.Errorf("unknown camera: Current = %+v, %v; want zero, false", m, fresh)
	}
	h.Publish(frameAt(camA, 0, t0))
	if _, fresh := h.Current(camA, t0.Add(ttl)); !fresh {
		t.Error("frame seen exactly FRAME_TTL ago is stale, want fresh")
	}
	if m, fresh := h.Current(camA, t0.Add(ttl+time.Millisecond)); fresh || m.ESN != camA {
		t.Errorf("frame seen past FRAME_TTL: Current = %+v, %v; want it, stale", m, fresh)
	}
}

func TestSlowSubscriberIsDroppedOnce(t *testing.T) {
	var drops, aborts int
	h := New(ttl, func() { drops++ })
	slow := h.Subscribe([]preview.ESN{camA}, func() { aborts++ })
	fast := h.Subscribe([]preview.ESN{camA}, nop)
	for i := range clientBuffer + 1 {
		h.Publish(frameAt(camA, i, t0))
		next(t, fast)
	}
	if drops != 1 || aborts != 1 {
		t.Errorf("drops %d, aborts %d; want 1 each", drops, aborts)
	}
	closed(t, slow)
	h.Unsubscribe(slow) // as its stream does when it ends: no second close
	h.Publish(frameAt(camA, 100, t0))
	next(t, fast)
	if drops != 1 || aborts != 1 {
		t.Errorf("after more frames: drops %d, aborts %d; want 1 each", drops, aborts)
	}
}

func TestSweepSendsOfflineOncePerOutage(t *testing.T) {
	h := New(ttl, nil)
	s := h.Subscribe([]preview.ESN{camA}, nop)
	m := frameAt(camA, 0, t0)
	h.Publish(m)
	next(t, s)

	h.Sweep(t0.Add(ttl))
	none(t, s)
	h.Sweep(t0.Add(ttl + time.Millisecond))
	if ev := next(t, s); !ev.Offline || ev.Meta != m {
		t.Errorf("after FRAME_TTL: %+v, want offline for %+v", ev, m)
	}
	h.Sweep(t0.Add(2 * ttl))
	none(t, s)

	seen := t0.Add(2 * ttl)
	h.Publish(frameAt(camA, 1, seen)) // back: the next outage is told again
	next(t, s)
	h.Sweep(seen.Add(ttl + time.Millisecond))
	if ev := next(t, s); !ev.Offline {
		t.Errorf("second outage: %+v, want offline", ev)
	}
}

func TestBeatReachesEverySubscriber(t *testing.T) {
	h := New(ttl, nil)
	subs := []*Subscription{h.Subscribe([]preview.ESN{camA}, nop), h.Subscribe([]preview.ESN{camB}, nop)}
	h.Beat()
	for _, s := range subs {
		if ev := next(t, s); !ev.Beat || string(ev.SSE()) != ": hb\n\n" {
			t.Errorf("got %+v %q, want the heartbeat comment", ev, ev.SSE())
		}
	}
}

func TestCloseEndsSubscriptionsAndRefusesNew(t *testing.T) {
	h := New(ttl, nil)
	aborted := 0
	a := h.Subscribe([]preview.ESN{camA}, func() { aborted++ })
	b := h.Subscribe([]preview.ESN{camA, camB}, nop)
	got := h.Close()
	if len(got) != 2 {
		t.Fatalf("Close returned %d subscriptions, want 2", len(got))
	}
	closed(t, a)
	closed(t, b)
	if aborted != 0 {
		t.Error("Close aborted a stream; only Abort should")
	}
	a.Abort()
	if aborted != 1 {
		t.Errorf("Abort called abort %d times, want 1", aborted)
	}
	h.Unsubscribe(a)
	if again := h.Close(); len(again) != 0 {
		t.Errorf("second Close returned %d subscriptions, want none", len(again))
	}
	late := h.Subscribe([]preview.ESN{camA}, nop)
	closed(t, late)
	h.Publish(frameAt(camA, 0, t0)) // the feed may still run: it reaches nobody
}

// TestConcurrentUseClosesEachChannelOnce races publishers, sweeps, beats,
// subscribers that come and go without reading and a Close: a second
// close or a send on a closed channel would panic, a data race fail -race.
func TestConcurrentUseClosesEachChannelOnce(t *testing.T) {
	h := New(time.Millisecond, nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				h.Publish(frameAt([]preview.ESN{camA, camB}[w%2], i, now))
				h.Sweep(now)
				h.Beat()
			}
		})
		wg.Go(func() {
			for range 200 {
				s := h.Subscribe([]preview.ESN{camA, camB}, nop)
				h.Current(camA, t0)
				h.Unsubscribe(s)
			}
		})
	}
	wg.Go(func() { h.Close() })
	wg.Wait()
	h.Close()
}

// TestNextIsClosedByANewerFrame: every waiter of a camera shares one
// channel, closed by the camera's next newer frame, not by an older one
// nor another camera's; Close wakes every waiter, and Next is nil after.
func TestNextIsClosedByANewerFrame(t *testing.T) {
	h := New(ttl, nil)
	h.Publish(frameAt(camA, 100, t0))
	a1, a2, b := h.Next(camA), h.Next(camA), h.Next(camB)
	if a1 != a2 {
		t.Error("two waiters of a camera have two channels")
	}
	h.Publish(frameAt(camA, 50, t0)) // older: not a new frame
	h.Publish(frameAt(camB, 0, t0))
	if isClosed(a1) || !isClosed(b) {
		t.Fatalf("closed: camA's %v (older frame), camB's %v (new frame)", isClosed(a1), isClosed(b))
	}
	h.Publish(frameAt(camA, 200, t0))
	if !isClosed(a1) {
		t.Fatal("a newer frame did not close the channel")
	}
	if h.Next(camA) == a1 {
		t.Error("the next waiter shares a closed channel")
	}
	pending := h.Next(camB)
	h.Close()
	if !isClosed(pending) {
		t.Error("Close left a waiter waiting")
	}
	if h.Next(camA) != nil {
		t.Error("Next after Close is not nil")
	}
}

// isClosed says whether ch is closed: the hub closes before it returns.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

package fanout

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// sink is a direct subscriber's socket: it takes events while it has
// room and records what it took, and what its subscriber wrote after
// taking them from the channel, in one sequence.
type sink struct {
	mu    sync.Mutex
	room  int
	got   []*Event
	tries int
}

func (k *sink) Try(ev *Event) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.tries++
	if k.room == 0 {
		return false
	}
	k.room--
	k.got = append(k.got, ev)
	return true
}

func (k *sink) wrote(ev *Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.got = append(k.got, ev)
}

func (k *sink) setRoom(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.room = n
}

func (k *sink) count() (got, tries int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.got), k.tries
}

// waitFor waits for cond: the writers deliver after Publish returns.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testbed.WaitFor(t, 5*time.Second, what, cond)
}

// drain writes what waits on s's channel, as a stream's goroutine does.
func drain(t *testing.T, s *Subscription, k *sink) {
	t.Helper()
	for {
		select {
		case ev := <-s.Events():
			k.wrote(ev)
		default:
			return
		}
	}
}

func TestDirectSubscriberGetsEveryEventInOrder(t *testing.T) {
	h := New(ttl, nil)
	k := &sink{room: 1000}
	s := h.SubscribeDirect([]preview.ESN{camA}, nop, k)
	var want []*Event
	publish := func(n int) {
		for range n {
			h.Publish(frameAt(camA, len(want), t0))
			ev, _ := h.currentEvent(camA, t0)
			want = append(want, ev)
		}
	}

	// Before its first CaughtUp the subscriber writes its first events
	// itself: the hub queues, however much room there is.
	publish(3)
	waitFor(t, "3 events queued", func() bool { return len(s.Events()) == 3 })
	if _, tries := k.count(); tries != 0 {
		t.Fatalf("try called %d times before the first CaughtUp", tries)
	}
	drain(t, s, k)
	s.CaughtUp()

	// Room: the writer's try takes them, none is queued.
	publish(5)
	waitFor(t, "8 events taken", func() bool { got, _ := k.count(); return got == 8 })
	none(t, s)

	// No room: the event is queued, and so is every later one without
	// asking try again, even once there is room, until the subscriber
	// has written them and catches up.
	k.setRoom(0)
	publish(1)
	waitFor(t, "one queued", func() bool { return len(s.Events()) == 1 })
	k.setRoom(1000)
	publish(2)
	waitFor(t, "three queued", func() bool { return len(s.Events()) == 3 })
	if _, tries := k.count(); tries != 6 {
		t.Errorf("try called %d times, want 6: never while events wait", tries)
	}
	ev := <-s.Events()
	k.wrote(ev)
	s.CaughtUp() // two still wait: nothing changes
	publish(1)
	waitFor(t, "three queued again", func() bool { return len(s.Events()) == 3 })
	drain(t, s, k)
	s.CaughtUp()
	publish(4)
	waitFor(t, "all taken", func() bool { got, _ := k.count(); return got == len(want) })
	if !slices.Equal(k.got, want) {
		t.Errorf("subscriber got %d events out of order or not all of %d", len(k.got), len(want))
	}
}

func TestDirectSubscriberIsDroppedWhenItsQueueFills(t *testing.T) {
	var drops, aborts atomic.Int32
	h := New(ttl, func() { drops.Add(1) })
	k := &sink{} // a socket that never has room
	s := h.SubscribeDirect([]preview.ESN{camA}, func() { aborts.Add(1) }, k)
	s.CaughtUp()
	other := &sink{room: 1000}
	o := h.SubscribeDirect([]preview.ESN{camA}, nop, other)
	o.CaughtUp()
	for i := range clientBuffer + 5 {
		h.Publish(frameAt(camA, i, t0))
	}
	waitFor(t, "others have every event", func() bool { got, _ := other.count(); return got == clientBuffer+5 })
	waitFor(t, "dropped", func() bool { return drops.Load() == 1 })
	if aborts.Load() != 1 {
		t.Errorf("aborts %d, want 1", aborts.Load())
	}
	n := 0
	for range s.Events() {
		n++
	}
	if n != clientBuffer {
		t.Errorf("dropped subscriber had %d events queued, want its buffer's %d", n, clientBuffer)
	}
	h.Unsubscribe(s) // its stream's: no second close
}

func TestWriterDropsWhatItCannotDeliverInTime(t *testing.T) {
	var drops atomic.Int32
	h := New(ttl, func() { drops.Add(1) })
	k := &sink{room: 10}
	s := h.SubscribeDirect([]preview.ESN{camA}, nop, k)
	s.CaughtUp()
	h.Publish(frameAt(camA, 0, t0))
	waitFor(t, "first event taken", func() bool { got, _ := k.count(); return got == 1 })

	// An event that waited past maxWriterLag for its writer (a replica
	// short of CPU): its subscribers are dropped, not served stale.
	ev, _ := h.currentEvent(camA, t0)
	h.mu.Lock()
	h.writers[s.writer].add(h, job{ev: ev, subs: []*Subscription{s}, at: time.Now().Add(-maxWriterLag - time.Second)})
	h.mu.Unlock()
	waitFor(t, "dropped", func() bool { return drops.Load() == 1 })
	if got, _ := k.count(); got != 1 {
		t.Errorf("the late event was delivered")
	}
	closed(t, s)
}

func TestNoDirectWriteAfterUnsubscribe(t *testing.T) {
	h := New(ttl, nil)
	var tries, late atomic.Int32
	var gone atomic.Bool
	try := func(*Event) bool {
		if gone.Load() {
			late.Add(1)
		}
		tries.Add(1)
		return true
	}
	s := h.SubscribeDirect([]preview.ESN{camA}, nop, trySink(try))
	s.CaughtUp()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 5000 {
			h.Publish(frameAt(camA, i, t0))
		}
	}()
	waitFor(t, "events flowing", func() bool { return tries.Load() >= 50 })
	h.Unsubscribe(s) // while the writer delivers
	gone.Store(true)
	<-done
	waitFor(t, "writers idle", func() bool { return writersIdle(h) })
	if n := late.Load(); n > 0 {
		t.Errorf("try called %d times after Unsubscribe returned", n)
	}
}

func TestDirectGridStreamsKeepPublishOrder(t *testing.T) {
	h := New(ttl, nil)
	const subs, frames = 40, 200
	sinks := make([]*sink, subs)
	for i := range sinks {
		sinks[i] = &sink{room: 1 << 30}
		esns := []preview.ESN{camA, camB}[:1+i%2] // half follow both cameras
		h.SubscribeDirect(esns, nop, sinks[i]).CaughtUp()
	}
	var published []*Event
	for i := range frames {
		esn := []preview.ESN{camA, camB}[i%2]
		h.Publish(frameAt(esn, i, t0))
		ev, _ := h.currentEvent(esn, t0)
		published = append(published, ev)
		if i%50 == 0 {
			h.Beat()
			published = append(published, heartbeat)
		}
	}
	waitFor(t, "writers idle", func() bool { return writersIdle(h) })
	for i, k := range sinks {
		var want []*Event
		for _, ev := range published {
			if ev.Beat || ev.Meta.ESN == camA || i%2 == 1 {
				want = append(want, ev)
			}
		}
		if !slices.Equal(k.got, want) {
			t.Fatalf("subscriber %d: got %d events, want %d in publish order", i, len(k.got), len(want))
		}
	}
}

// trySink is a Sink of a func.
type trySink func(*Event) bool

func (f trySink) Try(ev *Event) bool { return f(ev) }

func writersIdle(h *Hub) bool {
	for i := range h.writers {
		w := &h.writers[i]
		w.mu.Lock()
		busy := w.running
		w.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

func TestChunkFramesTheEvent(t *testing.T) {
	h := New(ttl, nil)
	h.Publish(frameAt(camA, 0, t0))
	ev, _ := h.currentEvent(camA, t0)
	for _, q := range []string{"", "&w=320"} {
		sse := ev.SSEWith(q)
		if got, want := string(ev.Chunk(q)), fmt.Sprintf("%x\r\n%s\r\n", len(sse), sse); got != want {
			t.Errorf("Chunk(%q) = %q, want %q", q, got, want)
		}
		if &ev.Chunk(q)[0] != &ev.Chunk(q)[0] {
			t.Errorf("Chunk(%q) built twice", q)
		}
	}
	if got := string(heartbeat.Chunk("&w=320")); got != "6\r\n: hb\n\n\r\n" {
		t.Errorf("heartbeat chunk %q", got)
	}
}

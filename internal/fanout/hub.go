// Package fanout is a web replica's in-memory hub: each camera's latest
// frame metadata, fed by the replica's one pub/sub subscription, fanned
// out to its streaming clients, and the Server-Sent Events encoding of
// what they are sent. An event is encoded once and shared by every
// client, so fan-out to many clients costs no encoding.
//
// A Hub never blocks its publisher: each subscription has a buffered
// channel, sends do not wait, and a subscriber whose buffer is full is
// dropped (its channel closed, exactly once, and its abort called). A
// direct subscriber (SubscribeDirect) is handed its events by one of a few
// writer goroutines instead, which write each straight into its socket
// when that needs no wait, so a frame reaching 10,000 viewers wakes a
// few goroutines, not 10,000 (see writers.go). The HTTP handlers that
// write the streams live in internal/httpserver.
package fanout

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// Meta is a camera's latest frame as the replica knows it, without bytes.
type Meta struct {
	ESN    preview.ESN
	TS     preview.Timestamp
	ETag   string
	SeenAt time.Time // when this replica learnt of it
}

// Event is what a streaming client is sent: a new frame, offline, or a
// heartbeat. One event is built per change and shared by every client:
// never modify one.
type Event struct {
	Offline bool
	Beat    bool
	Meta    Meta
	sse     []byte
	chunk   []byte // sse as one HTTP/1.1 chunk

	mu       sync.Mutex
	variants map[string][]byte // by SSEWith's query, and Chunk's
}

// SSE is the event as Server-Sent Events text, encoded once.
func (ev *Event) SSE() []byte { return ev.sse }

// SSEWith is SSE with query appended to the image URL (e.g. "&w=320", a
// thumbnail's), encoded once per event and query and shared likewise.
// Events without a URL (heartbeats) and an empty query give SSE.
func (ev *Event) SSEWith(query string) []byte {
	if query == "" || ev.Beat {
		return ev.sse
	}
	return ev.variant(query, func() []byte { return encodeEvent(ev, query) })
}

// Chunk is SSEWith(query) framed as one HTTP/1.1 chunk, likewise built
// once, so that a stream writes an event in one call.
func (ev *Event) Chunk(query string) []byte {
	if query == "" || ev.Beat {
		return ev.chunk
	}
	sse := ev.SSEWith(query)
	return ev.variant("chunk"+query, func() []byte { return chunkOf(sse) }) // queries start with &
}

func (ev *Event) variant(key string, build func() []byte) []byte {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	b, ok := ev.variants[key]
	if !ok {
		if ev.variants == nil {
			ev.variants = make(map[string][]byte, 1)
		}
		b = build()
		ev.variants[key] = b
	}
	return b
}

func newEvent(m Meta, offline bool) *Event {
	ev := &Event{Meta: m, Offline: offline}
	ev.sse = encodeEvent(ev, "")
	ev.chunk = chunkOf(ev.sse)
	return ev
}

// chunkOf frames b as one HTTP/1.1 chunk.
func chunkOf(b []byte) []byte { return fmt.Appendf(nil, "%x\r\n%s\r\n", len(b), b) }

// Subscription is one streaming client's feed. Its channel is buffered;
// when it is full the subscriber is dropped rather than allowed to slow
// the others.
type Subscription struct {
	// What a writer reads per event first: one cache line per client.
	mu      sync.Mutex
	closed  bool
	backlog bool // events wait in ch, or one taken from it is being written: sink may not overtake them
	sink    Sink // SubscribeDirect's; nil: events are queued, by the publisher
	ch      chan *Event

	esns   []preview.ESN
	abort  func()
	writer int // with a sink: the hub's writer that delivers its events
}

// A Sink takes a direct subscriber's events from the hub's writers (see
// SubscribeDirect).
type Sink interface {
	// Try takes ev (true) or leaves it (false) without blocking.
	Try(ev *Event) bool
}

// Events delivers the subscribed cameras' events (a direct subscriber's
// only those its sink did not take). It is closed when the subscriber is
// dropped as too slow, unsubscribed, or the hub closes.
func (s *Subscription) Events() <-chan *Event { return s.ch }

// Abort calls the abort func given to Subscribe: it ends a write the
// subscriber may be blocked in. Safe to call at any time.
func (s *Subscription) Abort() { s.abort() }

// CaughtUp tells the hub that a direct subscriber has written every event
// it took from Events: if none is waiting, its events go to its sink again.
// Until its first call, all go to the channel.
func (s *Subscription) CaughtUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ch) == 0 {
		s.backlog = false
	}
}

// deliver hands ev to s: to its sink while nothing waits for the
// subscriber, else to its channel. False when the channel is full: drop s.
func (s *Subscription) deliver(ev *Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true
	}
	if !s.backlog && s.sink != nil && s.sink.Try(ev) {
		return true
	}
	s.backlog = true
	select {
	case s.ch <- ev:
		return true
	default:
		return false
	}
}

func (s *Subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// clientBuffer is how many events a subscriber may fall behind before it
// is dropped. Frames arrive at most 4 a second per camera; events are
// pointers, so the buffer costs 8 bytes a slot.
const clientBuffer = 32

// Hub holds the replica's view of every camera's latest frame and fans
// events out to subscribers. Its methods are safe for concurrent use.
type Hub struct {
	frameTTL time.Duration
	onDrop   func()
	writers  []writer // deliver to direct subscribers

	mu      sync.RWMutex
	latest  map[preview.ESN]*Event // each camera's latest frame event
	offline map[preview.ESN]bool   // offline events already sent
	subs    map[preview.ESN]map[*Subscription]struct{}
	all     map[*Subscription]struct{}
	next    map[preview.ESN]chan struct{} // closed at the camera's next frame
	closed  bool                          // shutting down: no new subscribers
	direct  int                           // direct subscriptions so far: deals them to writers in turn
}

// New returns a hub whose frames are fresh for frameTTL after they were
// seen. onDrop, if not nil, is called for each subscriber dropped as too
// slow (the replica counts them).
func New(frameTTL time.Duration, onDrop func()) *Hub {
	if onDrop == nil {
		onDrop = func() {}
	}
	return &Hub{
		frameTTL: frameTTL,
		onDrop:   onDrop,
		writers:  make([]writer, runtime.GOMAXPROCS(0)),
		latest:   make(map[preview.ESN]*Event),
		offline:  make(map[preview.ESN]bool),
		subs:     make(map[preview.ESN]map[*Subscription]struct{}),
		all:      make(map[*Subscription]struct{}),
		next:     make(map[preview.ESN]chan struct{}),
	}
}

// Subscribe adds a subscriber to esns' events and heartbeats. abort is
// called when it is dropped as too slow, so a write it is blocked in
// ends at once rather than at its deadline. After Close it returns a
// subscription already closed, so a stream that starts during shutdown
// ends.
func (h *Hub) Subscribe(esns []preview.ESN, abort func()) *Subscription {
	return h.SubscribeDirect(esns, abort, nil)
}

// SubscribeDirect is Subscribe for a subscriber that can often take an
// event at once: a stream whose socket has room. sink.Try is called with
// each event, in order, on one of the hub's writer goroutines, and must
// not block: it takes the event or leaves it, which is then queued on
// Events as for any subscriber, with every later one until the
// subscriber, having written them, calls CaughtUp. So the sink never
// overtakes the subscriber's own writes, and a full socket holds up no one
// else. Until the first CaughtUp every event is queued: the subscriber
// writes its first events itself. A nil sink is Subscribe.
func (h *Hub) SubscribeDirect(esns []preview.ESN, abort func(), sink Sink) *Subscription {
	s := &Subscription{ch: make(chan *Event, clientBuffer), esns: esns, abort: abort, sink: sink, backlog: true}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.close()
		return s
	}
	if sink != nil {
		s.writer = h.direct % len(h.writers)
		h.direct++
	}
	for _, esn := range esns {
		set := h.subs[esn]
		if set == nil {
			set = make(map[*Subscription]struct{})
			h.subs[esn] = set
		}
		set[s] = struct{}{}
	}
	h.all[s] = struct{}{}
	return s
}

// Unsubscribe forgets s and closes its channel; it may be called after s
// was dropped or the hub closed.
func (h *Hub) Unsubscribe(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

// removeLocked forgets s and closes its channel; h.mu must be held.
func (h *Hub) removeLocked(s *Subscription) {
	for _, esn := range s.esns {
		delete(h.subs[esn], s)
		if len(h.subs[esn]) == 0 {
			delete(h.subs, esn)
		}
	}
	delete(h.all, s)
	s.close()
}

// Publish records m if it is newer than what the hub has and tells the
// camera's subscribers. It never blocks.
func (h *Hub) Publish(m Meta) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur, ok := h.latest[m.ESN]; ok && !m.TS.After(cur.Meta.TS) {
		return
	}
	ev := newEvent(m, false)
	h.latest[m.ESN] = ev
	delete(h.offline, m.ESN)
	h.fanout(h.subs[m.ESN], ev)
	if ch := h.next[m.ESN]; ch != nil {
		close(ch)
		delete(h.next, m.ESN)
	}
}

// Next returns a channel closed when the hub records a newer frame of
// esn, or when it closes; nil once it has closed. Every waiter of a camera
// shares one channel, so waiting costs a waiter nothing but itself. Take
// it before looking at Current, so that no frame falls in between.
func (h *Hub) Next(esn preview.ESN) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	ch := h.next[esn]
	if ch == nil {
		ch = make(chan struct{})
		h.next[esn] = ch
	}
	return ch
}

// fanout sends ev to subs without waiting; h.mu must be held. A
// subscriber whose buffer is full is dropped: it is not reading. Direct
// subscribers get it from their writers, after fanout returns.
func (h *Hub) fanout(subs map[*Subscription]struct{}, ev *Event) {
	var shares [][]*Subscription // direct subscribers, by writer
	for s := range subs {
		if s.sink != nil {
			if shares == nil {
				shares = make([][]*Subscription, len(h.writers))
			}
			shares[s.writer] = append(shares[s.writer], s)
			continue
		}
		if !s.deliver(ev) {
			h.dropLocked(s)
		}
	}
	now := time.Now()
	for i, share := range shares {
		if len(share) > 0 {
			h.writers[i].add(h, job{ev: ev, subs: share, at: now})
		}
	}
}

// dropLocked drops s as too slow; h.mu must be held.
func (h *Hub) dropLocked(s *Subscription) {
	if _, ok := h.all[s]; !ok {
		return // already gone
	}
	h.removeLocked(s)
	s.abort()
	h.onDrop()
}

// drop is dropLocked for the writers, which run without h.mu.
func (h *Hub) drop(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(s)
}

// Current returns the camera's latest frame and whether it is still
// fresh; the zero Meta when none is known.
func (h *Hub) Current(esn preview.ESN, now time.Time) (Meta, bool) {
	ev, fresh := h.currentEvent(esn, now)
	if ev == nil {
		return Meta{}, false
	}
	return ev.Meta, fresh
}

// currentEvent is Current as a shareable event; nil when none is known.
func (h *Hub) currentEvent(esn preview.ESN, now time.Time) (*Event, bool) {
	h.mu.RLock()
	ev := h.latest[esn]
	h.mu.RUnlock()
	if ev == nil {
		return nil, false
	}
	return ev, now.Sub(ev.Meta.SeenAt) <= h.frameTTL
}

// Sweep marks cameras whose last frame is older than the frame TTL as
// offline and tells their subscribers, once per outage.
func (h *Hub) Sweep(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for esn, ev := range h.latest {
		if now.Sub(ev.Meta.SeenAt) > h.frameTTL && !h.offline[esn] {
			h.offline[esn] = true
			h.fanout(h.subs[esn], newEvent(ev.Meta, true))
		}
	}
}

// Beat sends every subscriber a heartbeat: one ticker per replica rather
// than one per client.
func (h *Hub) Beat() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fanout(h.all, heartbeat)
}

// Close closes every subscription and refuses new ones, at shutdown, and
// returns the subscriptions it closed, so the caller can Abort those whose
// streams do not end in time. It may be called more than once.
func (h *Hub) Close() []*Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for esn, ch := range h.next {
		close(ch)
		delete(h.next, esn)
	}
	closed := make([]*Subscription, 0, len(h.all))
	for s := range h.all {
		h.removeLocked(s)
		closed = append(closed, s)
	}
	return closed
}

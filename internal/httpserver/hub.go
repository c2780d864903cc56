package httpserver

import (
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// event is what a streaming client is sent: a new frame, offline, or a
// heartbeat. One event is built per change and shared by every client, its
// SSE text encoded once, so fan-out to many clients costs no encoding.
type event struct {
	Offline bool
	Beat    bool
	Meta    meta
	sse     []byte
}

func newEvent(m meta, offline bool) *event {
	ev := &event{Meta: m, Offline: offline}
	ev.sse = encodeEvent(ev)
	return ev
}

// heartbeat is the comment that keeps idle proxies from closing a stream.
var heartbeat = &event{Beat: true, sse: []byte(": hb\n\n")}

// meta is a camera's latest frame as the replica knows it, without bytes.
type meta struct {
	ESN    preview.ESN
	TS     preview.Timestamp
	ETag   string
	SeenAt time.Time // when this replica learnt of it
}

// client is one SSE or MJPEG connection. Its channel is buffered; when it
// is full the client is dropped rather than allowed to slow the others.
type client struct {
	ch   chan *event
	esns []preview.ESN
	once sync.Once
	// abort ends a write the client's stream may be blocked in, so a
	// dropped client frees its goroutine at once rather than at its write
	// deadline. Safe to call at any time (see stream.abort).
	abort func()
}

func (c *client) close() { c.once.Do(func() { close(c.ch) }) }

// hub holds the replica's view of every camera's latest frame, fed by one
// pub/sub subscription, and fans events out to streaming clients.
type hub struct {
	frameTTL time.Duration
	onDrop   func() // counts clients dropped as too slow

	mu      sync.RWMutex
	latest  map[preview.ESN]*event // each camera's latest frame event
	offline map[preview.ESN]bool   // offline events already sent
	clients map[preview.ESN]map[*client]struct{}
	all     map[*client]struct{}
	closed  bool // shutting down: no new clients
}

func newHub(frameTTL time.Duration, onDrop func()) *hub {
	return &hub{
		frameTTL: frameTTL,
		onDrop:   onDrop,
		latest:   make(map[preview.ESN]*event),
		offline:  make(map[preview.ESN]bool),
		clients:  make(map[preview.ESN]map[*client]struct{}),
		all:      make(map[*client]struct{}),
	}
}

// clientBuffer is how many events a client may fall behind before it is
// dropped. Frames arrive at most 4 a second per camera; events are
// pointers, so the buffer costs 8 bytes a slot.
const clientBuffer = 32

// subscribe adds a client for esns. After closeAll it returns a client
// that is already closed, so a stream that starts during shutdown ends.
func (h *hub) subscribe(esns []preview.ESN, abort func()) *client {
	c := &client{ch: make(chan *event, clientBuffer), esns: esns, abort: abort}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.close()
		return c
	}
	for _, esn := range esns {
		set := h.clients[esn]
		if set == nil {
			set = make(map[*client]struct{})
			h.clients[esn] = set
		}
		set[c] = struct{}{}
	}
	h.all[c] = struct{}{}
	return c
}

func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(c)
}

// removeLocked forgets c and closes its channel; h.mu must be held.
func (h *hub) removeLocked(c *client) {
	for _, esn := range c.esns {
		delete(h.clients[esn], c)
		if len(h.clients[esn]) == 0 {
			delete(h.clients, esn)
		}
	}
	delete(h.all, c)
	c.close()
}

// publish records m if it is newer than what the hub has and tells the
// camera's clients. It never blocks.
func (h *hub) publish(m meta) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur, ok := h.latest[m.ESN]; ok && !m.TS.After(cur.Meta.TS) {
		return
	}
	ev := newEvent(m, false)
	h.latest[m.ESN] = ev
	delete(h.offline, m.ESN)
	h.fanout(h.clients[m.ESN], ev)
}

// fanout sends ev to clients without waiting; h.mu must be held. A client
// whose buffer is full is dropped: it is not reading.
func (h *hub) fanout(clients map[*client]struct{}, ev *event) {
	for c := range clients {
		select {
		case c.ch <- ev:
		default:
			h.removeLocked(c)
			c.abort()
			h.onDrop()
		}
	}
}

// current returns the camera's latest frame and whether it is still fresh.
func (h *hub) current(esn preview.ESN, now time.Time) (meta, bool) {
	ev, fresh := h.currentEvent(esn, now)
	if ev == nil {
		return meta{}, false
	}
	return ev.Meta, fresh
}

// currentEvent is current as a shareable event; nil when none is known.
func (h *hub) currentEvent(esn preview.ESN, now time.Time) (*event, bool) {
	h.mu.RLock()
	ev := h.latest[esn]
	h.mu.RUnlock()
	if ev == nil {
		return nil, false
	}
	return ev, now.Sub(ev.Meta.SeenAt) <= h.frameTTL
}

// sweep marks cameras whose last frame is older than the frame TTL as
// offline and tells their clients, once per outage.
func (h *hub) sweep(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for esn, ev := range h.latest {
		if now.Sub(ev.Meta.SeenAt) > h.frameTTL && !h.offline[esn] {
			h.offline[esn] = true
			h.fanout(h.clients[esn], newEvent(ev.Meta, true))
		}
	}
}

// beat sends every client a heartbeat: one ticker per replica rather than
// one per client.
func (h *hub) beat() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fanout(h.all, heartbeat)
}

// closeAll ends every stream and refuses new ones, at shutdown, and
// returns the clients it closed. Streams end cleanly; one stalled in a
// write ends when Server.Close aborts it.
func (h *hub) closeAll() []*client {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	closed := make([]*client, 0, len(h.all))
	for c := range h.all {
		h.removeLocked(c)
		closed = append(closed, c)
	}
	return closed
}

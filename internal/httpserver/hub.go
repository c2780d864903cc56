package httpserver

import (
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// event is what a streaming client is sent: a new frame, or offline.
type event struct {
	Offline bool
	Meta    meta
}

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
	ch   chan event
	esns []preview.ESN
	once sync.Once
}

func (c *client) close() { c.once.Do(func() { close(c.ch) }) }

// hub holds the replica's view of every camera's latest frame, fed by one
// pub/sub subscription, and fans events out to streaming clients.
type hub struct {
	frameTTL time.Duration

	mu      sync.RWMutex
	metas   map[preview.ESN]meta
	offline map[preview.ESN]bool // offline events already sent
	clients map[preview.ESN]map[*client]struct{}
}

func newHub(frameTTL time.Duration) *hub {
	return &hub{
		frameTTL: frameTTL,
		metas:    make(map[preview.ESN]meta),
		offline:  make(map[preview.ESN]bool),
		clients:  make(map[preview.ESN]map[*client]struct{}),
	}
}

// clientBuffer is how many events a client may fall behind before it is
// dropped. Frames arrive at most 4 a second per camera.
const clientBuffer = 32

func (h *hub) subscribe(esns []preview.ESN) *client {
	c := &client{ch: make(chan event, clientBuffer), esns: esns}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, esn := range esns {
		set := h.clients[esn]
		if set == nil {
			set = make(map[*client]struct{})
			h.clients[esn] = set
		}
		set[c] = struct{}{}
	}
	return c
}

func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, esn := range c.esns {
		delete(h.clients[esn], c)
		if len(h.clients[esn]) == 0 {
			delete(h.clients, esn)
		}
	}
	c.close()
}

// publish records m if it is newer than what the hub has and tells the
// camera's clients. It never blocks.
func (h *hub) publish(m meta) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur, ok := h.metas[m.ESN]; ok && !m.TS.After(cur.TS) {
		return
	}
	h.metas[m.ESN] = m
	delete(h.offline, m.ESN)
	h.fanout(m.ESN, event{Meta: m})
}

// fanout sends ev to the camera's clients; h.mu must be held.
func (h *hub) fanout(esn preview.ESN, ev event) {
	for c := range h.clients[esn] {
		select {
		case c.ch <- ev:
		default:
			h.dropLocked(c)
		}
	}
}

func (h *hub) dropLocked(c *client) {
	for _, esn := range c.esns {
		delete(h.clients[esn], c)
	}
	c.close()
}

// current returns the camera's latest frame if it is still fresh.
func (h *hub) current(esn preview.ESN, now time.Time) (meta, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m, ok := h.metas[esn]
	return m, ok && now.Sub(m.SeenAt) <= h.frameTTL
}

// sweep marks cameras whose last frame is older than the frame TTL as
// offline and tells their clients, once per outage.
func (h *hub) sweep(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for esn, m := range h.metas {
		if now.Sub(m.SeenAt) > h.frameTTL && !h.offline[esn] {
			h.offline[esn] = true
			h.fanout(esn, event{Offline: true, Meta: m})
		}
	}
}

// closeAll ends every stream, at shutdown.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for esn, set := range h.clients {
		for c := range set {
			c.close()
		}
		delete(h.clients, esn)
	}
}

// clientCount returns the number of streaming clients.
func (h *hub) clientCount() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	seen := make(map[*client]struct{})
	for _, set := range h.clients {
		for c := range set {
			seen[c] = struct{}{}
		}
	}
	return len(seen)
}

package httpserver

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/fanout"
	"github.com/camrelay/camrelay/internal/preview"
)

// maxGridCameras bounds the cameras of one /events stream.
const maxGridCameras = 200

// cameraEvents serves /preview/{esn}/events.
func (s *Server) cameraEvents(c *gin.Context) {
	slot, ok := s.widthSlot(c)
	if !ok {
		return
	}
	cam, err := s.publicCamera(c.Param("file"))
	if err != nil {
		failErr(c, err)
		return
	}
	g, ok := s.admit(c, cam)
	if !ok {
		return
	}
	s.sse(c, "/preview/{esn}/events", []preview.ESN{cam.ESN}, slot, g)
}

// gridEvents serves /events?esn=..&esn=.. (also comma-separated).
func (s *Server) gridEvents(c *gin.Context) {
	slot, ok := s.widthSlot(c)
	if !ok {
		return
	}
	var esns []preview.ESN
	for _, v := range c.QueryArray("esn") {
		for id := range strings.SplitSeq(v, ",") {
			cam, err := s.publicCamera(id)
			if err == nil && cam.Signed {
				err = preview.ErrNotPublic // only its own link shows it: answered as unknown
			}
			if err != nil {
				failErr(c, fmt.Errorf("esn %q: %w", id, err))
				return
			}
			if !slices.Contains(esns, cam.ESN) {
				esns = append(esns, cam.ESN)
			}
		}
	}
	switch {
	case len(esns) == 0:
		fail(c, http.StatusBadRequest, "give at least one esn parameter")
		return
	case len(esns) > maxGridCameras:
		fail(c, http.StatusBadRequest, fmt.Sprintf("at most %d cameras per stream", maxGridCameras))
		return
	}
	s.sse(c, "/events", esns, slot, grant{})
}

// sse streams the cameras' events: the current frames first (or waking
// for a camera followed only while watched that has none fresh: the
// stream marks it watched), then each new frame or offline notice, with
// heartbeat comments so proxies keep it open. It ends when the client goes (seen at the next write), is
// dropped as too slow, a write misses its deadline, or the replica shuts
// down. slot >= 0 (see widths.slot) puts the width in the events' image
// URLs, so clients fetch thumbnails.
// g, a signed camera's, goes into the image URLs and ends the stream.
func (s *Server) sse(c *gin.Context, route string, esns []preview.ESN, slot int, g grant) {
	release, ok := s.admitStream(c)
	if !ok {
		return
	}
	h := c.Writer.Header()
	h["Content-Type"] = eventStream
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = no
	ss := &sseStream{query: g.param()}
	if slot >= 0 {
		ss.query += "&w=" + s.widths.text[slot]
	}
	st := &ss.stream
	if err := s.startStream(c, route, st); err != nil {
		release()
		return
	}
	release = g.bound(c, st, release)
	lastID := c.GetHeader("Last-Event-ID")
	s.serveStream(st, s.metrics.sseClients, release, func() { s.sseLoop(ss, esns, lastID) })
}

// sseStream is an SSE stream with what the hub's writers need to deliver
// to it, in one object: each client costs an event few cache lines.
type sseStream struct {
	stream
	query string                            // for the image URLs (see fanout.Event.SSEWith)
	last  preview.Timestamp                 // what was sent of a one-camera stream's camera
	sent  map[preview.ESN]preview.Timestamp // of each camera, for a grid stream
}

// fresh reports whether ev was not yet sent as current, and notes it sent.
func (ss *sseStream) fresh(ev *fanout.Event) bool {
	if ev.Beat || ev.Offline {
		return true
	}
	last := ss.last
	if ss.sent != nil {
		last = ss.sent[ev.Meta.ESN]
	}
	if !ev.Meta.TS.After(last) {
		return false // already sent as current
	}
	if ss.sent != nil {
		ss.sent[ev.Meta.ESN] = ev.Meta.TS
	} else {
		ss.last = ev.Meta.TS
	}
	return true
}

// Try is the stream's fanout.Sink: the hub's writers call it with each
// event while none waits for the stream's goroutine.
func (ss *sseStream) Try(ev *fanout.Event) bool {
	if !ss.fresh(ev) {
		return true
	}
	b := ev.SSEWith(ss.query)
	if ss.chunked {
		return ss.try(ev.Chunk(ss.query), len(b))
	}
	return ss.try(b, len(b))
}

func (s *Server) sseLoop(ss *sseStream, esns []preview.ESN, lastID string) {
	defer s.interest.open(esns)()
	var sink fanout.Sink // writes events straight into the socket
	if ss.raw != nil {
		sink = ss
	}
	sub := s.hub.SubscribeDirect(esns, ss.abort, sink)
	defer s.hub.Unsubscribe(sub)
	// Set before CaughtUp: until then Try is not called.
	first, sent := s.hub.StartSSE(esns, lastID, ss.query, time.Now(), s.asleep)
	if len(esns) == 1 {
		ss.last = sent[esns[0]]
	} else {
		ss.sent = sent
	}
	if !ss.send(first...) {
		return
	}
	ss.idle()
	sub.CaughtUp()
	events := sub.Events()
	for {
		select {
		case <-ss.done:
			return
		case ev, ok := <-events:
			if !ok {
				return // dropped as too slow, or shutting down
			}
			if rest := ss.takeRest(); rest != nil {
				ok = ss.sendFramed(rest, len(ev.SSEWith(ss.query))) // Try took this event, and wrote part of it
			} else if ss.fresh(ev) {
				ok = ss.send(ev.SSEWith(ss.query))
			}
			if !ok {
				return
			}
			ss.idle()
			sub.CaughtUp()
		}
	}
}

// Shared header values; never modified.
var (
	eventStream = []string{"text/event-stream"}
	no          = []string{"no"}
)

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
	st, err := s.startStream(c, route)
	if err != nil {
		release()
		return
	}
	release = g.bound(c, st, release)
	lastID := c.GetHeader("Last-Event-ID")
	query := g.param()
	if slot >= 0 {
		query += "&w=" + s.widths.text[slot]
	}
	s.serveStream(st, s.metrics.sseClients, release, func() { s.sseLoop(st, esns, lastID, query) })
}

func (s *Server) sseLoop(st *stream, esns []preview.ESN, lastID, query string) {
	defer s.interest.open(esns)()
	var sent map[preview.ESN]preview.Timestamp // what was sent of each camera
	fresh := func(ev *fanout.Event) bool {
		if ev.Beat || ev.Offline {
			return true
		}
		if !ev.Meta.TS.After(sent[ev.Meta.ESN]) {
			return false // already sent as current
		}
		sent[ev.Meta.ESN] = ev.Meta.TS
		return true
	}
	var try func(*fanout.Event) bool // the hub's writers call it; see fanout.SubscribeDirect
	if st.raw != nil {
		try = func(ev *fanout.Event) bool {
			if !fresh(ev) {
				return true
			}
			if !st.chunked {
				return st.try(ev.SSEWith(query), len(ev.SSEWith(query)))
			}
			return st.try(ev.Chunk(query), len(ev.SSEWith(query)))
		}
	}
	sub := s.hub.SubscribeDirect(esns, st.abort, try)
	defer s.hub.Unsubscribe(sub)
	first, sent0 := s.hub.StartSSE(esns, lastID, query, time.Now(), s.asleep)
	sent = sent0 // before CaughtUp: until then try is not called
	if !st.send(first...) {
		return
	}
	st.idle()
	sub.CaughtUp()
	events := sub.Events()
	for {
		select {
		case <-st.done:
			return
		case ev, ok := <-events:
			if !ok {
				return // dropped as too slow, or shutting down
			}
			if rest := st.takeRest(); rest != nil {
				ok = st.sendFramed(rest, len(ev.SSEWith(query))) // try took this event, and wrote part of it
			} else if fresh(ev) {
				ok = st.send(ev.SSEWith(query))
			}
			if !ok {
				return
			}
			st.idle()
			sub.CaughtUp()
		}
	}
}

// Shared header values; never modified.
var (
	eventStream = []string{"text/event-stream"}
	no          = []string{"no"}
)

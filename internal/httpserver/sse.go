package httpserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/preview"
)

// maxGridCameras bounds the cameras of one /events stream.
const maxGridCameras = 200

// frameData is the JSON of a frame or offline event.
type frameData struct {
	ESN  preview.ESN       `json:"esn"`
	TS   preview.Timestamp `json:"ts"`
	URL  string            `json:"url"`
	ETag string            `json:"etag"`
}

// encodeEvent renders a hub event as SSE. The id names the camera and
// time, so a resuming client's Last-Event-ID says what it saw last. Data
// is JSON, so it holds no newline.
func encodeEvent(ev *event) []byte {
	m := ev.Meta
	d, _ := json.Marshal(frameData{ESN: m.ESN, TS: m.TS, ETag: m.ETag,
		URL: "/preview/" + string(m.ESN) + ".jpg?ts=" + string(m.TS)})
	name := "frame"
	if ev.Offline {
		name = "offline"
	}
	return fmt.Appendf(nil, "event: %s\nid: %s\ndata: %s\n\n", name, eventID(m), d)
}

func eventID(m meta) string { return string(m.ESN) + "-" + string(m.TS) }

// streamPreamble opens every SSE stream: a comment that gets the headers
// through buffering proxies at once, and the reconnection delay.
var streamPreamble = []byte(": camrelay\nretry: 2000\n\n")

// cameraEvents serves /preview/{esn}/events.
func (s *Server) cameraEvents(c *gin.Context) {
	cam, err := s.publicCamera(c.Param("file"))
	if err != nil {
		failErr(c, err)
		return
	}
	s.sse(c, "/preview/{esn}/events", []preview.ESN{cam.ESN})
}

// gridEvents serves /events?esn=..&esn=.. (also comma-separated).
func (s *Server) gridEvents(c *gin.Context) {
	var esns []preview.ESN
	for _, v := range c.QueryArray("esn") {
		for id := range strings.SplitSeq(v, ",") {
			cam, err := s.publicCamera(id)
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
	s.sse(c, "/events", esns)
}

// sse streams the cameras' events: the current frames first, then each
// new frame or offline notice, with heartbeat comments so proxies keep it
// open. It ends when the client goes (seen at the next write), is
// dropped as too slow, a write misses its deadline, or the replica shuts
// down.
func (s *Server) sse(c *gin.Context, route string, esns []preview.ESN) {
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
	lastID := c.GetHeader("Last-Event-ID")
	s.serveStream(st, s.metrics.sseClients, release, func() { s.sseLoop(st, esns, lastID) })
}

func (s *Server) sseLoop(st *stream, esns []preview.ESN, lastID string) {
	cl := s.hub.subscribe(esns, st.abort)
	defer s.hub.unsubscribe(cl)
	first, sent := s.currentEvents(esns, lastID)
	if !st.send(first...) {
		return
	}
	for {
		select {
		case <-st.done:
			return
		case ev, ok := <-cl.ch:
			if !ok {
				return // dropped as too slow, or shutting down
			}
			if !ev.Beat && !ev.Offline {
				if !ev.Meta.TS.After(sent[ev.Meta.ESN]) {
					continue // already sent as current
				}
				sent[ev.Meta.ESN] = ev.Meta.TS
			}
			if !st.send(ev.sse) {
				return
			}
		}
	}
}

// Shared header values; never modified.
var (
	eventStream = []string{"text/event-stream"}
	no          = []string{"no"}
)

// currentEvents returns what a stream starts with: the preamble, then
// each camera's current frame, or offline when it is stale; and what it
// sent of each camera. Resuming: Last-Event-ID names one camera's frame
// (a grid stream's id names the camera of its last event); that camera's
// current frame is skipped when it is that very frame and still fresh.
// Every other camera's current state is sent again: one id cannot say
// what a grid client has, and a repeated frame is harmless where a missed
// one is not.
func (s *Server) currentEvents(esns []preview.ESN, lastID string) ([][]byte, map[preview.ESN]preview.Timestamp) {
	out := [][]byte{streamPreamble}
	sent := make(map[preview.ESN]preview.Timestamp, len(esns))
	now := time.Now()
	for _, esn := range esns {
		ev, fresh := s.hub.currentEvent(esn, now)
		switch {
		case ev == nil:
			continue
		case !fresh:
			out = append(out, newEvent(ev.Meta, true).sse)
		case eventID(ev.Meta) != lastID:
			out = append(out, ev.sse)
		}
		sent[esn] = ev.Meta.TS
	}
	return out, sent
}

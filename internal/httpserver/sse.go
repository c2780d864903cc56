package httpserver

import (
	"encoding/json"
	"fmt"
	"io"
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

// writeEvent encodes one SSE event. Data is JSON, so it holds no newline.
func writeEvent(w io.Writer, name, id string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", name, id, b)
	return err
}

// eventFor renders a hub event as SSE; the id names the camera and time so
// a resuming client's Last-Event-ID says what it saw last.
func eventFor(w io.Writer, ev event) error {
	d := frameData{ESN: ev.Meta.ESN, TS: ev.Meta.TS, ETag: ev.Meta.ETag,
		URL: "/preview/" + string(ev.Meta.ESN) + ".jpg?ts=" + string(ev.Meta.TS)}
	name := "frame"
	if ev.Offline {
		name = "offline"
	}
	return writeEvent(w, name, eventID(ev.Meta), d)
}

func eventID(m meta) string { return string(m.ESN) + "-" + string(m.TS) }

// cameraEvents serves /preview/{esn}/events.
func (s *Server) cameraEvents(c *gin.Context) {
	cam, err := s.publicCamera(c.Param("file"))
	if err != nil {
		failErr(c, err)
		return
	}
	s.sse(c, []preview.ESN{cam.ESN})
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
	s.sse(c, esns)
}

// admitStream counts a streaming client, refusing past the cap.
func (s *Server) admitStream(c *gin.Context) bool {
	if s.streams.Add(1) > int64(s.cfg.MaxStreams) {
		s.streams.Add(-1)
		c.Header("Retry-After", "5")
		fail(c, http.StatusServiceUnavailable, "too many live viewers on this server")
		return false
	}
	return true
}

// sse streams the cameras' events: the current frames first (unless the
// client's Last-Event-ID shows it has one), then each new frame or
// offline notice, with heartbeat comments so proxies keep it open.
func (s *Server) sse(c *gin.Context, esns []preview.ESN) {
	if !s.admitStream(c) {
		return
	}
	defer s.streams.Add(-1)
	cl := s.hub.subscribe(esns)
	defer s.hub.unsubscribe(cl)

	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "keep-alive")
	c.Status(http.StatusOK)
	st := stream{w: c.Writer, rc: http.NewResponseController(c.Writer), timeout: s.cfg.WriteTimeout}

	lastID := c.GetHeader("Last-Event-ID")
	sent := make(map[preview.ESN]preview.Timestamp, len(esns))
	st.write(func(w io.Writer) error { _, err := io.WriteString(w, ": camrelay\nretry: 2000\n\n"); return err })
	now := time.Now()
	for _, esn := range esns {
		m, fresh := s.hub.current(esn, now)
		switch {
		case m.TS == "":
		case eventID(m) == lastID:
			sent[esn] = m.TS
		default:
			st.write(func(w io.Writer) error { return eventFor(w, event{Meta: m, Offline: !fresh}) })
			sent[esn] = m.TS
		}
	}
	if !st.flush() {
		return
	}
	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case ev, ok := <-cl.ch:
			if !ok {
				return // dropped as too slow, or shutting down
			}
			if !ev.Offline && !ev.Meta.TS.After(sent[ev.Meta.ESN]) {
				continue
			}
			sent[ev.Meta.ESN] = ev.Meta.TS
			st.write(func(w io.Writer) error { return eventFor(w, ev) })
		case <-heartbeat.C:
			st.write(func(w io.Writer) error { _, err := io.WriteString(w, ": hb\n\n"); return err })
		}
		if !st.flush() {
			return
		}
	}
}

// stream writes to a long-lived response with a deadline on every write,
// so a stalled client cannot hold its goroutine forever.
type stream struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

func (st *stream) write(fn func(io.Writer) error) {
	if st.err != nil {
		return
	}
	st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	st.err = fn(st.w)
}

func (st *stream) flush() bool {
	if st.err == nil {
		st.err = st.rc.Flush()
	}
	return st.err == nil
}

package httpserver

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/fanout"
	"github.com/camrelay/camrelay/internal/preview"
)

const (
	mjpegBoundary = "camrelayframe"
	mjpegRoute    = "/preview/{esn}.mjpg"
)

var (
	mjpegType = []string{"multipart/x-mixed-replace; boundary=" + mjpegBoundary}
	noStore   = []string{"no-cache, no-store"}
	crlf      = []byte("\r\n")
)

// mjpeg streams the camera's images as multipart/x-mixed-replace, so a
// bare <img> is live without script. Each part is one new image; offline
// and heartbeat events have no MJPEG form and are skipped.
// slot >= 0 streams thumbnails (see widths.slot).
func (s *Server) mjpeg(c *gin.Context, esn preview.ESN, slot int, g grant) {
	release, ok := s.admitStream(c)
	if !ok {
		return
	}
	h := c.Writer.Header()
	h["Content-Type"] = mjpegType
	h["Cache-Control"] = noStore
	h["X-Accel-Buffering"] = no
	h["X-Content-Type-Options"] = nosniff
	st := new(stream)
	if err := s.startStream(c, mjpegRoute, st); err != nil {
		release()
		return
	}
	release = g.bound(c, st, release)
	s.serveStream(st, s.metrics.mjpegClients, release, func() { s.mjpegLoop(st, esn, slot) })
}

func (s *Server) mjpegLoop(st *stream, esn preview.ESN, slot int) {
	defer s.interest.open([]preview.ESN{esn})()
	sub := s.hub.Subscribe([]preview.ESN{esn}, st.abort)
	defer s.hub.Unsubscribe(sub)
	var sent preview.Timestamp
	send := func(m fanout.Meta) bool {
		if !m.TS.After(sent) {
			return true
		}
		img, err := s.images.get(context.Background(), m)
		if err != nil {
			return true // skip this one; the next frame may be readable
		}
		r := &img.rendition
		if slot >= 0 {
			if r, err = s.thumbnail(img, slot); err != nil {
				return true // this frame does not decode; the next may
			}
		}
		sent = img.TS
		return st.send(r.part, r.jpeg, crlf)
	}
	if m, fresh := s.hub.Current(esn, time.Now()); fresh && !send(m) {
		return
	}
	events := sub.Events()
	for {
		select {
		case <-st.done:
			return
		case ev, ok := <-events:
			if !ok {
				return // dropped as too slow, or shutting down
			}
			if !ev.Offline && !ev.Beat && !send(ev.Meta) {
				return
			}
		}
	}
}

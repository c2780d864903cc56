package httpserver

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

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
func (s *Server) mjpeg(c *gin.Context, esn preview.ESN) {
	if !s.admitStream(c) {
		return
	}
	defer s.streams.Add(-1)
	s.metrics.mjpegClients.Inc()
	defer s.metrics.mjpegClients.Dec()
	st := s.newStream(c, mjpegRoute)
	cl := s.hub.subscribe([]preview.ESN{esn}, st.abort)
	defer s.hub.unsubscribe(cl)

	h := c.Writer.Header()
	h["Content-Type"] = mjpegType
	h["Cache-Control"] = noStore
	h["X-Accel-Buffering"] = no
	h["X-Content-Type-Options"] = nosniff
	c.Status(http.StatusOK)

	var sent preview.Timestamp
	send := func(m meta) bool {
		if !m.TS.After(sent) {
			return true
		}
		img, err := s.images.get(c.Request.Context(), m)
		if err != nil {
			return true // skip this one; the next frame may be readable
		}
		sent = img.TS
		st.write(img.part, img.JPEG, crlf)
		return st.flush()
	}
	if m, fresh := s.hub.current(esn, time.Now()); fresh && !send(m) {
		return
	}
	if !st.flush() {
		return
	}
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case ev, ok := <-cl.ch:
			if !ok {
				return // dropped as too slow, or shutting down
			}
			if !ev.Offline && !ev.Beat && !send(ev.Meta) {
				return
			}
		}
	}
}

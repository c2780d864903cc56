package httpserver

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/preview"
)

const mjpegBoundary = "camrelayframe"

// mjpeg streams the camera's images as multipart/x-mixed-replace, so a
// bare <img> is live without script.
func (s *Server) mjpeg(c *gin.Context, esn preview.ESN) {
	if !s.admitStream(c) {
		return
	}
	defer s.streams.Add(-1)
	cl := s.hub.subscribe([]preview.ESN{esn})
	defer s.hub.unsubscribe(cl)

	h := c.Writer.Header()
	h.Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	st := stream{w: c.Writer, rc: http.NewResponseController(c.Writer), timeout: s.cfg.WriteTimeout}

	var sent preview.Timestamp
	send := func(m meta) bool {
		if !m.TS.After(sent) {
			return true
		}
		f, err := s.images.get(c.Request.Context(), m)
		if err != nil {
			return true // skip this one; the next frame may be readable
		}
		sent = f.TS
		st.write(func(w io.Writer) error { return writePart(w, f.JPEG) })
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
				return
			}
			if !ev.Offline && !send(ev.Meta) {
				return
			}
		}
	}
}

// writePart writes one multipart part holding a JPEG.
func writePart(w io.Writer, jpeg []byte) error {
	if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", mjpegBoundary, len(jpeg)); err != nil {
		return err
	}
	if _, err := w.Write(jpeg); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\r\n")
	return err
}

package httpserver

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/thumb"
)

// thumbSlot is one width's thumbnail of an image: made at most once,
// however many viewers ask at once (the others wait for it), and kept,
// error included, until the image is replaced: a frame that does not
// decode is not tried again per request.
type thumbSlot struct {
	once sync.Once
	r    *rendition
	err  error
}

// thumbnail returns img at the offered width of slot i (see widths.slot).
// Its ETag is the frame's with the width, whether it was resized or, no
// wider than the width, is the frame itself; X-Image-Width says which.
// Last-Modified and X-Frame-Timestamp are the frame's.
func (s *Server) thumbnail(img *image, i int) (*rendition, error) {
	t := &img.thumbs[i]
	t.once.Do(func() { t.r, t.err = s.makeThumbnail(img, i) })
	return t.r, t.err
}

func (s *Server) makeThumbnail(img *image, i int) (*rendition, error) {
	label := s.widths.text[i]
	start := time.Now()
	t, err := thumb.Resize(img.JPEG, s.widths.px[i])
	if err != nil {
		s.metrics.thumbnails.WithLabelValues(label, "error").Inc()
		return nil, err
	}
	result := "original"
	if t.Resized {
		result = "resized"
		s.metrics.resizeSecs.WithLabelValues(label).Observe(time.Since(start).Seconds())
	}
	s.metrics.thumbnails.WithLabelValues(label, result).Inc()
	return &rendition{
		jpeg:         t.JPEG,
		etag:         []string{strings.TrimSuffix(img.ETag, `"`) + "-w" + label + `"`},
		lastModified: img.lastModified,
		timestamp:    img.timestamp,
		length:       []string{strconv.Itoa(len(t.JPEG))},
		width:        []string{strconv.Itoa(t.Width)},
		part:         mjpegPart(len(t.JPEG)),
	}, nil
}

// thumbMetrics are the thumbnails' series, labelled by offered width
// (bounded by WIDTHS), never by camera.
func thumbMetrics() (*prometheus.CounterVec, *prometheus.HistogramVec) {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "thumbnails_total",
			Help: "Thumbnails made (one per frame per width per replica) by width and result: resized, original (the frame is no wider), error (it does not decode)."},
			[]string{"width", "result"}),
		prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: ns + "resize_seconds",
			Help:    "Time to decode, resize and encode a frame to a thumbnail, by width.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25}}, []string{"width"})
}

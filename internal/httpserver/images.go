package httpserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/camrelay/camrelay/internal/fanout"
	"github.com/camrelay/camrelay/internal/preview"
)

// image is a cached frame with everything a response needs prepared once
// per frame, not per request: header values and the MJPEG part header;
// and its thumbnails, made on demand, one slot per offered width, dropped
// with it. Header value slices are shared by every response and never
// modified.
type image struct {
	preview.Frame
	rendition // the frame itself
	thumbs    [maxWidths]thumbSlot
}

// rendition is a frame in one size: its bytes and prepared headers.
type rendition struct {
	jpeg                                         []byte
	etag, lastModified, timestamp, length, width []string // width: X-Image-Width, thumbnails only
	part                                         []byte
}

func newImage(f preview.Frame) *image {
	return &image{Frame: f, rendition: rendition{
		jpeg:         f.JPEG,
		etag:         []string{f.ETag},
		lastModified: []string{f.TS.Time().Format(http.TimeFormat)},
		timestamp:    []string{string(f.TS)},
		length:       []string{strconv.Itoa(len(f.JPEG))},
		part:         mjpegPart(len(f.JPEG)),
	}}
}

func mjpegPart(n int) []byte {
	return []byte("--" + mjpegBoundary + "\r\nContent-Type: image/jpeg\r\nContent-Length: " +
		strconv.Itoa(n) + "\r\n\r\n")
}

// imageCache keeps each camera's latest image bytes. A new image is read
// from Redis once per replica, however many viewers ask for it at once.
type imageCache struct {
	store Store
	reads *prometheus.CounterVec
	group singleflight.Group

	mu     sync.RWMutex
	images map[preview.ESN]*image
}

func newImageCache(store Store, reads *prometheus.CounterVec) *imageCache {
	return &imageCache{store: store, reads: reads, images: make(map[preview.ESN]*image)}
}

// get returns the image of m, or a newer one; Redis is read only when the
// cache holds an older image.
func (c *imageCache) get(ctx context.Context, m fanout.Meta) (*image, error) {
	if img := c.cached(m); img != nil {
		return img, nil
	}
	v, err, _ := c.group.Do(string(m.ESN), func() (any, error) {
		if img := c.cached(m); img != nil {
			return img, nil
		}
		return c.read(ctx, m.ESN)
	})
	if err != nil {
		return nil, err
	}
	img := v.(*image)
	if m.TS.After(img.TS) {
		// Redis no longer has the announced frame (expired or lost).
		return nil, preview.ErrNoFrame
	}
	return img, nil
}

// read fetches the camera's frame from Redis and caches it if it is newer.
func (c *imageCache) read(ctx context.Context, esn preview.ESN) (*image, error) {
	// The read is shared by every waiter: do not let one leaving cancel it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	f, err := c.store.Frame(rctx, esn)
	switch {
	case errors.Is(err, preview.ErrNoFrame):
		c.reads.WithLabelValues("missing").Inc()
		return nil, err
	case err != nil:
		c.reads.WithLabelValues("error").Inc()
		return nil, err
	}
	c.reads.WithLabelValues("ok").Inc()
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.images[esn]
	if img == nil || f.TS.After(img.TS) {
		img = newImage(f)
		c.images[esn] = img
	}
	return img, nil
}

func (c *imageCache) cached(m fanout.Meta) *image {
	c.mu.RLock()
	img := c.images[m.ESN]
	c.mu.RUnlock()
	if img == nil || m.TS.After(img.TS) {
		return nil
	}
	return img
}

package eensim

import (
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// history is how far back a simulated camera keeps images.
const history = time.Hour

// camera is a simulated camera's timeline: frame k exists at
// Unix epoch + phase + k×interval, in whole milliseconds, once that time
// has passed. Frames are rendered on first request and the newest few kept.
type camera struct {
	Camera
	phase time.Duration

	mu    sync.Mutex
	cache [4]cachedFrame
	next  int
}

type cachedFrame struct {
	at   time.Time
	jpeg []byte
}

func newCamera(c Camera, phase time.Duration) *camera {
	return &camera{Camera: c, phase: phase}
}

// latest returns the newest frame time at or before t.
func (c *camera) latest(t time.Time) time.Time {
	since := t.Sub(time.UnixMilli(0).Add(c.phase))
	return time.UnixMilli(0).Add(c.phase + since/c.Interval*c.Interval).UTC()
}

// after returns the first frame time strictly after t.
func (c *camera) after(t time.Time) time.Time {
	return c.latest(t).Add(c.Interval)
}

// isFrame reports whether a frame exists exactly at t.
func (c *camera) isFrame(t time.Time) bool { return c.latest(t).Equal(t) }

// jpeg returns the frame at t, rendering it once.
func (c *camera) jpeg(r Renderer, t time.Time) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.cache {
		if f.jpeg != nil && f.at.Equal(t) {
			return f.jpeg
		}
	}
	b := r.Frame(string(c.ESN), c.Name, t)
	c.cache[c.next] = cachedFrame{at: t, jpeg: b}
	c.next = (c.next + 1) % len(c.cache)
	return b
}

// ts formats a frame time the way EEN does.
func ts(t time.Time) preview.Timestamp { return preview.FormatTimestamp(t) }

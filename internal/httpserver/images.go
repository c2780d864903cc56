package httpserver

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/camrelay/camrelay/internal/preview"
)

// imageCache keeps each camera's latest image bytes. A new image is read
// from Redis once per replica, however many viewers ask for it at once.
type imageCache struct {
	store Store
	group singleflight.Group

	mu     sync.RWMutex
	frames map[preview.ESN]preview.Frame
}

func newImageCache(store Store) *imageCache {
	return &imageCache{store: store, frames: make(map[preview.ESN]preview.Frame)}
}

// get returns the image of m, or a newer one; Redis is read only when the
// cache holds an older image.
func (c *imageCache) get(ctx context.Context, m meta) (preview.Frame, error) {
	if f, ok := c.cached(m); ok {
		return f, nil
	}
	v, err, _ := c.group.Do(string(m.ESN), func() (any, error) {
		if f, ok := c.cached(m); ok {
			return f, nil
		}
		// The read is shared by every waiter: do not let one leaving cancel it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		f, err := c.store.Frame(rctx, m.ESN)
		if err != nil {
			return preview.Frame{}, err
		}
		c.mu.Lock()
		if cur, ok := c.frames[m.ESN]; !ok || f.TS.After(cur.TS) {
			c.frames[m.ESN] = f
		}
		c.mu.Unlock()
		return f, nil
	})
	if err != nil {
		return preview.Frame{}, err
	}
	f := v.(preview.Frame)
	if m.TS.After(f.TS) {
		// Redis no longer has the announced frame (expired or lost).
		return preview.Frame{}, preview.ErrNoFrame
	}
	return f, nil
}

func (c *imageCache) cached(m meta) (preview.Frame, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f, ok := c.frames[m.ESN]
	return f, ok && !m.TS.After(f.TS)
}

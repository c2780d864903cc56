package testbed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// FrameWriter stores frames the way a fetcher does: it takes the camera's
// lock, then writes through the fenced script, which also publishes the
// frame notice. After a lost lock (a Redis restart) it takes the lock again.
type FrameWriter struct {
	Store   *redisstore.Store
	TTL     time.Duration // each frame's time to live
	LockTTL time.Duration // how long a lock it takes lasts
	Clock   time.Time     // the last frame's EEN time; each frame adds a millisecond
	fence   map[preview.ESN]string
}

// NewFrameWriter writes frames of ttl to store, holding locks of lockTTL.
// Frame times start a minute ago (set Clock to change that).
func NewFrameWriter(store *redisstore.Store, ttl, lockTTL time.Duration) *FrameWriter {
	return &FrameWriter{Store: store, TTL: ttl, LockTTL: lockTTL,
		fence: make(map[preview.ESN]string), Clock: time.Now().Add(-time.Minute)}
}

// Save stores body as esn's next frame. A failed write keeps its frame
// time, so a retry stores the same frame.
func (w *FrameWriter) Save(ctx context.Context, esn preview.ESN, body []byte) (preview.Frame, error) {
	ts := w.Clock.Add(time.Millisecond)
	f := preview.NewFrame(esn, preview.FormatTimestamp(ts), body, time.Now())
	fence, ok := w.fence[esn]
	if !ok {
		lease, err := w.Store.Locker().Obtain(ctx, esn, w.LockTTL)
		if err != nil {
			return f, fmt.Errorf("taking %s's lock: %w", esn, err)
		}
		fence = lease.Fence()
		w.fence[esn] = fence
	}
	err := w.Store.SaveFrame(ctx, fence, f, w.TTL)
	if errors.Is(err, preview.ErrLockLost) {
		delete(w.fence, esn) // lost with a Redis restart: take it again
	}
	if err == nil {
		w.Clock = ts
	}
	return f, err
}

// SeenFrame is a frame notice as Redis published it, with when it was heard.
type SeenFrame struct {
	ESN preview.ESN
	TS  preview.Timestamp
	At  time.Time
}

// FrameWatch records every frame notice published under a key prefix.
type FrameWatch struct {
	mu     sync.Mutex
	all    []SeenFrame
	byCam  map[preview.ESN][]SeenFrame
	cancel context.CancelFunc
	done   chan struct{}
}

// WatchFrames subscribes to prefix's frame notices, as a web replica
// does (on a Redis Cluster: each public camera's sharded channel), and
// records them until Close or ctx ends; it returns once subscribed.
func WatchFrames(ctx context.Context, rdb redis.UniversalClient, prefix string) (*FrameWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &FrameWatch{byCam: make(map[preview.ESN][]SeenFrame), cancel: cancel, done: make(chan struct{})}
	subscribed := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		defer close(w.done)
		errc <- redisstore.New(rdb, prefix).Watch(ctx, func(ev preview.FrameEvent) {
			w.record(ev, time.Now())
		}, func() { once.Do(func() { close(subscribed) }) })
	}()
	select {
	case <-subscribed:
		return w, nil
	case err := <-errc:
		cancel()
		return nil, fmt.Errorf("subscribing to frame notices: %w", err)
	}
}

// Watch is WatchFrames for a test, closed when t ends.
func Watch(t testing.TB, rdb redis.UniversalClient, prefix string) *FrameWatch {
	t.Helper()
	w, err := WatchFrames(context.Background(), rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func (w *FrameWatch) record(ev preview.FrameEvent, at time.Time) {
	f := SeenFrame{ESN: ev.ESN, TS: ev.TS, At: at}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all = append(w.all, f)
	w.byCam[f.ESN] = append(w.byCam[f.ESN], f)
}

// Close stops watching; it may be called more than once.
func (w *FrameWatch) Close() { w.cancel(); <-w.done }

// Seen returns every notice so far, in the order heard.
func (w *FrameWatch) Seen() []SeenFrame {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]SeenFrame(nil), w.all...)
}

// After returns the first frame of esn heard after t.
func (w *FrameWatch) After(esn preview.ESN, t time.Time) (SeenFrame, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.byCam[esn] {
		if f.At.After(t) {
			return f, true
		}
	}
	return SeenFrame{}, false
}

// InOrder checks that esn's frames were published in strictly increasing
// time order: no write ever went back in time.
func (w *FrameWatch) InOrder(esn preview.ESN) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.byCam[esn]
	for i := 1; i < len(ev); i++ {
		if !ev[i].TS.After(ev[i-1].TS) {
			return fmt.Errorf("frame %s published after %s", ev[i].TS, ev[i-1].TS)
		}
	}
	return nil
}

// Frames returns esn's notices so far, in the order heard.
func (w *FrameWatch) Frames(esn preview.ESN) []SeenFrame {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]SeenFrame(nil), w.byCam[esn]...)
}

// Count is how many notices were heard so far.
func (w *FrameWatch) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.all)
}

// MaxGap returns the longest time between two notices of esn, counting
// those heard after since and the last one before it.
func (w *FrameWatch) MaxGap(esn preview.ESN, since time.Time) time.Duration {
	var gap time.Duration
	var prev time.Time
	for _, f := range w.Frames(esn) {
		if f.At.Before(since) {
			prev = f.At
			continue
		}
		if !prev.IsZero() {
			gap = max(gap, f.At.Sub(prev))
		}
		prev = f.At
	}
	return gap
}

package httpserver

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// fakeStore is an in-memory Store whose pub/sub the test drives.
type fakeStore struct {
	mu         sync.Mutex
	frames     map[preview.ESN]preview.Frame
	cams       []preview.Camera
	events     chan preview.FrameEvent
	frameReads atomic.Int64
	readGate   chan struct{} // when set, Frame waits for it: to pile up readers
	resub      chan struct{} // each receive is a resubscription
}

func newFakeStore(cams ...preview.Camera) *fakeStore {
	return &fakeStore{frames: make(map[preview.ESN]preview.Frame), cams: cams,
		events: make(chan preview.FrameEvent, 64), resub: make(chan struct{})}
}

// put stores a frame and publishes it, as the fetcher's script does.
func (s *fakeStore) put(esn preview.ESN, ts string, body string) preview.Frame {
	f := s.putQuiet(esn, ts, body)
	s.events <- preview.FrameEvent{ESN: esn, TS: f.TS, ETag: f.ETag, Size: len(f.JPEG)}
	return f
}

// putQuiet stores a frame whose notification is lost, as happens while
// the subscription is down.
func (s *fakeStore) putQuiet(esn preview.ESN, ts string, body string) preview.Frame {
	f := preview.NewFrame(esn, preview.Timestamp(ts), []byte("\xff\xd8\xff"+body), time.Now())
	s.mu.Lock()
	s.frames[esn] = f
	s.mu.Unlock()
	return f
}

func (s *fakeStore) Frame(ctx context.Context, esn preview.ESN) (preview.Frame, error) {
	s.frameReads.Add(1)
	if s.readGate != nil {
		<-s.readGate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.frames[esn]
	if !ok {
		return f, preview.ErrNoFrame
	}
	return f, nil
}

func (s *fakeStore) FrameMeta(ctx context.Context, esn preview.ESN) (preview.Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.frames[esn]
	if !ok {
		return f, preview.ErrNoFrame
	}
	f.JPEG = nil
	return f, nil
}

func (s *fakeStore) Cameras(ctx context.Context, maxAge time.Duration, now time.Time) ([]preview.Camera, error) {
	return s.cams, nil
}

func (s *fakeStore) Ping(ctx context.Context) error { return nil }

func (s *fakeStore) Watch(ctx context.Context, event func(preview.FrameEvent), subscribed func()) error {
	subscribed()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-s.events:
			event(ev)
		case <-s.resub:
			subscribed()
		}
	}
}

var _ Store = (*fakeStore)(nil)

package httpserver

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/preview"
)

// Marker tells the fetchers that a camera is watched (redisstore.Store):
// it sets the camera's watch key for ttl and, when the key was absent,
// wakes the fetchers (woke).
type Marker interface {
	MarkWatched(ctx context.Context, esn preview.ESN, ttl time.Duration) (woke bool, err error)
}

// interest is this replica's interest in cameras: a camera is watched
// while a stream of it is open here, and for WatchTTL after a still image
// of it was served or its last stream closed. Requests only touch atomics;
// one goroutine (run) tells Redis, at most once per camera per interval
// however many viewers there are, so Redis load does not grow with them.
// A nil *interest (no Marker) records nothing.
type interest struct {
	marker Marker
	ttl    time.Duration // WatchTTL
	every  time.Duration // between two marks of a camera (a pass may make one an eighth early)
	public func(preview.ESN) bool
	cams   sync.Map // preview.ESN → *camInterest; public cameras only, never removed
	kick   chan struct{}
	forget atomic.Bool // Redis may have lost the keys: mark again at once
	log    *slog.Logger
	marks  *prometheus.CounterVec // by result
	wakes  prometheus.Counter
}

// camInterest is one camera's interest. The fields requests write are
// atomic; the marker's own are plain.
type camInterest struct {
	esn     preview.ESN
	streams atomic.Int32
	used    atomic.Int64 // unix ns of the latest still served or stream closed
	queued  atomic.Bool  // the marker's schedule holds it: no need to wake the marker

	covered  int64 // unix ns of the interest the last mark covered (the key lasts until covered+ttl)
	markedAt int64 // unix ns of the last mark
}

// maxMarkEvery caps the interval between marks, so that a key Redis lost
// (a restart the replica did not notice) delays a wake by no more;
// minMarkEvery keeps a tiny WatchTTL from making the marker spin.
const (
	maxMarkEvery = 5 * time.Second
	minMarkEvery = 100 * time.Millisecond
)

// newInterest returns the replica's interest, nil without a Marker.
func (s *Server) newInterest() *interest {
	if s.cfg.Marker == nil {
		return nil
	}
	return newInterest(s.cfg.Marker, s.cfg.WatchTTL, s.isPublic, s.log, s.metrics)
}

// newInterest marks through m the cameras public says are public, each
// about once every WatchTTL/3, but at least every maxMarkEvery.
func newInterest(m Marker, ttl time.Duration, public func(preview.ESN) bool, log *slog.Logger, ms *metrics) *interest {
	every := max(min(ttl/3, maxMarkEvery), minMarkEvery)
	return &interest{marker: m, ttl: ttl, every: every, public: public,
		kick: make(chan struct{}, 1), log: log, marks: ms.marks, wakes: ms.wakes}
}

// touch records that a still image of esn is being served at now.
func (in *interest) touch(esn preview.ESN, now time.Time) {
	if in == nil {
		return
	}
	ci := in.get(esn)
	raise(&ci.used, now.UnixNano())
	in.enqueue(ci)
}

// open records streams of esns opening; the returned func records them
// closing, which counts as a use then (the camera stays watched WatchTTL
// after its last viewer leaves).
func (in *interest) open(esns []preview.ESN) (closed func()) {
	if in == nil {
		return func() {}
	}
	cis := make([]*camInterest, len(esns))
	for i, esn := range esns {
		cis[i] = in.get(esn)
		cis[i].streams.Add(1)
		in.enqueue(cis[i])
	}
	return func() {
		now := time.Now().UnixNano()
		for _, ci := range cis {
			raise(&ci.used, now) // before the count drops: never seen idle with an old use
			ci.streams.Add(-1)
			in.enqueue(ci)
		}
	}
}

// remarkAll makes the marker mark every watched camera again at once:
// after a Redis reconnect, the watch keys may be gone.
func (in *interest) remarkAll() {
	if in == nil {
		return
	}
	in.forget.Store(true)
	in.wake()
}

func (in *interest) get(esn preview.ESN) *camInterest {
	if v, ok := in.cams.Load(esn); ok {
		return v.(*camInterest)
	}
	v, _ := in.cams.LoadOrStore(esn, &camInterest{esn: esn})
	return v.(*camInterest)
}

// enqueue wakes the marker unless its schedule holds ci already: a
// camera's first viewer is marked at once, later ones cost an atomic load.
func (in *interest) enqueue(ci *camInterest) {
	if !ci.queued.Load() && ci.queued.CompareAndSwap(false, true) {
		in.wake()
	}
}

func (in *interest) wake() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// raise stores v in a unless a holds a time less than a millisecond
// earlier, so that many requests at once rarely write the same word.
func raise(a *atomic.Int64, v int64) {
	for old := a.Load(); old < v-int64(time.Millisecond); old = a.Load() {
		if a.CompareAndSwap(old, v) {
			return
		}
	}
}

// Package fetcher follows public cameras upstream and stores their frames:
// one leader per camera, chosen by a Redis lock, writing through a fenced
// script so a fetcher that lost its lead can never overwrite a newer frame.
// Cameras are spread evenly over the live fetchers.
package fetcher

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/preview"
)

// Source is the upstream image API (een.Client). Next blocks until an
// image newer than ts exists, or fails with an error matching
// preview.ErrPollTimeout. A login the upstream refuses fails with an error
// matching preview.ErrLoginRefused, a body over its cap with one matching
// preview.ErrTooLarge; an answer other than success carries an
// UpstreamError.
type Source interface {
	Prev(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error)
	Next(ctx context.Context, esn preview.ESN, ts string) (preview.Image, error)
}

// UpstreamError is an upstream answer other than success (een.StatusError),
// found in an error chain with errors.As: it tells whether to retry and
// after how long.
type UpstreamError interface {
	error
	StatusCode() int           // the HTTP status, which labels the error metric
	Retryable() bool           // the same call may succeed later
	RetryAfter() time.Duration // the wait the upstream asked for, 0 when none
}

// Store is what a fetcher needs of Redis besides locks (redisstore.Store).
type Store interface {
	SaveFrame(ctx context.Context, fence string, f preview.Frame, ttl time.Duration) error
	PublishCameras(ctx context.Context, cams []preview.Camera, now time.Time) error
	Heartbeat(ctx context.Context, id string, window time.Duration) (ids []string, joined bool, err error)
	FollowLists(ctx context.Context, id string, cams []preview.ESN, live, want []string) (lists map[string][]preview.ESN, stored bool, err error)
	Leave(ctx context.Context, id string) error
	// WatchTTLs and Wakes serve FETCH=watched: how long each camera's
	// watch mark still lives (0: nobody watches), and the wake notices.
	WatchTTLs(ctx context.Context, esns []preview.ESN) ([]time.Duration, error)
	Wakes(ctx context.Context, wake func(preview.ESN), subscribed func()) error
}

// Locker hands out per-camera leader locks (redisstore.Locker).
type Locker interface {
	Obtain(ctx context.Context, esn preview.ESN, ttl time.Duration) (preview.Lease, error)
	TTL(ctx context.Context, esn preview.ESN) (time.Duration, error)
}

// Config tunes a Fetcher. Zero durations take the defaults.
type Config struct {
	ID          string // names this fetcher among the live ones; must be unique
	Cameras     []preview.Camera
	FrameTTL    time.Duration // how long a stored frame lives; default 15 s
	LockTTL     time.Duration // leader lock lifetime; default 5 s
	MaxBehind   time.Duration // jump to "now" when further behind; default 2 s
	MaxUpstream int           // upstream calls in flight at once; default 4,096
	Credentials Credentials   // checked at start and while refused; nil: none
	// WatchedOnly (FETCH=watched) follows a camera only while someone
	// watches it (its watch mark lives) or it is pinned (Camera.Always).
	WatchedOnly bool
	WatchTTL    time.Duration // the replicas' WATCH_TTL; default preview.DefaultWatchTTL
	Logger      *slog.Logger
	Registry    prometheus.Registerer // default: a private registry
}

// Fetcher follows the cameras it leads.
type Fetcher struct {
	cfg      Config
	src      Source
	store    Store
	locks    Locker
	log      *slog.Logger
	metrics  *metrics
	view     *view
	pace     pacer
	upstream chan struct{} // semaphore bounding upstream calls
	announce chan struct{} // asks publishLoop to announce the cameras now
	interest *interest     // who watches the cameras followed only while watched
	recheck  chan struct{} // asks marksLoop to read the watch marks now

	mu    sync.Mutex
	state map[preview.ESN]*CameraState
	beats beatHealth // the heartbeat's failures, for Unwritable

	// TestSignals are for tests only (Init before Run); production code
	// never initialises them, which makes each signal a nil check.
	TestSignals TestSignals
}

// CameraState is what a fetcher knows about one camera.
type CameraState struct {
	Assigned     bool   // this fetcher should lead it
	State        string // StatePinned, StateWatched or StateAsleep
	Followers    int    // live fetchers whose lists are known that list it, this one included
	Leading      bool
	LeadingSince time.Time `json:",omitzero"` // when the current lead began
	LastTS       preview.Timestamp
	Stored       int64
	StoredAt     time.Time `json:",omitzero"` // when this fetcher last stored a frame of it
	Errors       int64
	LastError    string
}

// New builds a fetcher; Run starts it.
func New(cfg Config, src Source, store Store, locks Locker) *Fetcher {
	cfg.FrameTTL = cmp.Or(cfg.FrameTTL, preview.DefaultFrameTTL)
	cfg.LockTTL = cmp.Or(cfg.LockTTL, 5*time.Second)
	cfg.MaxBehind = cmp.Or(cfg.MaxBehind, 2*time.Second)
	cfg.MaxUpstream = cmp.Or(cfg.MaxUpstream, 4096)
	cfg.WatchTTL = cmp.Or(cfg.WatchTTL, preview.DefaultWatchTTL)
	cfg.Cameras = slices.Clone(cfg.Cameras)
	for i, c := range cfg.Cameras {
		cfg.Cameras[i].Watched = cfg.WatchedOnly && !c.Always
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	log := cmp.Or(cfg.Logger, slog.Default()).With("fetcher_id", cfg.ID)
	f := &Fetcher{
		cfg: cfg, src: src, store: store, locks: locks, log: log,
		metrics:  newMetrics(cfg.Registry),
		view:     newView(),
		pace:     pacer{every: 20 * time.Millisecond},
		upstream: make(chan struct{}, cfg.MaxUpstream),
		announce: make(chan struct{}, 1),
		interest: newInterest(cfg.Cameras),
		recheck:  make(chan struct{}, 1),
		state:    make(map[preview.ESN]*CameraState),
	}
	for _, c := range cfg.Cameras {
		f.state[c.ESN] = &CameraState{}
		f.showState(c.ESN)
		if c.Watched {
			f.metrics.wakeups.WithLabelValues(string(c.ESN)) // 0 from the start
		}
	}
	return f
}

// Run follows cameras until ctx ends, then releases every lock it holds
// and leaves the live set, so other fetchers take over at once.
func (f *Fetcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	checked := make(chan struct{})
	wg.Go(func() { f.publishLoop(ctx) })
	wg.Go(func() { f.credentialsLoop(ctx, checked) })
	wg.Go(func() { f.membershipLoop(ctx, checked) })
	if slices.ContainsFunc(f.cfg.Cameras, func(c preview.Camera) bool { return c.Watched }) {
		wg.Go(func() { f.wakeLoop(ctx) })
		wg.Go(func() { f.marksLoop(ctx) })
	}
	for _, c := range f.cfg.Cameras {
		wg.Go(func() { f.cameraLoop(ctx, c) })
	}
	wg.Wait()
	return nil
}

// State returns a copy of every camera's state.
func (f *Fetcher) State() map[preview.ESN]CameraState {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[preview.ESN]CameraState, len(f.state))
	for k, v := range f.state {
		out[k] = *v
	}
	return out
}

func (f *Fetcher) update(esn preview.ESN, fn func(*CameraState)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.state[esn])
}

// publishInterval is how often fetchers re-announce their cameras; web
// replicas drop a camera not announced for a few minutes.
const publishInterval = 10 * time.Second

// PublishCameras puts the configured cameras on the public allow-list now,
// marked as this fetcher follows them (Watched: only while watched). Run
// does it too; a caller that needs them listed before Run (the all-in-one,
// whose web part reads the list as it starts) calls it first.
func (f *Fetcher) PublishCameras(ctx context.Context) error {
	return f.store.PublishCameras(ctx, f.cfg.Cameras, time.Now())
}

// publishLoop keeps the configured cameras on the public allow-list, and
// puts them back at once when Redis returns from an outage (it may have
// come back empty).
func (f *Fetcher) publishLoop(ctx context.Context) {
	t := time.NewTicker(publishInterval)
	defer t.Stop()
	for {
		if err := f.PublishCameras(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("fetcher: publishing cameras failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.announce:
		}
	}
}

// isRetryable tells upstream trouble worth backing off from.
func isRetryable(err error) bool {
	if ue, ok := asUpstream(err); ok {
		return ue.Retryable()
	}
	return true // network errors, timeouts
}

// retryAfter returns the wait the upstream asked for in err, or 0.
func retryAfter(err error) time.Duration {
	if ue, ok := asUpstream(err); ok {
		return ue.RetryAfter()
	}
	return 0
}

// statusCode returns the upstream's status in err, or 0.
func statusCode(err error) int {
	if ue, ok := asUpstream(err); ok {
		return ue.StatusCode()
	}
	return 0
}

func asUpstream(err error) (UpstreamError, bool) {
	var ue UpstreamError
	return ue, errors.As(err, &ue)
}

// Package httpserver is a camrelay web replica: it serves the latest
// images, MJPEG and Server-Sent Events from what Redis holds, keeping the
// hot path in memory so viewers cost Redis nothing but each new image once.
package httpserver

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/fanout"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/signing"
)

// Store is what a replica needs of Redis (redisstore.Store).
type Store interface {
	Frame(ctx context.Context, esn preview.ESN) (preview.Frame, error)
	FrameMeta(ctx context.Context, esn preview.ESN) (preview.Frame, error)
	Cameras(ctx context.Context, maxAge time.Duration, now time.Time) ([]preview.Camera, error)
	Ping(ctx context.Context) error
	Watch(ctx context.Context, event func(preview.FrameEvent), subscribed func()) error
}

// Config tunes a replica. Zero values take the defaults.
type Config struct {
	FrameTTL        time.Duration // a frame older than this is not served; default 15 s
	AllowListMaxAge time.Duration // a camera no fetcher announced for this long is not public; default 3 min
	MaxStreams      int           // concurrent SSE + MJPEG clients; default 10,000
	// MaxStreamsPerClient caps one address's streams (429 beyond); default 100.
	MaxStreamsPerClient int
	// TrustedProxies are the load balancers (CIDRs or addresses) whose
	// X-Forwarded-For names the client; default none: the peer address is
	// the client, so nobody can dodge the per-client cap with a header.
	TrustedProxies []string
	// AllowedOrigins are the origins whose pages may read the replica's
	// answers (CORS); default, or "*" among them: any origin.
	AllowedOrigins  []string
	Heartbeat       time.Duration // SSE comment interval; default 15 s
	WriteTimeout    time.Duration // per write on a stream; default 10 s
	RefreshInterval time.Duration // allow-list reload and Redis check; default 2 s
	// Marker, when set, is told which cameras this replica's viewers
	// watch (redisstore.Store), for fetchers that follow a camera only
	// while someone watches it; nil: the replica tells nobody.
	Marker Marker
	// WatchTTL is how long a camera stays watched after a still image of
	// it was served or its last stream closed; default 30 s. Fetchers use
	// the same setting.
	WatchTTL time.Duration
	// ColdWait is how long a still-image request for a camera followed
	// only while watched, with no fresh frame, waits for one (the camera
	// is waking up) before it answers 503; default 3 s; negative: no wait.
	ColdWait time.Duration
	// MaxColdWaits caps the requests waiting so at once (503 at once
	// beyond); default 1,000.
	MaxColdWaits int
	// CacheMaxAge lets shared caches keep a still this long (Cache-Control
	// public, max-age); default 0: no-cache, every request revalidates.
	CacheMaxAge time.Duration
	// Widths are the thumbnail widths offered (?w=), at most 8, each
	// from MinWidth to MaxWidth (ParseWidths); default DefaultWidths.
	Widths []int
	// SigningKeys check the links of signed cameras (SIGNING_KEYS);
	// without keys no signed camera's link is valid.
	SigningKeys signing.Keys
	Logger      *slog.Logger
	// Registry, when set, receives the replica's metrics (the all-in-one
	// shares one with its fetcher); otherwise the replica has its own,
	// with the Go and process collectors.
	Registry *prometheus.Registry
}

// Server is one web replica.
type Server struct {
	cfg        Config
	store      Store
	log        *slog.Logger
	hub        *fanout.Hub
	images     *imageCache
	stillCache []string // a still's Cache-Control, from CacheMaxAge
	widths     widths   // thumbnail widths offered
	metrics    *metrics
	engine     *gin.Engine
	cameras    atomic.Pointer[map[preview.ESN]preview.Camera]
	streams    atomic.Int64 // admitted streams, for MaxStreams
	live       tracker      // running streams, for Close
	perClient  clientSlots  // live streams per client address
	anyOrigin  bool         // CORS: every origin allowed
	interest   *interest    // nil without a Marker
	coldWaits  atomic.Int64 // requests waiting for a waking camera's first frame

	subscribed atomic.Bool  // a pub/sub subscription is live and state re-read
	redisUp    atomic.Bool  // Redis answered the last check
	downSince  atomic.Int64 // unix ns the failing checks began; 0 while Redis answers or before the first check
	lastPing   atomic.Int64 // unix ms of the last successful Redis check
	reload     chan struct{}

	// expiry is a still's X-Accel-Expires; nil when not cacheable.
	expiry *nginxExpiry

	// TestSignals are for tests only (Init before Run); production code
	// never initialises them, which makes each signal a nil check.
	TestSignals TestSignals
}

// New builds a replica; Run feeds it from Redis and Handler serves it.
func New(cfg Config, store Store) *Server {
	cfg.FrameTTL = cmp.Or(cfg.FrameTTL, preview.DefaultFrameTTL)
	cfg.AllowListMaxAge = cmp.Or(cfg.AllowListMaxAge, 3*time.Minute)
	cfg.MaxStreams = cmp.Or(cfg.MaxStreams, 10000)
	cfg.MaxStreamsPerClient = cmp.Or(cfg.MaxStreamsPerClient, 100)
	anyOrigin := len(cfg.AllowedOrigins) == 0 || slices.Contains(cfg.AllowedOrigins, "*")
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, 15*time.Second)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, 10*time.Second)
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, 2*time.Second)
	cfg.WatchTTL = cmp.Or(cfg.WatchTTL, preview.DefaultWatchTTL)
	cfg.ColdWait = cmp.Or(cfg.ColdWait, DefaultColdWait)
	cfg.MaxColdWaits = cmp.Or(cfg.MaxColdWaits, 1000)
	if len(cfg.Widths) == 0 {
		cfg.Widths = DefaultWidths
	}
	if len(cfg.Widths) > maxWidths {
		panic("httpserver: more than 8 Config.Widths; ParseWidths refuses them") // a wiring mistake
	}
	s := &Server{
		anyOrigin:  anyOrigin,
		cfg:        cfg,
		store:      store,
		log:        cmp.Or(cfg.Logger, slog.Default()),
		reload:     make(chan struct{}, 1),
		stillCache: stillCacheControl(cfg.CacheMaxAge),
		widths:     newWidths(cfg.Widths),
		expiry:     newNginxExpiry(cfg.CacheMaxAge),
	}
	s.metrics = newMetrics(cfg.Registry, s)
	s.hub = fanout.New(cfg.FrameTTL, s.metrics.dropped.Inc)
	s.images = newImageCache(store, s.metrics.frameReads)
	s.interest = s.newInterest()
	s.engine = s.routes()
	return s
}

// DefaultColdWait is how long a still-image request waits for the first
// frame of a camera waking up when Config.ColdWait is not set.
const DefaultColdWait = 3 * time.Second

// Handler serves the replica's routes.
func (s *Server) Handler() http.Handler { return s.engine }

// Close ends every stream cleanly and refuses new ones, so a graceful
// HTTP shutdown can finish and viewers reconnect to another replica. It
// returns once every stream has ended: a stream stalled in a write is cut
// off after shutdownGrace. Register it with http.Server.RegisterOnShutdown;
// Run calls it too when its context ends. It may be called more than once.
func (s *Server) Close() {
	closed := s.hub.Close()
	select {
	case <-s.live.idle():
		return
	case <-time.After(shutdownGrace):
	}
	for _, sub := range closed {
		sub.Abort()
	}
	<-s.live.idle()
}

const shutdownGrace = time.Second

// tracker counts running streams and tells when there are none.
type tracker struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed while n == 0; nil means closed
}

func (t *tracker) add() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n++; t.n == 1 {
		t.zero = make(chan struct{})
	}
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n--; t.n == 0 {
		close(t.zero)
	}
}

func (t *tracker) idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return closedChan
	}
	return t.zero
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// NewHTTPServer wraps h in an http.Server with the timeouts a public
// server needs. Streams set their own per-write deadlines.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// ready reports whether the replica can serve current state: subscribed,
// state re-read, and Redis answering now and recently.
func (s *Server) ready(now time.Time) bool { return s.notReady(now) == "" }

// notReady says why the replica is not ready, "" when it is.
func (s *Server) notReady(now time.Time) string {
	switch {
	case s.redisDown():
		return "Redis unreachable"
	case !s.redisUp.Load() || now.Sub(time.UnixMilli(s.lastPing.Load())) >= 2*s.cfg.RefreshInterval+time.Second:
		return "waiting for Redis to answer"
	case !s.subscribed.Load() || s.cameras.Load() == nil:
		return "subscribing to frame notices"
	}
	return ""
}

// allowList returns the public cameras as last read from Redis. Before
// the first read answers it cannot tell a public camera from another, so
// it says why instead.
func (s *Server) allowList() (map[preview.ESN]preview.Camera, error) {
	switch m := s.cameras.Load(); {
	case m != nil:
		return *m, nil
	case s.redisDown():
		return nil, errRedisDown
	default:
		return nil, errNoAllowList
	}
}

// noFrame explains why no fresh image can be served: while Redis is
// down, that is the reason, whatever the symptom (err).
func (s *Server) noFrame(err error) error {
	if s.redisDown() {
		return fmt.Errorf("%w: %w", errRedisDown, err)
	}
	return err
}

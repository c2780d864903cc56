package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/settings"
)

// fetcherConfig is the fetcher's configuration.
type fetcherConfig struct {
	sharedConfig
	AdminAddr   string
	Cameras     []preview.Camera
	LockTTL     time.Duration
	MaxUpstream int
	Fetch       string        // FETCH: always or watched
	WatchTTL    time.Duration // WATCH_TTL, the replicas' too
	API         string        // EEN_API: "v1" or "v3"
	EEN         een.Config    // v1
	V3          eenv3.Config  // v3
	// RefreshToken (EEN_REFRESH_TOKEN) seeds the v3 grant when Redis
	// holds no token set; it is presented once at most.
	RefreshToken string
	baseURL      string // EEN_BASE_URL as set: v1 and v3 default it apart
}

// bindFetcher declares the fetcher's own settings on s (bindShared the
// shared ones).
func bindFetcher(s *settings.Set, c *fetcherConfig, cameras *string) {
	s.String(cameras, "cameras", "CAMERAS", "", "public cameras: "+preview.CamerasSyntax+" (the grammar is in README.md, Settings)")
	s.Duration(&c.LockTTL, "lock-ttl", "LOCK_TTL", 5*time.Second, "camera leader lock lifetime")
	s.Int(&c.MaxUpstream, "max-upstream", "MAX_UPSTREAM", 4096, "most upstream calls in flight at once")
	s.String(&c.Fetch, "fetch", "FETCH", "always", "always: follow every camera; watched: only while someone watches it (or it has ;always)")
	s.Duration(&c.WatchTTL, "watch-ttl", "WATCH_TTL", preview.DefaultWatchTTL, "a camera stays watched this long after a replica's last mark; the same on fetchers and web replicas")
	s.String(&c.baseURL, "een-base-url", "EEN_BASE_URL", "", "EEN API base URL (v1: default "+een.DefaultBaseURL+"; v3: overrides the API host the sign-in names)")
	s.String(&c.EEN.Username, "een-username", "EEN_USERNAME", "", "v1: EEN user with preview rights only")
	s.Secret(&c.EEN.Password, "een-password", "EEN_PASSWORD", "v1: that user's password")
	s.Secret(&c.EEN.APIKey, "een-api-key", "EEN_API_KEY", "v1: EEN API key, if the account has one")
	bindV3(s, &c.API, &c.V3)
	s.Secret(&c.RefreshToken, "een-refresh-token", "EEN_REFRESH_TOKEN", "v3: a refresh token obtained elsewhere, presented once when Redis holds no token set")
}

func parseFetcherConfig(env Env) (fetcherConfig, error) {
	var c fetcherConfig
	var cameras string
	s := settings.New("fetcher", env.Getenv, env.Stderr)
	s.Describe(`fetcher follows the public cameras it leads on Eagle Eye Networks and stores each new
preview image in Redis. Run several with the same settings: they share the cameras evenly,
one leader per camera, and take over a stopped one's cameras within about LOCK_TTL. With
EEN_API=v3, sign them in once with "fetcher connect" (fetcher connect -h).`)
	bindShared(s, &c.sharedConfig, defaultRedisURL, "Redis to store frames in")
	bindFetcher(s, &c, &cameras)
	s.Addr(&c.AdminAddr, "admin-addr", "ADMIN_ADDR", defaultFetcherAdminAddr, "health and metrics listener")
	err := parse(s, env.Args, func() { checkFetcher(s, &c, cameras); checkLogLevel(s, c.LogLevel) })
	return c, err
}

// fetcherParts is a fetcher with what runs beside it.
type fetcherParts struct {
	*fetcher.Fetcher
	ready    *readiness
	upstream upstream
	sink     fetcher.Store // where the fetcher publishes its cameras
}

// run runs the fetcher and what its upstream runs beside it until ctx
// ends, then closes the idle upstream connections so the upstream's
// graceful shutdown need not wait for them.
func (p fetcherParts) run(ctx context.Context) error {
	defer p.upstream.CloseIdleConnections()
	var wg sync.WaitGroup
	wg.Go(func() { p.upstream.run(ctx) })
	defer wg.Wait()
	return p.Run(ctx)
}

// newFetcher builds the fetcher, its EEN client and its readiness,
// registering their metrics on reg.
func newFetcher(env Env, c fetcherConfig, store *redisstore.Store, log *slog.Logger, reg prometheus.Registerer) (fetcherParts, error) {
	id := fetcherID()
	up, sink, err := newUpstream(env, c, id, store, log, reg)
	if err != nil {
		return fetcherParts{}, err
	}
	cfg := fetcher.Config{ID: id, Cameras: c.Cameras, FrameTTL: c.FrameTTL, LockTTL: c.LockTTL,
		MaxUpstream: c.MaxUpstream, Credentials: up, Logger: log, Registry: reg,
		WatchedOnly: c.Fetch == "watched", WatchTTL: c.WatchTTL}
	f := fetcher.New(cfg, up, sink, store.Locker())
	return fetcherParts{f, newReadiness(store, up, f, log, reg), up, sink}, nil
}

// newRegistry returns a Prometheus registry with the Go and process
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// checkFetcher validates what flags alone cannot.
func checkFetcher(s *settings.Set, c *fetcherConfig, cameras string) {
	cams, err := preview.ParseCameras(cameras)
	s.Check(err == nil, "CAMERAS: %v", err)
	c.Cameras = cams
	checkUpstream(s, c)
	s.Check(c.LockTTL >= time.Second, "LOCK_TTL: %s is too short (at least 1s)", c.LockTTL)
	s.Check(c.FrameTTL >= time.Second, "FRAME_TTL: %s is too short (at least 1s)", c.FrameTTL)
	checkFetchMode(s, c)
}

// checkFetchMode validates FETCH and WATCH_TTL, for the all-in-one's
// simulated cameras too.
func checkFetchMode(s *settings.Set, c *fetcherConfig) {
	s.Check(c.Fetch == "always" || c.Fetch == "watched", "FETCH: %q is neither always nor watched", c.Fetch)
	s.Check(c.WatchTTL >= time.Second, "WATCH_TTL: %s is too short (at least 1s)", c.WatchTTL)
}

// RunFetcher is the fetcher program; "connect" as its first argument
// runs RunConnect instead.
func RunFetcher(ctx context.Context, env Env) error {
	if len(env.Args) > 0 && env.Args[0] == "connect" {
		env.Args = env.Args[1:]
		return RunConnect(ctx, env)
	}
	c, err := parseFetcherConfig(env)
	if err != nil {
		return err
	}
	log, rdb, err := openRedis(env.Stderr, c.sharedConfig)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := redisstore.New(rdb, c.KeyPrefix)
	reg := newRegistry()
	f, err := newFetcher(env, c, store, log, reg)
	if err != nil {
		return err
	}
	ln, err := listen(env, "admin", c.AdminAddr)
	if err != nil {
		return fmt.Errorf("ADMIN_ADDR: %w", err)
	}
	log.Info("fetcher: starting", "cameras", len(c.Cameras), "admin", ln.Addr().String())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return f.run(gctx) })
	g.Go(func() error { f.ready.run(gctx); return nil })
	g.Go(func() error { return serve(gctx, adminServer(f.ready, f.Fetcher, reg), ln) })
	return g.Wait()
}

// adminServer serves the fetcher's health, status and metrics.
func adminServer(ready *readiness, f *fetcher.Fetcher, reg *prometheus.Registry) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if reason := ready.check(r.Context()); reason != "" {
			http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(f.State())
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
}

// fetcherID names this process among the fetchers.
func fetcherID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()%1e6)
}

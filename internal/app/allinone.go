package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/httpserver"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/settings"
)

// allConfig is the all-in-one's configuration: a fetcher's and a web
// replica's, where an empty REDIS_URL means an embedded Redis and no EEN
// user means the simulator.
type allConfig struct {
	fetcherConfig
	web     webConfig
	simCams []eensim.Camera
}

func parseAllConfig(env Env) (allConfig, error) {
	var c allConfig
	var cameras string
	s := settings.New("camrelay", env.Getenv, env.Stderr)
	s.Describe(`camrelay shows live Eagle Eye Networks camera previews on public web pages. This
all-in-one runs an embedded Redis, an EEN simulator with demo cameras, one fetcher and one web
server in one process. Set REDIS_URL to use a real Redis, and EEN_USERNAME, EEN_PASSWORD and
CAMERAS to follow real cameras (with EEN_API=v3: EEN_CLIENT_ID, EEN_CLIENT_SECRET and CAMERAS).`)
	bindShared(s, &c.sharedConfig, "", "Redis to use (default: an embedded one)")
	bindFetcher(s, &c.fetcherConfig, &cameras)
	bindWeb(s, &c.web)
	err := parse(s, env.Args, func() {
		checkWeb(s, &c.web)
		checkLogLevel(s, c.LogLevel)
		if !checkAPI(s, c.API) {
			return
		}
		// EEN_CLIENT_ID under v1 is a v3 setup missing EEN_API=v3: the
		// fetcher's checks say so, rather than the simulator starting.
		if c.EEN.Username != "" || c.V3.ClientID != "" {
			checkFetcher(s, &c.fetcherConfig, cameras)
			return
		}
		// Simulated cameras: CAMERAS may carry intervals ("esn=Name@500ms"),
		// and options (";always") the fetcher keeps.
		list := cmp.Or(cameras, DemoCameras)
		sims, err := parseSimCameras(list, time.Second)
		s.Check(err == nil, "CAMERAS: %v", err)
		c.simCams = sims
		c.Cameras, _ = preview.ParseCameras(list)
		checkFetchMode(s, &c.fetcherConfig)
	})
	return c, err
}

// RunAll is the all-in-one program: embedded Redis, the simulator, one
// fetcher and one web replica in one process, or any of them real.
func RunAll(ctx context.Context, env Env) error {
	c, err := parseAllConfig(env)
	if err != nil {
		return err
	}
	log, err := newLogger(env.Stderr, c.LogLevel) // checked with the settings
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	embedded := c.RedisURL == ""
	if embedded {
		m, err := embeddedRedis(gctx, g)
		if err != nil {
			return err
		}
		defer m.Close() // last: the fetcher releases its locks on the way out
		c.RedisURL = "redis://" + m.Addr()
		log.Info("camrelay: embedded Redis", "addr", m.Addr())
	}
	rdb, err := redisClient(c.RedisURL, c.RedisCAFile, log)
	if err != nil {
		return badConfig(err)
	}
	defer rdb.Close()
	store := redisstore.New(rdb, c.KeyPrefix)
	if err := prepareEEN(ctx, gctx, g, env, &c, store, embedded, log); err != nil {
		return err
	}
	reg := newRegistry() // one for both parts: one admin listener serves them
	f, err := newFetcher(env, c.fetcherConfig, store, log, reg)
	if err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	wc := c.web.replicaConfig(c.FrameTTL, log)
	wc.Registry = reg
	wc.Marker = store
	wc.WatchTTL = c.WatchTTL
	web := httpserver.New(wc, store)
	ln, err := listen(env, "web", c.web.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	adm, err := listen(env, "admin", c.web.AdminAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("ADMIN_ADDR: %w", err)
	}
	log.Info("camrelay: admin", "addr", adm.Addr().String())
	hs := httpserver.NewHTTPServer(c.web.ListenAddr, web.Handler())
	hs.RegisterOnShutdown(web.Close)
	// The web part reads the allow-list as it starts: put the cameras on
	// it first, as the fetcher lists them (which sleep until watched), or
	// the first seconds' requests would answer "not public", or a still of
	// a sleeping camera 503 at once instead of waiting for its wake-up.
	if err := f.PublishCameras(ctx); err != nil {
		log.Warn("camrelay: publishing cameras failed; the fetcher tries again", "err", err)
	}
	g.Go(func() error { return f.run(gctx) })
	g.Go(func() error { f.ready.run(gctx); return nil }) // its log lines: a wrong password says so once
	g.Go(func() error { return web.Run(gctx) })
	g.Go(func() error { return serve(gctx, hs, ln) })
	g.Go(func() error { return serve(gctx, adminServer(f.ready, f.Fetcher, reg), adm) })
	fmt.Fprintf(env.Stdout, "camrelay is running with %d cameras: open %s (Ctrl-C to stop)\n", len(c.Cameras), httpURL(ln.Addr()))
	err = g.Wait()
	fmt.Fprintln(env.Stdout, "camrelay stopped")
	return err
}

// The simulator's login inside the all-in-one: it never leaves the process.
const (
	simUser     = "proxy@camrelay.local"
	simPassword = "all-in-one-simulated-password"
)

// prepareEEN starts the simulator unless c names a real EEN (runCtx and g
// run it), and on v3 gives the fetcher a grant.
func prepareEEN(ctx, runCtx context.Context, g *errgroup.Group, env Env, c *allConfig, store *redisstore.Store, embedded bool, log *slog.Logger) error {
	var signIn net.Listener // the simulated v3 sign-in's redirect listener
	if c.simCams != nil {
		var err error
		if signIn, err = startSim(runCtx, g, env, c, log); err != nil {
			return err
		}
	}
	if c.API != apiV3 {
		return nil
	}
	return ensureGrant(ctx, env, *c, store, signIn, embedded, log)
}

// startSim serves the simulator on a loopback port and points c's EEN
// settings at it. On v3 it returns the listener of the simulated sign-in's
// redirect, which the simulator takes as its client's redirect URL.
func startSim(ctx context.Context, g *errgroup.Group, env Env, c *allConfig, log *slog.Logger) (net.Listener, error) {
	cfg := eensim.Config{Username: simUser, Password: simPassword, Cameras: c.simCams}
	var signIn net.Listener
	if c.API == apiV3 {
		var err error
		if signIn, err = simV3Client(env, &cfg); err != nil {
			return nil, err
		}
	}
	sim, err := newSimulator(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := listen(env, "eensim", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error { return serve(ctx, srv, ln) })
	base := "http://" + ln.Addr().String()
	if c.API == apiV3 {
		c.V3 = eenv3.Config{AuthURL: base, BaseURL: base, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURIs[0]}
	} else {
		c.EEN.BaseURL, c.EEN.Username, c.EEN.Password = base, simUser, simPassword
	}
	log.Info("camrelay: simulated EEN", "api", c.API, "url", base, "cameras", len(c.simCams))
	return signIn, nil
}

// embeddedRedis starts miniredis and advances its clock with real time:
// miniredis only expires keys when told time has passed.
func embeddedRedis(ctx context.Context, g *errgroup.Group) (*miniredis.Miniredis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded Redis: %w", err)
	}
	g.Go(func() error {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return nil
			case now := <-t.C:
				m.SetTime(now)
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	})
	return m, nil
}

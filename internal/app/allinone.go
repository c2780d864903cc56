package app

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/eensim"
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
CAMERAS to follow real cameras.`)
	bindShared(s, &c.sharedConfig, "", "Redis to use (default: an embedded one)")
	bindFetcher(s, &c.fetcherConfig, &cameras)
	bindWeb(s, &c.web)
	err := parse(s, env.Args, func() {
		checkWeb(s, &c.web)
		checkLogLevel(s, c.LogLevel)
		if c.EEN.Username != "" {
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
	if c.RedisURL == "" {
		m, err := embeddedRedis(gctx, g)
		if err != nil {
			return err
		}
		defer m.Close() // last: the fetcher releases its locks on the way out
		c.RedisURL = "redis://" + m.Addr()
		log.Info("camrelay: embedded Redis", "addr", m.Addr())
	}
	if c.simCams != nil {
		base, err := startSim(gctx, g, env, c.simCams)
		if err != nil {
			return err
		}
		c.EEN.BaseURL, c.EEN.Username, c.EEN.Password = base, simUser, simPassword
		log.Info("camrelay: simulated EEN", "url", base, "cameras", len(c.simCams))
	}
	rdb, err := redisClient(c.RedisURL, c.RedisCAFile, log)
	if err != nil {
		return badConfig(err)
	}
	defer rdb.Close()
	store := redisstore.New(rdb, c.KeyPrefix)
	reg := newRegistry() // one for both parts: one admin listener serves them
	f, err := newFetcher(c.fetcherConfig, store, log, reg)
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
	// it first, or the first seconds' requests would answer "not public".
	if err := store.PublishCameras(ctx, c.Cameras, time.Now()); err != nil {
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

// startSim serves the simulator on a loopback port and returns its URL.
func startSim(ctx context.Context, g *errgroup.Group, env Env, cams []eensim.Camera) (string, error) {
	sim, err := newSimulator(eensim.Config{Username: simUser, Password: simPassword, Cameras: cams})
	if err != nil {
		return "", err
	}
	ln, err := listen(env, "eensim", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error { return serve(ctx, srv, ln) })
	return "http://" + ln.Addr().String(), nil
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

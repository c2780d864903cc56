package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/httpserver"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/settings"
	"github.com/camrelay/camrelay/internal/signing"
)

// webConfig is the web replica's configuration.
type webConfig struct {
	sharedConfig // bound by the web replica; the all-in-one binds its fetcher's
	ListenAddr   string
	AdminAddr    string
	MaxStreams   int
	PerClient    int
	Proxies      string
	Origins      string
	WatchTTL     time.Duration // WATCH_TTL; the all-in-one takes its fetcher's
	ColdWait     string        // COLD_WAIT as given; checkWeb parses it into coldWait
	coldWait     time.Duration
	CacheMaxAge  string // CACHE_MAX_AGE as given; checkWeb parses it into cacheMaxAge
	cacheMaxAge  time.Duration
	Widths       string // WIDTHS as given; checkWeb parses it into widths
	widths       []int
	SigningKeys  string // SIGNING_KEYS (or _FILE) as given; checkWeb parses it into keys
	keys         signing.Keys
}

// bindWeb declares the web replica's own settings on s (bindShared the
// shared ones).
func bindWeb(s *settings.Set, c *webConfig) {
	s.Addr(&c.ListenAddr, "listen-addr", "LISTEN_ADDR", defaultListenAddr, "HTTP listen address for viewers")
	s.Addr(&c.AdminAddr, "admin-addr", "ADMIN_ADDR", defaultWebAdminAddr, "operators' listener: /metrics, /healthz, /readyz; keep it from viewers")
	s.Int(&c.MaxStreams, "max-streams", "MAX_STREAMS", 10000, "most concurrent SSE and MJPEG viewers (503 beyond)")
	s.Int(&c.PerClient, "max-streams-per-client", "MAX_STREAMS_PER_CLIENT", 100, "most concurrent streams from one client address (429 beyond)")
	s.String(&c.Proxies, "trusted-proxies", "TRUSTED_PROXIES", "", "load balancers whose X-Forwarded-For names the client: IPs or CIDRs, comma-separated")
	s.String(&c.Origins, "cors-origins", "CORS_ORIGINS", "*", "origins whose pages may read images and streams (CORS), comma-separated; * for any")
	// A duration that may be 0, which settings.Duration refuses: parsed by checkWeb.
	s.String(&c.ColdWait, "cold-wait", "COLD_WAIT", httpserver.DefaultColdWait.String(),
		"how long a still-image request for a camera waking up (FETCH=watched) waits for its first frame; 0: 503 at once")
	s.String(&c.CacheMaxAge, "cache-max-age", "CACHE_MAX_AGE", "0",
		"how long a CDN or nginx in front may keep a still image (Cache-Control: public, max-age), e.g. 1s; 0: no-cache")
	s.String(&c.Widths, "widths", "WIDTHS", "160,320,640",
		"thumbnail widths offered (?w= on images and streams), comma-separated pixels; any other w is a 400")
	bindSigningKeys(s, &c.SigningKeys)
}

// bindSigningKeys declares SIGNING_KEYS, shared by the replica and "web sign".
func bindSigningKeys(s *settings.Set, p *string) {
	s.Secret(p, "signing-keys", "SIGNING_KEYS", "keys of signed links, kid:secret (secret at least 32 bytes), comma-separated; several for rotation")
}

// bindWatchTTL declares WATCH_TTL for the web replica alone: the
// all-in-one has it from its fetcher's settings.
func bindWatchTTL(s *settings.Set, c *webConfig) {
	s.Duration(&c.WatchTTL, "watch-ttl", "WATCH_TTL", preview.DefaultWatchTTL, "a camera stays watched this long after a replica's last mark; the same on fetchers and web replicas")
}

// checkWeb validates ADMIN_ADDR, TRUSTED_PROXIES, CORS_ORIGINS, COLD_WAIT, CACHE_MAX_AGE and WIDTHS.
func checkWeb(s *settings.Set, c *webConfig) {
	d, err := time.ParseDuration(c.ColdWait)
	s.Check(err == nil && d >= 0 && d <= maxColdWait, "COLD_WAIT: %q is not a duration from 0 to %s (e.g. 3s; 0 answers at once)", c.ColdWait, maxColdWait)
	c.coldWait = d
	ma, err := time.ParseDuration(c.CacheMaxAge)
	s.Check(err == nil && ma >= 0 && ma <= httpserver.MaxCacheMaxAge,
		"CACHE_MAX_AGE: %q is not a duration from 0 to %s (e.g. 1s; 0 sends no-cache)", c.CacheMaxAge, httpserver.MaxCacheMaxAge)
	c.cacheMaxAge = ma
	ws, err := httpserver.ParseWidths(c.Widths)
	s.Check(err == nil, "WIDTHS: %v (want up to 8 distinct widths from %d to %d pixels, e.g. 160,320,640)", err, httpserver.MinWidth, httpserver.MaxWidth)
	c.widths = ws
	keys, err := signing.ParseKeys(c.SigningKeys)
	s.Check(err == nil, "SIGNING_KEYS: %v", err)
	c.keys = keys
	_, port, _ := net.SplitHostPort(c.AdminAddr)
	s.Check(c.AdminAddr != c.ListenAddr || port == "0",
		"ADMIN_ADDR: %s is LISTEN_ADDR too; metrics must not be on the viewers' port", c.AdminAddr)
	for _, o := range splitList(c.Origins) {
		u, err := url.Parse(o)
		s.Check(o == "*" || err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "",
			"CORS_ORIGINS: %q is not an origin like https://www.example.com", o)
	}
	for _, p := range c.proxies() {
		_, _, cidrErr := net.ParseCIDR(p)
		s.Check(cidrErr == nil || net.ParseIP(p) != nil, "TRUSTED_PROXIES: %q is not an IP address or CIDR", p)
	}
}

// maxColdWait keeps a waiting request well within proxies' idle limits.
const maxColdWait = 30 * time.Second

func (c *webConfig) proxies() []string { return splitList(c.Proxies) }

// splitList splits a comma-separated setting, dropping blanks.
func splitList(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// replicaConfig is the httpserver configuration from the settings.
func (c *webConfig) replicaConfig(frameTTL time.Duration, log *slog.Logger) httpserver.Config {
	coldWait := c.coldWait
	if coldWait == 0 {
		coldWait = -1 // httpserver: 0 takes the default, negative is none
	}
	return httpserver.Config{FrameTTL: frameTTL, MaxStreams: c.MaxStreams, MaxStreamsPerClient: c.PerClient,
		TrustedProxies: c.proxies(), AllowedOrigins: splitList(c.Origins), Logger: log,
		WatchTTL: c.WatchTTL, ColdWait: coldWait, CacheMaxAge: c.cacheMaxAge, Widths: c.widths, SigningKeys: c.keys}
}

func parseWebConfig(env Env) (webConfig, error) {
	var c webConfig
	s := settings.New("web", env.Getenv, env.Stderr)
	s.Describe(`web serves camrelay's pages, latest images (/preview/{esn}.jpg), MJPEG streams and
Server-Sent Events from Redis. It holds nothing but a Redis address: run as many as you need
behind a load balancer.`)
	bindShared(s, &c.sharedConfig, defaultRedisURL, "Redis to read frames from")
	bindWeb(s, &c)
	bindWatchTTL(s, &c)
	if err := parse(s, env.Args, func() {
		checkWeb(s, &c)
		checkLogLevel(s, c.LogLevel)
		s.Check(c.WatchTTL >= time.Second, "WATCH_TTL: %s is too short (at least 1s)", c.WatchTTL)
	}); err != nil {
		return c, err
	}
	return c, nil
}

// RunWeb is the web replica program.
func RunWeb(ctx context.Context, env Env) error {
	if len(env.Args) > 0 && env.Args[0] == "sign" {
		env.Args = env.Args[1:]
		return RunSign(env)
	}
	c, err := parseWebConfig(env)
	if err != nil {
		return err
	}
	log, rdb, err := openRedis(env.Stderr, c.sharedConfig)
	if err != nil {
		return err
	}
	defer rdb.Close()
	gin.SetMode(gin.ReleaseMode)
	store := redisstore.New(rdb, c.KeyPrefix)
	cfg := c.replicaConfig(c.FrameTTL, log)
	cfg.Marker = store // viewers' interest, for fetchers with FETCH=watched
	srv := httpserver.New(cfg, store)
	ln, err := listen(env, "web", c.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	adm, err := listen(env, "admin", c.AdminAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("ADMIN_ADDR: %w", err)
	}
	log.Info("web: serving", "addr", ln.Addr().String(), "admin", adm.Addr().String())
	hs := httpserver.NewHTTPServer(c.ListenAddr, srv.Handler())
	hs.RegisterOnShutdown(srv.Close)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return serve(gctx, hs, ln) })
	g.Go(func() error { return serve(gctx, httpserver.NewHTTPServer(c.AdminAddr, srv.AdminHandler()), adm) })
	return g.Wait()
}

// Package app wires camrelay's parts into its programs: the simulator, the
// fetcher, the web replica and the all-in-one. Each Run function is a
// whole program, so tests start the real thing in-process.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/settings"
)

// Env is what a program gets from its process.
type Env struct {
	Args   []string // without the program name
	Getenv func(string) string
	Stdin  io.Reader // "fetcher connect" reads a pasted address; nil: none
	Stdout io.Writer
	Stderr io.Writer
	// Listening, when set, is told the address of each listener as it
	// opens ("web", "admin", "eensim", "connect"), for tests that listen
	// on :0.
	Listening func(name string, addr net.Addr)

	// GrantHooks (tests only) go into the v3 grant manager's
	// grant.Config.Hooks: a test widens a refresh's dangerous windows.
	GrantHooks grant.Hooks
	// GrantConfig (tests only), when set, may change the v3 grant
	// manager's grant.Config (timings, say) before it is built.
	GrantConfig func(*grant.Config)
}

// ErrUsage marks a configuration problem; the message is for the user,
// one line per problem.
var ErrUsage = errors.New("bad configuration")

// usageError is one or more configuration problems, one per line; it is
// an ErrUsage.
type usageError struct{ err error }

func (e usageError) Error() string   { return e.err.Error() }
func (e usageError) Unwrap() []error { return []error{ErrUsage, e.err} }

// badConfig marks err as a configuration problem.
func badConfig(err error) error { return usageError{err} }

// parse parses settings, runs the program's own checks (which record
// problems with s.Check), and returns every problem as one ErrUsage. After
// a flag syntax error (an unknown flag) it reports that alone: the flags
// after it were not read, so other checks would mislead.
func parse(s *settings.Set, args []string, checks ...func()) error {
	err := s.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err == nil {
		for _, check := range checks {
			check()
		}
		err = s.Err()
	}
	if err != nil {
		return badConfig(err)
	}
	return nil
}

// openRedis makes what every program starts with: the logger at LOG_LEVEL
// and the Redis client. Settings were checked already, so an error here is
// still a configuration problem (an unreadable CA file, say).
func openRedis(stderr io.Writer, c sharedConfig) (*slog.Logger, redis.UniversalClient, error) {
	log, err := newLogger(stderr, c.LogLevel)
	if err != nil {
		return nil, nil, badConfig(err)
	}
	rdb, err := redisClient(c.RedisURL, c.RedisCAFile, log)
	if err != nil {
		return nil, nil, badConfig(err)
	}
	return log, rdb, nil
}

// checkLogLevel reports a bad LOG_LEVEL with the other settings.
func checkLogLevel(s *settings.Set, level string) {
	_, err := newLogger(io.Discard, level)
	s.Check(err == nil, "%v", err)
}

// newLogger returns a text logger at LOG_LEVEL.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// redisLog sends go-redis' own messages (reconnect attempts) to slog at
// debug level: while Redis is down they would repeat many times a second,
// and camrelay reports the outage itself.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

var redisLogOnce sync.Once

// redisClient connects to REDIS_URL: redis:// or rediss:// (TLS) for one
// server; with master_name=… for Sentinel (the host and addr=… parameters
// are the sentinels); with addr=… parameters for a Cluster (the seed nodes).
// caFile, when set, is the PEM file of the CA that signed the servers'
// TLS certificates (a rediss:// URL otherwise trusts the system's CAs).
// Every form binds a call's context deadline to the socket
// (ContextTimeoutEnabled): go-redis otherwise ignores it there, and a
// call to a Redis that hangs (frozen, or a silent network) would wait out
// the read timeout on each attempt (5 s for a still with a 2 s deadline).
func redisClient(rawURL, caFile string, log *slog.Logger) (redis.UniversalClient, error) {
	redisLogOnce.Do(func() { redis.SetLogger(redisLog{log}) })
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("REDIS_URL: not a URL")
	}
	var roots *x509.CertPool
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		roots = x509.NewCertPool()
		if err != nil || !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("REDIS_CA_FILE: %s holds no readable PEM certificate", caFile)
		}
	}
	withCA := func(c *tls.Config) {
		if c != nil && roots != nil {
			c.RootCAs = roots
		}
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		opt, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL (sentinel): %v", redactURL(err.Error(), rawURL))
		}
		withCA(opt.TLSConfig)
		opt.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(opt), nil
	case q.Has("addr"):
		opt, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL (cluster): %v", redactURL(err.Error(), rawURL))
		}
		withCA(opt.TLSConfig)
		// go-redis re-reads the slot map on MOVED, else only every
		// ClusterStateReloadInterval (60 s by default): after a failover
		// it would dial the dead primary that long. camrelay re-reads it
		// after each network error, and once a second anyway (one
		// CLUSTER SLOTS per process), so a promotion is seen at once.
		opt.ClusterStateReloadInterval = time.Second
		opt.MinRetryBackoff, opt.MaxRetryBackoff = 50*time.Millisecond, 500*time.Millisecond
		opt.ContextTimeoutEnabled = true
		cc := redis.NewClusterClient(opt)
		cc.AddHook(reloadOnNetError{cc})
		return cc, nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %v", redactURL(err.Error(), rawURL))
	}
	withCA(opt.TLSConfig)
	opt.MinRetryBackoff, opt.MaxRetryBackoff = 50*time.Millisecond, 2*time.Second
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}

// redactURL keeps a password in a URL out of an error message.
func redactURL(msg, rawURL string) string {
	if i := strings.Index(rawURL, "@"); i > 0 {
		msg = strings.ReplaceAll(msg, rawURL[:i], "redis://…")
	}
	return msg
}

// listen opens addr and tells env about it. The error names the address,
// not the listener: the caller adds the setting, Exit the program name.
func listen(env Env, name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// net.OpError repeats "listen tcp <addr>": keep only its cause.
		if op := (*net.OpError)(nil); errors.As(err, &op) {
			err = op.Err
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	if env.Listening != nil {
		env.Listening(name, ln.Addr())
	}
	return ln, nil
}

// serve runs srv on ln until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpURL is the address to open in a browser for a listener.
func httpURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s/", net.JoinHostPort(host, fmt.Sprint(tcp.Port)))
}

// Exit turns a program's result into its exit status, printing the error
// with the program's name once per line: 0 after -h, 2 for bad
// configuration (each problem, then where to read about the settings), 1
// for failures.
func Exit(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintf(stderr, "%s: %s\n", name, line)
		}
		fmt.Fprintf(stderr, "%s: run with -h for the settings\n", name)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

package httpserver

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

// quietRedis drops go-redis' own log lines (reconnect attempts while a
// test has Redis down).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }

// redisReplica is a replica over a real Redis, written to the way the
// fetcher writes: SaveFrame holding the camera's lock. Each has its own
// redis-server, so the tests using one run in parallel.
type redisReplica struct {
	t      *testing.T
	redis  *testbed.RedisServer
	store  *redisstore.Store
	keys   preview.Keys
	srv    *Server
	ts     *httptest.Server
	admin  *httptest.Server // the operators' port
	reads  *countingStore
	cams   []preview.Camera
	ttl    time.Duration
	frames *testbed.FrameWriter
}

// newRedisReplica runs a replica over a fresh redis-server until t ends,
// and waits until it is ready. cams are public. wrap, when set, wraps each
// accepted connection (to shrink socket buffers).
func newRedisReplica(t *testing.T, cfg Config, wrap func(net.Conn) net.Conn, cams ...preview.Camera) *redisReplica {
	t.Helper()
	r := newRedisOnly(t, cfg.FrameTTL, cams...)
	r.publishCameras()
	r.start(cfg, wrap)
	waitReadiness(t, r.srv, true, "replica ready")
	return r
}

// newRedisOnly starts a fresh redis-server that frames of ttl will be
// saved to and cams published on; start runs the replica over it.
func newRedisOnly(t *testing.T, ttl time.Duration, cams ...preview.Camera) *redisReplica {
	t.Helper()
	rs := testbed.Redis(t)
	prefix := testbed.Prefix(t)
	store := redisstore.New(rs.Client(), prefix)
	ttl = cmp.Or(ttl, preview.DefaultFrameTTL)
	return &redisReplica{t: t, redis: rs, store: store, keys: preview.Keys{Prefix: prefix}, reads: &countingStore{Store: store}, cams: cams,
		ttl: ttl, frames: testbed.NewFrameWriter(store, ttl, time.Minute)}
}

// start runs the replica, its test signals on, until the test ends,
// without waiting for it to be ready.
func (r *redisReplica) start(cfg Config, wrap func(net.Conn) net.Conn) {
	cfg.FrameTTL = r.ttl
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, 100*time.Millisecond)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)) // outages are the point of some tests
	ctx, cancel := context.WithCancel(context.Background())
	r.srv = New(cfg, r.reads)
	r.srv.TestSignals.Init()
	done := make(chan struct{})
	go func() { defer close(done); r.srv.Run(ctx) }()
	r.ts = httptest.NewUnstartedServer(r.srv.Handler())
	if wrap != nil {
		r.ts.Listener = wrapListener{r.ts.Listener, wrap}
	}
	r.ts.Config.RegisterOnShutdown(r.srv.Close)
	r.ts.Start()
	r.admin = httptest.NewServer(r.srv.AdminHandler())
	r.t.Cleanup(func() { r.srv.Close(); r.ts.Close(); r.admin.Close(); cancel(); <-done })
}

// publishCameras does what fetchers do every 10 s.
func (r *redisReplica) publishCameras() {
	r.t.Helper()
	r.retry("publishing cameras", func() error {
		return r.store.PublishCameras(context.Background(), r.cams, time.Now())
	})
}

// save stores a new frame of the camera and publishes it, as a fetcher
// does: it takes the camera's lock first (again after a Redis restart).
func (r *redisReplica) save(esn preview.ESN, body []byte) preview.Frame {
	r.t.Helper()
	var f preview.Frame
	r.retry("saving a frame", func() (err error) {
		f, err = r.frames.Save(context.Background(), esn, body)
		return err
	})
	return f
}

// retry runs fn until it succeeds: after Redis comes back, go-redis
// refuses to dial for up to a second.
func (r *redisReplica) retry(what string, fn func() error) {
	r.t.Helper()
	var err error
	if testbed.Wait(context.Background(), 10*time.Second, what, func() bool { err = fn(); return err == nil }) != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
}

// waitReadiness waits until the replica's readiness is ready, checking
// it at each readiness signal: the state itself, not the signal, since a
// signal from before (start-up says "not ready" too) may still be queued.
func waitReadiness(t testing.TB, srv *Server, ready bool, what string) {
	t.Helper()
	srv.TestSignals.ReadyChanged.WaitUntil(t, what, func() bool { return srv.ready(time.Now()) == ready })
}

// url is the address of path on the replica.
func (r *redisReplica) url(path string) string { return r.ts.URL + path }

// adminURL is the address of path on the replica's operators' port.
func (r *redisReplica) adminURL(path string) string { return r.admin.URL + path }

// metric returns the value of a counter or gauge of the replica, 0 when
// it has no such series. labels are name, value pairs.
func (r *redisReplica) metric(name string, labels ...string) float64 {
	r.t.Helper()
	return metricOf(r.t, r.srv, name, labels...)
}

// metricOf returns the value of a counter or gauge of srv, 0 when it has
// no such series. labels are name, value pairs.
func metricOf(t testing.TB, srv *Server, name string, labels ...string) float64 {
	t.Helper()
	fams, err := srv.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}

// countingStore counts the frame reads that reach Redis, and the failed
// allow-list reads (the replica's Redis checks).
type countingStore struct {
	Store
	frames       atomic.Int64
	failedChecks atomic.Int64
}

func (s *countingStore) Cameras(ctx context.Context, maxAge time.Duration, now time.Time) ([]preview.Camera, error) {
	cams, err := s.Store.Cameras(ctx, maxAge, now)
	if err != nil {
		s.failedChecks.Add(1)
	}
	return cams, err
}

func (s *countingStore) Frame(ctx context.Context, esn preview.ESN) (preview.Frame, error) {
	s.frames.Add(1)
	return s.Store.Frame(ctx, esn)
}

func (s *countingStore) FrameMeta(ctx context.Context, esn preview.ESN) (preview.Frame, error) {
	s.frames.Add(1)
	return s.Store.FrameMeta(ctx, esn)
}

type wrapListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

func (l wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}

// smallBuffers shrinks a server connection's send buffer, so a client
// that stops reading stalls the server's writes after kilobytes, not
// megabytes.
func smallBuffers(c net.Conn) net.Conn {
	c.(*net.TCPConn).SetWriteBuffer(8 << 10)
	return c
}

// sseConn is a raw SSE client: one TCP connection, no net/http client,
// cheap enough to run a thousand.
type sseConn struct {
	conn net.Conn
	resp *http.Response
	body *bufio.Reader
}

// dialSSE opens path as an event stream; hdr are name, value pairs.
func dialSSE(addr, path string, hdr ...string) (*sseConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n", path)
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	b.WriteString("\r\n")
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(b.String())); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &sseConn{conn: conn, resp: resp, body: bufio.NewReaderSize(resp.Body, 1024)}, nil
}

// next returns the next event as "name id", skipping comments.
func (c *sseConn) next(timeout time.Duration) (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	var name, id string
	for {
		line, err := c.body.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case line == "" && name != "":
			return name + " " + id, nil
		}
	}
}

func (c *sseConn) Close() error { return c.conn.Close() }

// frameEvent is how an SSE stream names a frame.
func frameEvent(f preview.Frame) string { return "frame " + string(f.ESN) + "-" + string(f.TS) }

// recordedLogs keeps a replica's log records, for tests that count lines.
// Attributes given to With are dropped: the replica adds none.
type recordedLogs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *recordedLogs) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordedLogs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordedLogs) WithGroup(string) slog.Handler            { return l }

func (l *recordedLogs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// find returns the records whose message is msg.
func (l *recordedLogs) find(msg string) []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []slog.Record
	for _, r := range l.recs {
		if r.Message == msg {
			out = append(out, r)
		}
	}
	return out
}

package grant_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster is fetchers' Managers on one real Redis and one fake EEN.
type cluster struct {
	t      *testing.T
	srv    *testbed.RedisServer
	prefix string
	een    *fakeEEN
	base   grant.Config
	nodes  []*node
	ending chan struct{} // closed as the test ends: blocked hooks resume
	once   sync.Once
}

// node is one Manager as a fetcher would run it, with its own Redis
// client, logs and metrics.
type node struct {
	*grant.Manager
	rdb   *redis.Client
	logs  *testbed.SyncBuffer
	reg   *prometheus.Registry
	dead  atomic.Bool // killed: it sends nothing any more
	stop  context.CancelFunc
	ended chan struct{}
}

// quick is the test's timing: tokens live life.
func quick(life time.Duration) grant.Config {
	return grant.Config{LockTTL: 300 * time.Millisecond, RefreshTimeout: 300 * time.Millisecond,
		ClaimSettle: -1, PollEvery: min(life/10, 200*time.Millisecond), RejectedMinAge: 100 * time.Millisecond,
		RetryMin: 100 * time.Millisecond, RetryMax: time.Second}
}

func newCluster(t *testing.T, life time.Duration, opt testbed.RedisOptions) *cluster {
	return &cluster{t: t, srv: testbed.RedisWith(t, opt), prefix: testbed.Prefix(t), een: newFakeEEN(life),
		base: quick(life), ending: make(chan struct{})}
}

func (c *cluster) store(rdb redis.UniversalClient) *redisstore.Store {
	return redisstore.New(rdb, c.prefix)
}

// connect puts a new grant in Redis, as "fetcher connect" does.
func (c *cluster) connect() int64 {
	c.t.Helper()
	gen, err := c.store(c.srv.Client()).PutToken(context.Background(), c.een.connect(), time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	return gen
}

func (c *cluster) read() redisstore.TokenRecord {
	c.t.Helper()
	r, err := c.store(c.srv.Client()).ReadToken(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// add starts a Manager; change, if given, adjusts its Config.
func (c *cluster) add(change func(*grant.Config)) *node {
	c.t.Helper()
	n := &node{rdb: redis.NewClient(&redis.Options{Addr: c.srv.Addr(), MaxRetries: -1}),
		logs: &testbed.SyncBuffer{}, reg: prometheus.NewRegistry(), ended: make(chan struct{})}
	cfg := c.base
	cfg.Store, cfg.Owner, cfg.Registerer = c.store(n.rdb), fmt.Sprintf("f%d", len(c.nodes)), n.reg
	cfg.Log = slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Refresh = func(ctx context.Context, rt string) (eenv3.TokenSet, error) {
		if n.dead.Load() {
			return eenv3.TokenSet{}, errors.New("killed: sends nothing")
		}
		return c.een.refresh(ctx, rt)
	}
	if change != nil {
		change(&cfg)
	}
	m, err := grant.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	n.Manager = m
	n.TestSignals.Init()
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	go func() { defer close(n.ended); m.Run(ctx) }()
	c.nodes = append(c.nodes, n)
	c.t.Cleanup(func() {
		c.once.Do(func() { close(c.ending) })
		n.halt()
		n.rdb.Close()
	})
	return n
}

// halt stops the node's Run and waits for it.
func (n *node) halt() {
	n.stop()
	<-n.ended
}

// kill stops the node as SIGKILL would: it sends nothing to EEN, and its
// Redis connections go.
func (n *node) kill() {
	n.dead.Store(true)
	n.rdb.Close()
}

// count is how many log lines contain s.
func (n *node) count(s string) int { return strings.Count(n.logs.String(), s) }

// block returns a hook that stops the first refresh to reach it (as if the
// process stopped there) and a channel closed when it does; the refresh
// resumes as the test ends.
func (c *cluster) block() (func(context.Context), <-chan struct{}) {
	reached := make(chan struct{})
	var once sync.Once
	return func(context.Context) {
		once.Do(func() {
			close(reached)
			<-c.ending
		})
	}, reached
}

// waitFor fails t unless cond holds within d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testbed.WaitFor(t, d, what, cond)
}

// noReuse fails t if any refresh token was presented twice.
func (c *cluster) noReuse() {
	c.t.Helper()
	if _, _, reuses := c.een.counts(); reuses != 0 {
		c.t.Fatalf("refresh tokens presented twice: %d", reuses)
	}
}

// gauge is the value of the node's metric camrelay_een_v3_<name>.
func gauge(t *testing.T, n *node, name string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "camrelay_een_v3_"+name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// gathered is the node's metrics as text.
func gathered(t *testing.T, n *node) string {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		b.WriteString(mf.String())
	}
	return b.String()
}

// only401s makes the cluster's Managers look at Redis and refresh only
// when a test calls Rejected (tokens live an hour, polls a minute apart).
func (c *cluster) only401s() {
	c.base.PollEvery, c.base.RejectedMinAge = time.Minute, time.Millisecond
}

// wipe restarts Redis empty and writes back the set it held, without its
// claim, holding claims off for hold: what a fetcher that never saw the
// claim writes back.
func (c *cluster) wipe(hold time.Duration) {
	c.t.Helper()
	before := c.read()
	if err := c.srv.Restart(); err != nil {
		c.t.Fatal(err)
	}
	before.ClaimOwner = ""
	if ok, err := c.store(c.srv.Client()).SaveToken(context.Background(), before, hold); !ok || err != nil {
		c.t.Fatalf("write-back: %v, %v", ok, err)
	}
}

// afterAnswer makes a Manager call hook once EEN has answered its refresh,
// before the Manager sees the answer: a kill there loses the new token.
func afterAnswer(hook func(context.Context)) func(*grant.Config) {
	return func(cfg *grant.Config) {
		refresh := cfg.Refresh
		cfg.Refresh = func(ctx context.Context, rt string) (eenv3.TokenSet, error) {
			set, err := refresh(ctx, rt)
			hook(ctx)
			return set, err
		}
	}
}

// allUsable fails the test for each node whose grant is not usable.
func (c *cluster) allUsable() {
	c.t.Helper()
	for i, n := range c.nodes {
		if err := n.Lost(); err != nil && !n.dead.Load() {
			c.t.Errorf("node %d: Lost() = %v", i, err)
		}
	}
}

package e2e

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/child"
)

// cluster is a real Redis and a stack of child processes on it: the
// simulator (or a test's own upstream) and fetchers a test can kill -9 or
// freeze.
type cluster struct {
	rds      *testbed.RedisServer
	rdb      *redis.Client
	prefix   string
	stack    *child.Stack
	fetchers []*fetcherProc
	frames   *testbed.FrameWatch
	cams     []preview.ESN
}

// startCluster runs n fetchers following ncams simulated cameras.
func startCluster(t *testing.T, n, ncams int, interval, lockTTL time.Duration) *cluster {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	c := newCluster(t, ncams, interval, lockTTL)
	if err := c.stack.StartSim(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range n {
		c.addFetcher(t, nil)
	}
	testbed.WaitFor(t, 20*time.Second, "every camera led", func() bool { return c.settled(0) })
	return c
}

// newCluster starts a real Redis, names ncams cameras (a frame every
// interval) and watches their frames; it starts no simulator and no
// fetcher yet. Every program of the stack uses the test's key prefix.
func newCluster(t *testing.T, ncams int, interval, lockTTL time.Duration) *cluster {
	c := &cluster{rds: testbed.Redis(t), prefix: testbed.Prefix(t)}
	c.rdb = c.rds.Client()
	for i := range ncams {
		c.cams = append(c.cams, preview.ESN(fmt.Sprintf("%08x", 0x10060000+i*0x101)))
	}
	v := testbed.Vars(c.rds.URL(), joinESNs(c.cams), interval.String())
	maps.Copy(v.Fetcher, map[string]string{"KEY_PREFIX": c.prefix, "LOCK_TTL": lockTTL.String(), "LOG_LEVEL": "info"})
	v.Web["KEY_PREFIX"] = c.prefix
	c.stack = child.NewStack(v)
	t.Cleanup(c.stack.Close)
	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range c.fetchers {
				t.Logf("fetcher %d:\n%s", i, p.logs)
			}
		}
	})
	c.frames = testbed.Watch(t, c.rdb, c.prefix)
	return c
}

// addFetcher starts one more fetcher with the stack's settings and extra.
func (c *cluster) addFetcher(t *testing.T, extra map[string]string) *fetcherProc {
	t.Helper()
	p, err := c.stack.AddFetcher(context.Background(), extra)
	if err != nil {
		t.Fatal(err)
	}
	f := &fetcherProc{Proc: p, admin: p.Addr("admin"), logs: p.Logs}
	c.fetchers = append(c.fetchers, f)
	return f
}

// settled reports whether every camera has exactly one leader and no
// fetcher leads more than limit cameras (0: no limit).
func (c *cluster) settled(limit int) bool {
	leaders := make(map[preview.ESN]int)
	for _, p := range c.fetchers {
		n := 0
		for esn, st := range p.status() {
			if st.Leading {
				leaders[esn]++
				n++
			}
		}
		if limit > 0 && n > limit {
			return false
		}
	}
	for _, esn := range c.cams {
		if leaders[esn] != 1 {
			return false
		}
	}
	return true
}

// nextFrameAfter waits for a frame of esn stored after t and returns how
// long after t it came.
func (c *cluster) nextFrameAfter(t *testing.T, esn preview.ESN, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	var got testbed.SeenFrame
	testbed.WaitFor(t, within, "a frame of "+string(esn), func() bool {
		f, ok := c.frames.After(esn, since)
		got = f
		return ok
	})
	return got.At.Sub(since)
}

func TestFailoverAfterKill9(t *testing.T) {
	const lockTTL = 2 * time.Second
	c := startCluster(t, 2, 4, 250*time.Millisecond, lockTTL)
	esn := c.cams[0]
	victim := leaderOf(c.fetchers, esn)
	c.fetchers[victim].Kill()
	killed := time.Now()
	d := c.nextFrameAfter(t, esn, killed, 10*time.Second)
	t.Logf("kill -9 of the leader → next stored frame after %s (lock TTL %s)", d.Round(time.Millisecond), lockTTL)
	if d > lockTTL+2*time.Second {
		t.Errorf("failover took %s, want at most lock TTL + 2s", d)
	}
	for _, esn := range c.cams {
		c.nextFrameAfter(t, esn, killed.Add(d), 10*time.Second)
	}
}

func TestSIGTERMReleasesAtOnce(t *testing.T) {
	const lockTTL = 3 * time.Second
	c := startCluster(t, 2, 4, 250*time.Millisecond, lockTTL)
	esn := c.cams[1]
	victim := c.fetchers[leaderOf(c.fetchers, esn)]
	victim.Signal(syscall.SIGTERM)
	termed := time.Now()
	select {
	case <-victim.Exited():
		t.Logf("fetcher exited %s after SIGTERM", time.Since(termed).Round(time.Millisecond))
	case <-time.After(2 * time.Second):
		t.Fatalf("fetcher still running 2s after SIGTERM:\n%s", victim.logs)
	}
	d := c.nextFrameAfter(t, esn, termed, 10*time.Second)
	t.Logf("SIGTERM of the leader → next stored frame after %s (lock TTL %s)", d.Round(time.Millisecond), lockTTL)
	if d >= lockTTL {
		t.Errorf("takeover after SIGTERM took %s: the lock was not released", d)
	}
}

func TestFrozenFetcherNeverOverwrites(t *testing.T) {
	const lockTTL = 2 * time.Second
	c := startCluster(t, 2, 4, 250*time.Millisecond, lockTTL)
	esn := c.cams[2]
	frozen := c.fetchers[leaderOf(c.fetchers, esn)]
	frozen.Signal(syscall.SIGSTOP)
	stopped := time.Now()
	// The other fetcher takes over once the frozen one's lock expires.
	c.nextFrameAfter(t, esn, stopped.Add(lockTTL+500*time.Millisecond), 10*time.Second)
	frozen.Signal(syscall.SIGCONT)
	resumed := time.Now()
	testbed.WaitFor(t, 10*time.Second, "the resumed fetcher to step down", func() bool {
		return strings.Contains(frozen.logs.String(), `msg="fetcher: stopped leading camera" `) &&
			strings.Contains(frozen.logs.String(), "camera="+string(esn))
	})
	// Let both run on for a few frames, then check no write went back in time.
	c.nextFrameAfter(t, esn, resumed.Add(time.Second), 10*time.Second)
	for _, cam := range c.cams {
		if err := c.frames.InOrder(cam); err != nil {
			t.Errorf("camera %s: %v", cam, err)
		}
	}
}

func TestFetcherRecoversAfterRedisRestart(t *testing.T) {
	c := startCluster(t, 1, 2, 250*time.Millisecond, 2*time.Second)
	if err := c.rds.Restart(); err != nil { // comes back empty, as a Redis without persistence does
		t.Fatal(err)
	}
	restarted := time.Now()
	c.frames = testbed.Watch(t, c.rdb, c.prefix)
	for _, esn := range c.cams {
		d := c.nextFrameAfter(t, esn, restarted, 15*time.Second)
		t.Logf("camera %s: frames flow again %s after the restart", esn, d.Round(time.Millisecond))
	}
	testbed.WaitFor(t, 10*time.Second, "cameras public again", func() bool {
		return c.rdb.HLen(t.Context(), preview.Keys{Prefix: c.prefix}.Cameras()).Val() == int64(len(c.cams))
	})
}

package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/child"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// v3Life is how long the simulator's access tokens live in these tests.
const v3Life = 2 * time.Second

// signInNeeded is what a fetcher says, once, and answers on /readyz when
// the grant is lost.
const signInNeeded = "EEN v3 sign-in needed: run fetcher connect"

// v3Cluster is camrelay on EEN API v3 as deployed: Redis with an
// append-only file and the README's two users; the simulator (access
// tokens living v3Life) as a child, its token endpoint behind a tokenGate;
// v3 fetchers (v3FetcherRole) as children on the fetcher user, signed in
// once by "fetcher connect"; a web replica on the web user. Keys have the
// default prefix, the one the README's rules are written for.
type v3Cluster struct {
	*cluster
	gate    *tokenGate
	web     *child.Proc
	watches []*testbed.FrameWatch // frame notices; one more after each Redis restart
	connect []inproc.Connected    // each sign-in
	orders  hookOrders
}

// startV3Cluster runs n v3 fetchers of ncams cameras (a frame every
// interval) and a web replica, signed in before the fetchers start, and
// waits until every camera is led and stores frames.
func startV3Cluster(t *testing.T, n, ncams int, interval time.Duration) *v3Cluster {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	c := newV3Cluster(t, ncams, interval)
	if err := c.stack.StartSim(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.gate = newTokenGate(t, c.stack.Vars.Fetcher["EEN_AUTH_URL"])
	c.stack.Vars.Fetcher["EEN_AUTH_URL"] = c.gate.URL
	c.signIn(t)
	for range n {
		c.addFetcher(t, nil)
	}
	var err error
	if c.web, err = c.stack.AddWeb(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 30*time.Second, "every camera led", func() bool { return c.settled(0) })
	start := time.Now()
	for _, esn := range c.cams {
		c.nextFrameAfter(t, esn, start, 15*time.Second)
	}
	return c
}

// newV3Cluster starts Redis and watches frames; no program runs yet.
func newV3Cluster(t *testing.T, ncams int, interval time.Duration) *v3Cluster {
	rules := readmeACL(t)
	rds := testbed.RedisWith(t, testbed.RedisOptions{AppendOnly: true, Users: []string{rules[fetcherUser], rules[webUser]}})
	c := &v3Cluster{cluster: &cluster{rds: rds, rdb: rds.Client(), prefix: preview.DefaultKeyPrefix}}
	for i := range ncams {
		c.cams = append(c.cams, preview.ESN(fmt.Sprintf("%08x", 0x10070000+i*0x101)))
	}
	redirect, err := testbed.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	v := testbed.Vars(userURL(rds, fetcherUser), joinESNs(c.cams), interval.String()).WithV3("http://"+redirect, v3Life)
	v.Web["REDIS_URL"] = userURL(rds, webUser)
	maps.Copy(v.Fetcher, map[string]string{"LOCK_TTL": "2s", "LOG_LEVEL": "info"})
	v.Web["LOG_LEVEL"] = "info"
	c.stack = child.NewStack(v)
	c.stack.FetcherRole = v3FetcherRole
	t.Cleanup(c.stack.Close)
	t.Cleanup(func() { c.logOnFailure(t) })
	c.watches = []*testbed.FrameWatch{testbed.Watch(t, c.rdb, c.prefix)}
	c.frames = c.watches[0]
	return c
}

// logOnFailure shows every child's log when t failed.
func (c *v3Cluster) logOnFailure(t *testing.T) {
	if !t.Failed() {
		return
	}
	for i, p := range c.fetchers {
		t.Logf("fetcher %d:\n%s", i, p.logs)
	}
	if c.web != nil {
		t.Logf("web:\n%s", c.web.Logs)
	}
	if c.stack.Sim != nil {
		t.Logf("simulator:\n%s", c.stack.Sim.Logs)
	}
}

// signIn runs "fetcher connect" as the operator would.
func (c *v3Cluster) signIn(t *testing.T) inproc.Connected {
	t.Helper()
	got, err := inproc.Connect(t.Context(), c.stack.Vars.Fetcher)
	if err != nil {
		t.Fatal(err)
	}
	c.connect = append(c.connect, got)
	return got
}

// simStats reads the simulator's counters.
func (c *v3Cluster) simStats(t *testing.T) eensim.Stats {
	t.Helper()
	st, err := testbed.SimStats(t.Context(), "http://"+c.stack.Sim.Addr("eensim"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// restartRedis restarts Redis, which comes back with its append-only
// file, and watches frames on the new connection.
func (c *v3Cluster) restartRedis(t *testing.T) time.Time {
	t.Helper()
	if err := c.rds.Restart(); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	c.watches = append(c.watches, testbed.Watch(t, c.rdb, c.prefix))
	return at
}

// frameTimes is when esn's frames were heard, over every watch, each frame
// once, in order.
func (c *v3Cluster) frameTimes(esn preview.ESN) []time.Time {
	seen := make(map[preview.Timestamp]time.Time)
	for _, w := range c.watches {
		for _, f := range w.Frames(esn) {
			if at, ok := seen[f.TS]; !ok || f.At.Before(at) {
				seen[f.TS] = f.At
			}
		}
	}
	out := slices.Collect(maps.Values(seen))
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// maxGap is the longest time without a frame of any one of cams between
// from and to (the edges count as frames), and the camera.
func (c *v3Cluster) maxGap(cams []preview.ESN, from, to time.Time) (time.Duration, preview.ESN) {
	var worst time.Duration
	var cam preview.ESN
	for _, esn := range cams {
		prev := from
		for _, at := range append(c.frameTimes(esn), to) {
			if at.Before(from) {
				continue
			}
			if at.After(to) {
				at = to
			}
			if g := at.Sub(prev); g > worst {
				worst, cam = g, esn
			}
			prev = at
			if !at.Before(to) {
				break
			}
		}
	}
	return worst, cam
}

// allFramesAfter waits until every camera has a frame heard after since,
// and returns how long after since the last of them came.
func (c *v3Cluster) allFramesAfter(t *testing.T, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	var last time.Duration
	testbed.WaitFor(t, within, "a frame of every camera", func() bool {
		last = 0
		for _, esn := range c.cams {
			i := slices.IndexFunc(c.frameTimes(esn), func(at time.Time) bool { return at.After(since) })
			if i < 0 {
				return false
			}
			last = max(last, c.frameTimes(esn)[i].Sub(since))
		}
		return true
	})
	return last
}

// observe runs until d has passed, checking every quarter second that no
// refresh token was presented twice.
func (c *v3Cluster) observe(t *testing.T, d time.Duration) {
	t.Helper()
	until := time.Now().Add(d)
	ctx, cancel := context.WithTimeout(t.Context(), d+10*time.Second)
	defer cancel()
	err := testbed.Wait(ctx, d+5*time.Second, "the observed time to pass", func() bool {
		if st, err := testbed.SimStats(ctx, "http://"+c.stack.Sim.Addr("eensim")); err == nil && st.OAuth.RefreshReuses > 0 {
			t.Fatalf("a refresh token was presented twice (%d reuses)", st.OAuth.RefreshReuses)
		}
		return time.Now().After(until)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readyz reads a fetcher's /readyz.
func readyz(p *fetcherProc) (int, string) { return get("http://" + p.admin + "/readyz") }

// logCount is how many lines of p's log hold s.
func logCount(p *fetcherProc, s string) int {
	n := 0
	for line := range strings.Lines(p.logs.String()) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// alive are the fetchers not killed.
func (c *v3Cluster) alive() []*fetcherProc {
	var out []*fetcherProc
	for _, p := range c.fetchers {
		select {
		case <-p.Exited():
		default:
			out = append(out, p)
		}
	}
	return out
}

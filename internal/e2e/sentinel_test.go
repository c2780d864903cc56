package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// kill -9 of the Sentinel primary while 20 cameras stream to viewers of
// two web replicas: frames resume at every camera within the sentinels'
// promotion + LOCK_TTL + 1 s, no viewer ever gets an older frame after a
// newer one, nor a still poller, no two fetchers store one camera side by
// side, and every SSE stream carries on, the same HTTP response.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("Sentinel failover test: not in -short mode")
	}
	const (
		ncams   = 20
		lockTTL = 2 * time.Second
	)
	// As deployed: the README's users, each program logged in as its own
	// (the Sentinel form takes Redis' user and password as parameters).
	rules := readmeACL(t)
	set := testbed.Sentinels(t, testbed.SentinelOptions{DownAfter: 2 * time.Second, Users: []string{rules[fetcherUser], rules[webUser]}})
	login := func(user string) string { return set.URL() + "&username=" + user + "&password=" + aclPasswords[user] }
	prefix := preview.DefaultKeyPrefix // the README's rules name its keys
	var cams []preview.ESN
	for i := range ncams {
		cams = append(cams, preview.ESN(fmt.Sprintf("%08x", 0x10060000+i*0x101)))
	}
	bed := inproc.StartStack(t, inproc.Options{
		Cameras: joinESNs(cams), Interval: 250 * time.Millisecond, Fetchers: 2, Webs: 2,
		Fetcher: map[string]string{"REDIS_URL": login(fetcherUser), "LOCK_TTL": lockTTL.String(), "LOG_LEVEL": "info"},
		Web:     map[string]string{"REDIS_URL": login(webUser), "LOG_LEVEL": "warn"},
	})
	var ids []string
	for _, esn := range cams {
		ids = append(ids, string(esn))
	}
	bed.WaitServed(20*time.Second, ids...)
	var streams []*frameStream
	for _, w := range bed.Webs {
		for _, esn := range cams {
			streams = append(streams, openStream(t, w.URL("web")+"/preview/"+string(esn)+"/events"))
		}
	}
	stills := pollStills(t, bed.Web(), cams)
	stores := watchStores(t, []string{bed.Fetchers[0].URL("admin"), bed.Fetchers[1].URL("admin")})
	testbed.WaitFor(t, 20*time.Second, "every viewer to get frames", func() bool { return everyStreamHas(streams, time.Time{}, 3) })

	killed := time.Now()
	took := set.KillPrimary(func(r *testbed.RedisServer) { loseLastFrames(t, r, prefix, cams) })
	promoted := killed.Add(took)
	bound := took + lockTTL + time.Second
	t.Logf("kill -9 of the primary → replica promoted after %s; bound on the gap %s", fmtD(took), fmtD(bound))
	testbed.WaitFor(t, bound+15*time.Second, "frames again at every viewer", func() bool { return everyStreamHas(streams, promoted, 3) })

	var resumed []time.Duration
	for i, s := range streams {
		last, after := s.around(promoted)
		d := after[0].At.Sub(killed)
		resumed = append(resumed, d)
		if d > bound {
			t.Errorf("%s: first frame after the failover %s after the kill, want ≤ %s", s.url, fmtD(d), fmtD(bound))
		}
		if i < ncams { // web replica 0: one line per camera
			t.Logf("camera %s: resumed %s after the kill (gap between frames %s)", cams[i], fmtD(d), fmtD(after[0].At.Sub(last.At)))
		}
		if err := s.inOrder(); err != nil {
			t.Errorf("%s: %v", s.url, err)
		}
		if gone, err := s.ended(); gone {
			t.Errorf("%s: the stream ended (%v): the viewer would reconnect", s.url, err)
		}
	}
	slices.Sort(resumed)
	t.Logf("frames resumed at %d viewers after %s (min) %s (median) %s (max)", len(resumed),
		fmtD(resumed[0]), fmtD(resumed[len(resumed)/2]), fmtD(resumed[len(resumed)-1]))
	checkStills(t, stills)
	checkWriters(t, stores, cams)
	if r, err := refusals(set.Primary.Client()); err != nil || len(r) > 0 {
		t.Errorf("the new primary refused the stack %d times (%v):\n%s", len(r), err, strings.Join(r, "\n"))
	}
}

// loseLastFrames turns each camera's stored frame on the replica back by
// two seconds: what asynchronous replication leaves when the replica
// missed the primary's last writes, made certain rather than left to
// chance (on loopback a replica rarely lags by a frame). It runs after
// the kill, before the promotion.
func loseLastFrames(t *testing.T, r *testbed.RedisServer, prefix string, cams []preview.ESN) {
	ctx := context.Background()
	c := r.Client()
	if err := c.ConfigSet(ctx, "replica-read-only", "no").Err(); err != nil {
		t.Fatal(err)
	}
	for _, esn := range cams {
		key := preview.Keys{Prefix: prefix}.Frame(esn)
		ts, err := c.HGet(ctx, key, "ts").Result()
		if err != nil {
			t.Fatalf("frame of %s on the replica: %v", esn, err)
		}
		c.HSet(ctx, key, "ts", string(preview.FormatTimestamp(preview.Timestamp(ts).Time().Add(-2*time.Second))))
	}
	c.ConfigSet(ctx, "replica-read-only", "yes")
}

// everyStreamHas reports whether every stream heard n frames at or after since.
func everyStreamHas(streams []*frameStream, since time.Time, n int) bool {
	for _, s := range streams {
		if _, after := s.around(since); len(after) < n {
			return false
		}
	}
	return true
}

func checkStills(t *testing.T, p *stillPoller) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Logf("still poller: %d images; other answers by status (during the failover): %v", p.ok, p.other)
	for _, b := range p.backwards {
		t.Errorf("a still went back in time: %s", b)
	}
}

// checkWriters checks that no two leads of a camera ever stored its
// frames side by side.
func checkWriters(t *testing.T, stores *storeLog, cams []preview.ESN) {
	t.Helper()
	changes := 0
	for _, esn := range cams {
		n, runs := stores.writers(esn)
		changes += n
		if split := stores.splitLead(esn); split != "" {
			t.Errorf("camera %s: %s (writers:%s)", esn, split, runs)
		}
	}
	t.Logf("writers of the %d cameras' frames changed %d times in all", len(cams), changes)
}

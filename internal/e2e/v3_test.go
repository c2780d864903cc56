package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Three v3 fetchers (child processes) share one grant through Redis for
// 60 s while access tokens live 2 s, with 20 cameras and a web replica:
// the cluster refreshes about once per token life, not once per fetcher,
// and never presents a refresh token twice; frames are continuous at
// every camera, through a fetcher killed (SIGKILL) holding the refresh
// lock before its claim, and through a Redis restart (append-only file).
// Then a fetcher is killed after presenting its refresh token, its answer
// lost: the grant is lost, every fetcher says so once and is not ready,
// nobody calls the token endpoint, and "fetcher connect" brings frames
// back without restarting anything. No token or code appears in any log
// or HTTP answer, and the web replica's Redis user cannot read the set.
func TestV3SharedGrant(t *testing.T) {
	const interval, run = 500 * time.Millisecond, 60 * time.Second
	c := startV3Cluster(t, 3, 20, interval)
	start, s0 := time.Now(), c.simStats(t)

	c.observe(t, 12*time.Second)
	killed, itsCams := c.killBeforeClaim(t)
	c.observe(t, time.Until(start.Add(30*time.Second)))
	restarted := c.restartRedis(t)
	d := c.allFramesAfter(t, restarted, 20*time.Second)
	t.Logf("Redis restarted (append-only file): every camera stored a frame again within %s", d.Round(time.Millisecond))
	c.observe(t, time.Until(start.Add(run)))
	end, s1 := time.Now(), c.simStats(t)

	refreshes, lives := s1.OAuth.Refreshes-s0.OAuth.Refreshes, float64(end.Sub(start))/float64(v3Life)
	t.Logf("%s with 3 fetchers: %d refreshes in %.1f token lives (%.2f per life), %d reuses, %d grants revoked, %d API calls answered 401",
		end.Sub(start).Round(time.Second), refreshes, lives, float64(refreshes)/lives, s1.OAuth.RefreshReuses, s1.OAuth.GrantsRevoked, s1.OAuth.Unauthorized)
	if s1.OAuth.RefreshReuses != 0 || s1.OAuth.GrantsRevoked != 0 {
		t.Errorf("%d refresh tokens presented twice, %d grants revoked; want none", s1.OAuth.RefreshReuses, s1.OAuth.GrantsRevoked)
	}
	// Due a quarter of a life before expiry: about 1.2 per life; one per
	// fetcher would be 3 or more.
	if refreshes < 20 || refreshes > 45 {
		t.Errorf("%d refreshes in %.0f token lives: want 20..45, once per life in the cluster", refreshes, lives)
	}
	c.logRefreshers(t)
	c.checkGaps(t, start, killed, restarted, end, itsCams)
	c.checkWebUserDenied(t)

	c.loseGrantAndReconnect(t)
	c.checkNoSecrets(t)
}

// checkGaps bounds the longest time without a frame at any camera: in
// the steady state; across the kill, at the cameras the killed fetcher
// led (they wait for its camera locks to expire, LOCK_TTL 2 s) and at the
// others (they wait only for the refresh lock's TTL, 1 s, to pass: the
// token in use outlives it by half a second or so); across the restart.
func (c *v3Cluster) checkGaps(t *testing.T, start, killed, restarted, end time.Time, itsCams []preview.ESN) {
	rest := slices.DeleteFunc(slices.Clone(c.cams), func(e preview.ESN) bool { return slices.Contains(itsCams, e) })
	for _, w := range []struct {
		what     string
		cams     []preview.ESN
		from, to time.Time
		limit    time.Duration
	}{
		{"steady", c.cams, start, killed, 2 * time.Second},
		{"fetcher killed before its claim, its cameras", itsCams, killed, restarted, 5 * time.Second},
		{"fetcher killed before its claim, the other cameras", rest, killed, restarted, 2 * time.Second},
		{"Redis restarted", c.cams, restarted, end, 6 * time.Second},
	} {
		gap, cam := c.maxGap(w.cams, w.from, w.to)
		t.Logf("%s (%d cameras, %s): longest time without a frame %s (camera %s)",
			w.what, len(w.cams), w.to.Sub(w.from).Round(time.Second), gap.Round(time.Millisecond), cam)
		if gap > w.limit {
			t.Errorf("%s: camera %s went %s without a frame, want at most %s", w.what, cam, gap.Round(time.Millisecond), w.limit)
		}
	}
}

// logRefreshers logs how many refreshes each live fetcher made: whoever
// is due first, not each in turn.
func (c *v3Cluster) logRefreshers(t *testing.T) {
	var counts []string
	for _, p := range c.alive() {
		_, body := get("http://" + p.admin + "/metrics")
		for line := range strings.Lines(body) {
			if v, ok := strings.CutPrefix(line, "camrelay_een_v3_token_refreshes_total "); ok {
				counts = append(counts, strings.TrimSpace(v))
			}
		}
	}
	t.Logf("refreshes made by each live fetcher: %s", strings.Join(counts, ", "))
}

// killBeforeClaim holds the next refresh where its fetcher holds the
// refresh lock but has claimed nothing, and kills that fetcher (SIGKILL):
// another refreshes once the lock's TTL has passed, nobody signs in
// again. A fresh fetcher takes the dead one's place.
// It returns when, and the cameras the dead one led.
func (c *v3Cluster) killBeforeClaim(t *testing.T) (time.Time, []preview.ESN) {
	t.Helper()
	live := c.alive()
	id := c.orders.order(t, "arm claim", live...)
	h := c.orders.held(t, "claim", id, 3*v3Life+5*time.Second, live...)
	c.orders.order(t, "disarm", others(live, h)...)
	var led []preview.ESN
	for esn, st := range h.status() {
		if st.Leading {
			led = append(led, esn)
		}
	}
	before := c.tokenHash(t)
	h.Kill()
	killed := time.Now()
	if before["claim_owner"] != "" && before["claim_gen"] == before["gen"] {
		t.Fatalf("gen %s was claimed before the claim hook", before["gen"])
	}
	testbed.WaitFor(t, 10*time.Second, "another fetcher to refresh", func() bool { return c.tokenHash(t)["gen"] != before["gen"] })
	t.Logf("fetcher killed holding the refresh lock before its claim: gen %s refreshed by another %s later",
		before["gen"], time.Since(killed).Round(time.Millisecond))
	c.addFetcher(t, nil)
	for _, p := range c.alive() {
		if n := logCount(p, signInNeeded); n != 0 {
			t.Errorf("a fetcher said %q %d times after a kill before the claim", signInNeeded, n)
		}
	}
	return killed, led
}

// tokenHash is the token set's hash as the admin reads it.
func (c *v3Cluster) tokenHash(t *testing.T) map[string]string {
	h, err := c.rdb.HGetAll(context.Background(), keys.EENToken()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// others is ps without p.
func others(ps []*fetcherProc, p *fetcherProc) []*fetcherProc {
	return slices.DeleteFunc(slices.Clone(ps), func(q *fetcherProc) bool { return q == p })
}

// checkWebUserDenied: the fetchers, on the README's fetcher user, ran v3
// without Redis refusing them anything; the web user is refused the
// token set and its lock.
func (c *v3Cluster) checkWebUserDenied(t *testing.T) {
	if r, err := refusals(c.rdb); err != nil || len(r) > 0 {
		t.Errorf("Redis refused the camrelay users %d times (%v):\n%s", len(r), err, strings.Join(r, "\n"))
	}
	if c.tokenHash(t)["refresh_token"] == "" {
		t.Fatal("no token set in Redis")
	}
	token := keys.EENToken()
	expectRefused(t, userClient(t, c.rds, webUser), "web user, v3 running",
		[]any{"hgetall", token}, []any{"hget", token, "access_token"}, []any{"hget", token, "refresh_token"},
		[]any{"dump", token}, []any{"get", keys.EENTokenLock()},
		[]any{"eval", "return redis.call('hgetall', KEYS[1])", 1, token})
}

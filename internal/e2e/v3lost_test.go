package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/testbed"
)

// loseGrantAndReconnect kills the fetcher that is refreshing after it
// presented its refresh token, EEN's answer (the only copy of the next
// token) lost with it. The grant is lost: every fetcher's /readyz says
// so, its log once, its gauge too; nobody calls the token endpoint again;
// a new "fetcher connect" brings frames back with no fetcher restarted.
func (c *v3Cluster) loseGrantAndReconnect(t *testing.T) {
	live, killed, s0 := c.killWhilePresenting(t)
	testbed.WaitFor(t, 30*time.Second, "every fetcher to say "+signInNeeded, func() bool {
		for _, p := range live {
			if code, body := readyz(p); code != http.StatusServiceUnavailable || !strings.Contains(body, signInNeeded) {
				return false
			}
		}
		return true
	})
	lost := time.Since(killed)
	c.observe(t, 5*time.Second) // the token endpoint stays quiet meanwhile
	calls, s1 := c.gate.callsSince(killed), c.simStats(t)
	t.Logf("refresher killed after presenting: grant lost on every fetcher %s later (stale claim); token requests in the %s since the kill: %d; API calls answered 401: %d",
		lost.Round(time.Millisecond), time.Since(killed).Round(time.Second), calls, s1.OAuth.Unauthorized-s0.OAuth.Unauthorized)
	if calls != 0 {
		t.Errorf("%d token requests after the grant was lost, want none", calls)
	}
	c.checkSaidOnce(t, live, "1")
	c.reconnect(t, live, s1)
	c.checkSaidOnce(t, live, "0")
	if s := c.simStats(t); s.OAuth.RefreshReuses != 0 || s.OAuth.CodeExchanges != 2 {
		t.Errorf("%d refresh reuses, %d code exchanges; want 0 and 2 (two sign-ins)", s.OAuth.RefreshReuses, s.OAuth.CodeExchanges)
	}
}

// killWhilePresenting holds the next refresh after its claim, lets it
// present its token with the gate set to swallow the answer, and kills
// the fetcher once the simulator has rotated the token. It returns the
// fetchers still alive, when the kill was, and the counters before it.
func (c *v3Cluster) killWhilePresenting(t *testing.T) ([]*fetcherProc, time.Time, eensim.Stats) {
	live := c.alive()
	id := c.orders.order(t, "arm refresh", live...)
	h := c.orders.held(t, "refresh", id, 3*v3Life+5*time.Second, live...)
	live = others(live, h)
	c.orders.order(t, "disarm", live...)
	swallowed := c.gate.swallowNext()
	s0 := c.simStats(t)
	c.orders.order(t, "release", h)
	select {
	case <-swallowed:
	case <-time.After(10 * time.Second):
		t.Fatal("the held refresh never reached the token endpoint")
	}
	h.Kill() // EEN rotated the token; the answer dies with the fetcher
	killed := time.Now()
	if s := c.simStats(t); s.OAuth.Refreshes != s0.OAuth.Refreshes+1 {
		t.Fatalf("the simulator rotated %d tokens, want the held one", s.OAuth.Refreshes-s0.OAuth.Refreshes)
	}
	return live, killed, s0
}

// reconnect signs in again and waits until the running fetchers are
// ready, every camera has frames, and the new grant is refreshed.
func (c *v3Cluster) reconnect(t *testing.T, live []*fetcherProc, before eensim.Stats) {
	connected := c.signIn(t)
	testbed.WaitFor(t, 30*time.Second, "every fetcher ready again", func() bool {
		for _, p := range live {
			if code, _ := readyz(p); code != http.StatusOK {
				return false
			}
		}
		return true
	})
	ready := time.Since(connected.At)
	back := c.allFramesAfter(t, connected.At, 30*time.Second)
	t.Logf("fetcher connect (%s) → every fetcher ready %s and every camera's frames back %s after it stored the grant, no fetcher restarted",
		connected.Took.Round(time.Millisecond), ready.Round(time.Millisecond), back.Round(time.Millisecond))
	testbed.WaitFor(t, 3*v3Life+5*time.Second, "a refresh of the new grant", func() bool {
		return c.simStats(t).OAuth.Refreshes > before.OAuth.Refreshes
	})
}

// checkSaidOnce: each fetcher logged the loss exactly once, however long
// it lasted, and its gauge reads gauge.
func (c *v3Cluster) checkSaidOnce(t *testing.T, ps []*fetcherProc, gauge string) {
	t.Helper()
	for i, p := range ps {
		if n := logCount(p, fmt.Sprintf("msg=%q", signInNeeded)); n != 1 {
			t.Errorf("fetcher %d logged %q %d times, want once", i, signInNeeded, n)
		}
		waitForMetrics(t, "http://"+p.admin, "camrelay_een_v3_sign_in_needed "+gauge)
	}
}

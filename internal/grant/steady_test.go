package grant_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Five fetchers share one grant for several token lives: the cluster
// refreshes about once per life (a quarter of the life ahead of expiry,
// not once per fetcher), never presents a refresh token twice, and every
// Token call gets an access token still valid when it returns.
func TestOneRefreshPerLife(t *testing.T) {
	for _, tc := range []struct{ life, run, settle time.Duration }{
		{2 * time.Second, 8 * time.Second, 0}, // the default settle, capped at a sixteenth of the life
		{300 * time.Millisecond, 4 * time.Second, -1},
	} {
		t.Run(tc.life.String(), func(t *testing.T) {
			c := newCluster(t, tc.life, testbed.RedisOptions{})
			c.base.ClaimSettle = tc.settle
			c.connect()
			for range 5 {
				c.add(nil)
			}
			calls, bad := hammer(c, tc.run)
			_, refreshes, _ := c.een.counts()
			c.noReuse()
			lives := float64(tc.run) / float64(tc.life)
			t.Logf("life %s, %s: %d refreshes (%.1f lives), %d Token calls, %d without a valid token",
				tc.life, tc.run, refreshes, lives, calls, bad)
			if bad != 0 {
				t.Errorf("%d of %d Token calls got no valid access token", bad, calls)
			}
			// Due at three quarters of a life, plus a jitter of a sixteenth.
			if lo, hi := int(lives)-1, int(lives*4/3)+1; refreshes < lo || refreshes > hi {
				t.Errorf("%d refreshes in %.1f lives, want %d to %d", refreshes, lives, lo, hi)
			}
			c.allUsable()
		})
	}
}

// hammer calls Token on every node from three goroutines each for d, and
// returns how many calls there were and how many got no access token that
// the endpoint holds valid at the moment Token returned it.
func hammer(c *cluster, d time.Duration) (calls, bad int64) {
	var n, failed atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for _, node := range c.nodes {
		for range 3 {
			wg.Go(func() {
				pace := time.NewTicker(5 * time.Millisecond) // a load's pace, not a wait for an event
				defer pace.Stop()
				for ctx.Err() == nil {
					set, err := node.Token(ctx)
					if ctx.Err() != nil {
						return
					}
					n.Add(1)
					if err != nil || !c.een.validAt(set.AccessToken, time.Now()) {
						failed.Add(1)
						c.t.Logf("Token: %v", err)
					}
					select {
					case <-pace.C:
					case <-ctx.Done():
					}
				}
			})
		}
	}
	wg.Wait()
	return n.Load(), failed.Load()
}

// A 401 from every fetcher at once refreshes once in the cluster, and
// they all get the new set; a set refreshed moments ago is not refreshed
// again on a 401 (a storm of 401s is no storm at the token endpoint).
func TestRejectedRefreshesOnce(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{})
	c.connect()
	connected := time.Now()
	for range 5 {
		c.add(func(cfg *grant.Config) { cfg.RejectedMinAge = 300 * time.Millisecond })
	}
	stale, err := c.nodes[0].Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Too young to be refreshed on a 401.
	if _, err := c.nodes[1].Rejected(t.Context(), stale); err == nil || retryIn(err) <= 0 {
		t.Fatalf("Rejected on a fresh set = %v, want an error with a wait", err)
	}
	waitFor(t, 5*time.Second, "the set to be 300 ms old", func() bool { return time.Since(connected) > 400*time.Millisecond })
	got := make([]string, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() {
			set, err := n.Rejected(t.Context(), stale)
			if err == nil {
				got[i] = set.AccessToken
			}
		})
	}
	wg.Wait()
	_, refreshes, _ := c.een.counts()
	c.noReuse()
	for i, at := range got {
		if at == "" || at == stale.AccessToken || !c.een.validAt(at, time.Now()) {
			t.Errorf("node %d after a 401: no new valid token", i)
		}
	}
	if refreshes != 1 {
		t.Errorf("%d refreshes for one 401 seen by 5 fetchers, want 1", refreshes)
	}
}

func retryIn(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}

var _ grant.RefreshFunc = newFakeEEN(0).refresh

// The errors Token and Rejected give when there is nothing to give.
func TestNoSetIsSignInNeeded(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{})
	n := c.add(nil)
	if _, err := n.Token(t.Context()); !errors.Is(err, eenv3.ErrSignInNeeded) {
		t.Errorf("Token with no set in Redis = %v", err)
	}
	n.TestSignals.Lost.WaitOrTimeout(t)
	c.connect()
	n.TestSignals.Usable.WaitOrTimeout(t)
	if _, err := n.Token(t.Context()); err != nil {
		t.Errorf("Token after connect = %v", err)
	}
	if n.count("EEN v3 sign-in needed: run fetcher connect") != 1 {
		t.Errorf("logs:\n%s", n.logs)
	}
}

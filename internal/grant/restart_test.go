package grant_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

// pause returns a hook that stops the first refresh to reach it until the
// test closes resume (or ends), and a channel closed when it is reached.
func (c *cluster) pause() (hook func(context.Context), reached, resume chan struct{}) {
	reached, resume = make(chan struct{}), make(chan struct{})
	first := true
	return func(context.Context) {
		if !first {
			return
		}
		first = false
		close(reached)
		select {
		case <-resume:
		case <-c.ending:
		}
	}, reached, resume
}

// Redis restarted again and again under five fetchers, empty or from its
// append-only file: no refresh token is presented twice, and the grant
// lives on.
func TestRedisRestartsNoReuse(t *testing.T) {
	for _, opt := range []testbed.RedisOptions{{}, {AppendOnly: true, AppendFsync: "always"}} {
		t.Run(fmt.Sprintf("appendonly=%v", opt.AppendOnly), func(t *testing.T) {
			c := newCluster(t, time.Second, opt)
			c.connect()
			for range 5 {
				c.add(nil)
			}
			done := make(chan struct{})
			var calls, bad int64
			go func() { defer close(done); calls, bad = hammer(c, 6*time.Second) }()
			for i := range 4 {
				observe(1200 * time.Millisecond) // let refreshes happen between restarts
				if err := c.srv.Restart(); err != nil {
					t.Fatalf("restart %d: %v", i, err)
				}
			}
			<-done
			_, refreshes, _ := c.een.counts()
			t.Logf("4 restarts in 6s, life 1s: %d refreshes, %d Token calls, %d without a valid token", refreshes, calls, bad)
			c.noReuse()
			for _, n := range c.nodes {
				if _, err := n.Token(t.Context()); err != nil || n.Lost() != nil {
					t.Errorf("after the restarts: Token = %v, Lost() = %v", err, n.Lost())
				}
			}
		})
	}
}

// Redis restarts empty while a fetcher is between its claim and its call,
// and the others, who never saw the claim, write the set back and want to
// refresh it at once (a 401): the hold on the write-back keeps them from
// presenting the claimed token before the claimer lands its answer, or
// marks the grant lost when its answer never came.
func TestRestartDuringRefresh(t *testing.T) {
	for _, answered := range []bool{true, false} {
		t.Run(map[bool]string{true: "answered", false: "unanswered"}[answered], func(t *testing.T) {
			c := newCluster(t, time.Hour, testbed.RedisOptions{})
			c.only401s()
			gen := c.connect()
			if !answered {
				c.een.set(func(f *fakeEEN) {
					f.after = func(int) error { return fmt.Errorf("fake: reset: %w", eenv3.ErrUnanswered) }
				})
			}
			hook, reached, resume := c.pause()
			claimer := c.add(func(cfg *grant.Config) { cfg.Hooks.BeforeRefresh = hook })
			others := []*node{c.add(nil), c.add(nil)}
			stale := make([]eenv3.TokenSet, 3)
			for i, n := range append(others, claimer) {
				stale[i], _ = n.Token(t.Context())
			}
			go claimer.Rejected(context.Background(), stale[2])
			<-reached
			if err := c.srv.Restart(); err != nil {
				t.Fatal(err)
			}
			for i, n := range others {
				if set, err := n.Rejected(t.Context(), stale[i]); err == nil {
					t.Fatalf("refreshed during the hold: gen %d, %v", c.read().Gen, set.Expiry)
				}
			}
			if r := c.read(); r.Gen != gen || !r.Restored {
				t.Fatalf("no write-back: %d, restored %v", r.Gen, r.Restored)
			}
			close(resume)
			if answered {
				claimer.TestSignals.Refreshed.WaitOrTimeout(t)
			} else {
				claimer.TestSignals.Lost.WaitOrTimeout(t)
			}
			for i, n := range others {
				_, err := n.Rejected(t.Context(), stale[i])
				if answered && err != nil || !answered && !errors.Is(err, eenv3.ErrSignInNeeded) {
					t.Errorf("after the claimer's answer: %v", err)
				}
			}
			c.noReuse()
			if calls, _, _ := c.een.counts(); calls != 1 {
				t.Errorf("%d refresh calls, want 1", calls)
			}
		})
	}
}

// A claim that waited ClaimSettle is in the append-only file: Redis killed
// and restarted from it still fences the token.
func TestClaimSurvivesRedisCrash(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{AppendOnly: true, AppendFsync: "everysec"})
	c.only401s()
	c.base.ClaimSettle = 1200 * time.Millisecond
	gen := c.connect()
	hook, reached, resume := c.pause()
	claimer := c.add(func(cfg *grant.Config) { cfg.Hooks.BeforeRefresh = hook })
	stale, _ := claimer.Token(t.Context())
	go claimer.Rejected(context.Background(), stale)
	<-reached
	c.srv.Kill()
	if err := c.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if r := c.read(); r.Gen != gen || r.ClaimOwner == "" {
		t.Fatalf("after the crash: gen %d (want %d), claimed by %q", r.Gen, gen, r.ClaimOwner)
	}
	other := c.add(nil)
	close(resume)
	claimer.TestSignals.Refreshed.WaitOrTimeout(t)
	if _, err := other.Rejected(t.Context(), stale); err != nil {
		t.Errorf("the other fetcher after the refresh: %v", err)
	}
	c.noReuse()
}

// A seed given again after Redis lost everything (EEN_REFRESH_TOKEN still
// set, its fingerprint gone) yields to the running fetchers' newer set:
// they write it back within the seed's hold, and the spent seed is never
// presented again.
func TestSeedYieldsToRunningFetchers(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{})
	c.only401s()
	first := c.een.connect()
	seeder := c.add(func(cfg *grant.Config) { cfg.PollEvery = 500 * time.Millisecond })
	if res, err := seeder.Seed(t.Context(), first.RefreshToken); err != nil || res != redisstore.Seeded {
		t.Fatalf("seed = %v, %v", res, err)
	}
	seeder.TestSignals.Refreshed.WaitOrTimeout(t) // the seed is presented once, and spent
	if res, _ := seeder.Seed(t.Context(), first.RefreshToken); res != redisstore.SeedUsed {
		t.Errorf("the same seed again = %v", res)
	}
	running := c.add(nil)
	inHand, err := running.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	late := c.add(func(cfg *grant.Config) { cfg.PollEvery = 500 * time.Millisecond })
	if res, err := late.Seed(t.Context(), first.RefreshToken); err != nil || res != redisstore.Seeded {
		t.Fatalf("seed into an empty Redis = %v, %v", res, err)
	}
	// A 401 makes the running fetcher look: it writes its newer set back.
	running.Rejected(t.Context(), inHand)
	waitFor(t, 5*time.Second, "a write-back over the seed", func() bool { return c.read().Gen > 1 })
	if _, err := late.Token(t.Context()); err != nil {
		t.Errorf("the late fetcher's Token = %v", err)
	}
	c.noReuse()
	if calls, _, _ := c.een.counts(); calls > 2 {
		t.Errorf("%d refresh calls, want 2 at most", calls)
	}
}

// A fetcher killed with EEN's answer in hand, and Redis restarted empty:
// the write-back (here by the test, as a fetcher that never saw the claim
// would make it) lacks the claim, and a fetcher that saw it puts it back
// within the hold, so nobody presents the spent token after the hold.
func TestSeenClaimPutBackIntoWriteBack(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{})
	c.only401s()
	c.connect()
	stall, killed, _ := c.pause()
	a := c.add(afterAnswer(stall)) // killed with the answer in hand
	b := c.add(nil)
	stale, _ := b.Token(t.Context())
	go a.Rejected(context.Background(), stale)
	<-killed
	a.kill()
	if _, err := b.Rejected(t.Context(), stale); err == nil { // B sees A's claim
		t.Fatal("B refreshed under A's claim")
	}
	c.wipe(300 * time.Millisecond)
	b.Rejected(t.Context(), stale) // B looks, and puts A's claim back
	if r := c.read(); r.ClaimOwner == "" {
		t.Error("the claim B saw was not put back")
	}
	d := c.add(func(cfg *grant.Config) { cfg.PollEvery = 100 * time.Millisecond }) // its stale-claim age: 1 s
	waitFor(t, 10*time.Second, "the grant to be reported lost", func() bool {
		_, err := d.Rejected(t.Context(), stale)
		return errors.Is(err, eenv3.ErrSignInNeeded)
	})
	c.noReuse()
	if calls, _, _ := c.een.counts(); calls != 1 {
		t.Errorf("%d refresh calls, want 1", calls)
	}
}

// A claim that Redis loses during the claimer's settle wait (restarted
// empty, the set written back without it) fences nothing: the claimer
// checks it is still there before presenting, and does not present.
func TestClaimLostDuringSettle(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{})
	c.only401s()
	c.base.RefreshTimeout = 2 * time.Second
	c.een.set(func(f *fakeEEN) { f.delay = 500 * time.Millisecond })
	c.connect()
	a := c.add(func(cfg *grant.Config) { cfg.ClaimSettle = time.Second })
	stale, _ := a.Token(t.Context())
	doneA := make(chan struct{})
	go func() { defer close(doneA); a.Rejected(context.Background(), stale) }()
	waitFor(t, 5*time.Second, "A's claim", func() bool { return c.read().ClaimOwner != "" })
	c.wipe(300 * time.Millisecond)
	d := c.add(nil)
	waitFor(t, 10*time.Second, "D to refresh", func() bool {
		_, err := d.Rejected(t.Context(), stale)
		return err == nil
	})
	<-doneA
	c.noReuse()
}

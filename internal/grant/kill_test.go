package grant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/testbed"
)

// A fetcher killed holding the lock but before its claim costs nothing:
// once the lock's TTL has passed another refreshes, in time.
func TestKilledBeforeClaim(t *testing.T) {
	c := newCluster(t, 2*time.Second, testbed.RedisOptions{})
	gen := c.connect()
	hook, reached := c.block()
	victim := c.add(func(cfg *grant.Config) { cfg.Hooks.BeforeClaim = hook })
	<-reached
	victim.kill()
	others := []*node{c.add(nil), c.add(nil)}
	waitFor(t, 10*time.Second, "another fetcher to refresh", func() bool { return c.read().Gen > gen })
	calls, _, _ := c.een.counts()
	if calls != 1 {
		t.Errorf("%d refresh calls, want 1", calls)
	}
	for _, n := range others {
		if _, err := n.Token(t.Context()); err != nil || n.Lost() != nil {
			t.Errorf("Token = %v, Lost() = %v", err, n.Lost())
		}
	}
	c.noReuse()
}

// A fetcher killed after its claim, whether before presenting the token or
// after (the new token dies with it), never has its token presented again
// by another: the grant is reported lost, once per fetcher, and the token
// endpoint is not called again.
func TestKilledAfterClaim(t *testing.T) {
	for _, presented := range []bool{false, true} {
		name := map[bool]string{false: "before presenting", true: "after presenting"}[presented]
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, time.Second, testbed.RedisOptions{})
			c.connect()
			hook, reached := c.block()
			change := afterAnswer(hook) // killed with the answer in hand
			if !presented {
				change = func(cfg *grant.Config) { cfg.Hooks.BeforeRefresh = hook }
			}
			victim := c.add(change)
			<-reached
			victim.kill()
			others := []*node{c.add(nil), c.add(nil), c.add(nil)}
			for _, n := range others {
				lost := n.TestSignals.Lost.WaitOrTimeout(t)
				if lost == "" || !errors.Is(n.Lost(), eenv3.ErrSignInNeeded) {
					t.Errorf("lost %q, Lost() = %v", lost, n.Lost())
				}
			}
			want := map[bool]int{false: 0, true: 1}[presented]
			observe(5 * c.base.PollEvery) // nobody calls the token endpoint meanwhile
			if calls, _, _ := c.een.counts(); calls != want {
				t.Errorf("%d refresh calls, want %d", calls, want)
			}
			for _, n := range others {
				if k := n.count("EEN v3 sign-in needed: run fetcher connect"); k != 1 {
					t.Errorf("%d sign-in lines, want 1:\n%s", k, n.logs)
				}
			}
			c.noReuse()
		})
	}
}

// observe lets d pass: a window in which a test checks that something
// does NOT happen (there is no event to wait for).
func observe(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	<-t.C
}

// A lock lost to a slow refresh (its TTL far shorter than the call) lets
// others in, but the claim keeps them from presenting the same token.
func TestLostLockNoReuse(t *testing.T) {
	c := newCluster(t, time.Second, testbed.RedisOptions{})
	c.base.LockTTL = 40 * time.Millisecond
	c.base.RefreshTimeout = 2 * time.Second
	c.een.set(func(f *fakeEEN) { f.delay = 250 * time.Millisecond })
	c.connect()
	for range 5 {
		c.add(nil)
	}
	calls, bad := hammer(c, 4*time.Second)
	_, refreshes, _ := c.een.counts()
	t.Logf("lock TTL 40ms, refresh 250ms, life 1s, 4s: %d refreshes, %d Token calls, %d without a valid token", refreshes, calls, bad)
	c.noReuse()
	if refreshes < 3 {
		t.Errorf("%d refreshes in 4 lives", refreshes)
	}
	c.allUsable()
}

// A fetcher that read the set under the lock, then stalled past the lock's
// TTL before claiming (a GC pause, SIGSTOP), finds another's claim when it
// resumes: the claim, not the lock, keeps it from presenting the token.
func TestLockLostBeforeClaim(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{})
	c.only401s()
	c.connect()
	stallA, stalledA, resumeA := c.pause()
	stallB, claimedB, resumeB := c.pause()
	a := c.add(func(cfg *grant.Config) { cfg.Hooks.BeforeClaim = stallA })
	b := c.add(func(cfg *grant.Config) { cfg.Hooks.BeforeRefresh = stallB })
	stale, err := a.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	go func() { _, err := a.Rejected(context.Background(), stale); doneA <- err }()
	<-stalledA // A holds the lock, read the set, decided to refresh
	go func() { _, err := b.Rejected(context.Background(), stale); doneB <- err }()
	<-claimedB // A's lock expired; B took it and claimed
	close(resumeA)
	if err := <-doneA; err == nil {
		t.Error("A got a new set while B's refresh is in progress")
	}
	close(resumeB)
	if err := <-doneB; err != nil {
		t.Errorf("B: %v", err)
	}
	c.noReuse()
	if calls, _, _ := c.een.counts(); calls != 1 {
		t.Errorf("%d refresh calls, want 1", calls)
	}
}

// A claim released after an answer without rotation (a 503), by a fetcher
// that then dies, is not mistaken by one that saw it for a claim Redis
// forgot: it is not put back, and the grant is refreshed, not lost.
func TestReleasedClaimIsNotPutBack(t *testing.T) {
	c := newCluster(t, time.Hour, testbed.RedisOptions{})
	c.only401s()
	c.connect()
	c.een.set(func(f *fakeEEN) { f.before = func(n int) error { return errors.New("fake: 503") } })
	stall, claimed, resume := c.pause()
	a := c.add(func(cfg *grant.Config) { cfg.Hooks.BeforeRefresh = stall })
	b := c.add(nil)
	stale, _ := b.Token(t.Context())
	doneA := make(chan struct{})
	go func() { defer close(doneA); a.Rejected(context.Background(), stale) }()
	<-claimed
	if _, err := b.Rejected(t.Context(), stale); err == nil { // B sees A's claim
		t.Fatal("B refreshed under A's claim")
	}
	close(resume)
	<-doneA // A's refresh got a 503 and gave the claim back
	a.kill()
	c.een.set(func(f *fakeEEN) { f.before = nil })
	waitFor(t, 5*time.Second, "B to refresh", func() bool {
		_, err := b.Rejected(t.Context(), stale)
		return err == nil
	})
	if b.Lost() != nil {
		t.Errorf("Lost() = %v", b.Lost())
	}
	c.noReuse()
}

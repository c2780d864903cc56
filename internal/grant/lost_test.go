package grant_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/testbed"
)

const signInLine = "EEN v3 sign-in needed: run fetcher connect"

// When EEN revokes the grant, every fetcher reports it once (log, gauge,
// Lost), nobody calls the token endpoint again, and a new grant put in
// Redis ("fetcher connect") brings them all back within seconds.
func TestSignInNeededThenConnect(t *testing.T) {
	c := newCluster(t, time.Second, testbed.RedisOptions{})
	c.connect()
	c.een.set(func(f *fakeEEN) { f.revoked = true })
	for range 3 {
		c.add(nil)
	}
	for _, n := range c.nodes {
		n.TestSignals.Lost.WaitOrTimeout(t)
	}
	observe(5 * c.base.PollEvery)
	if calls, _, _ := c.een.counts(); calls != 1 {
		t.Errorf("%d refresh calls after the grant was revoked, want 1", calls)
	}
	for _, n := range c.nodes {
		if !errors.Is(n.Lost(), eenv3.ErrSignInNeeded) || n.count(signInLine) != 1 || gauge(t, n, "sign_in_needed") != 1 {
			t.Errorf("Lost() = %v, gauge %v, logs:\n%s", n.Lost(), gauge(t, n, "sign_in_needed"), n.logs)
		}
		if _, err := n.Rejected(t.Context(), eenv3.TokenSet{AccessToken: "SECRET-at-1"}); !errors.Is(err, eenv3.ErrSignInNeeded) {
			t.Errorf("Rejected on a lost grant = %v", err)
		}
	}
	c.connect()
	for _, n := range c.nodes {
		n.TestSignals.Usable.WaitOrTimeout(t)
		if n.Lost() != nil || gauge(t, n, "sign_in_needed") != 0 {
			t.Errorf("after connect: Lost() = %v", n.Lost())
		}
	}
	waitFor(t, 5*time.Second, "a refresh of the new grant", func() bool { _, r, _ := c.een.counts(); return r >= 1 })
	c.noReuse()
	for _, n := range c.nodes {
		if _, err := n.Token(t.Context()); err != nil || n.count(signInLine) != 1 {
			t.Errorf("Token = %v; logs:\n%s", err, n.logs)
		}
	}
}

// A refresh that went unanswered spends its token: the grant is lost at
// once, the access token in hand serves until it expires, and the token
// endpoint hears nothing more. The same when the call runs out of time,
// whatever error it returns.
func TestUnansweredSpendsTheToken(t *testing.T) {
	for _, cutOff := range []bool{false, true} {
		t.Run(map[bool]string{false: "ErrUnanswered", true: "timed out"}[cutOff], func(t *testing.T) {
			c := newCluster(t, 2*time.Second, testbed.RedisOptions{})
			c.connect()
			c.een.set(func(f *fakeEEN) {
				if cutOff {
					f.delay = time.Hour
					return
				}
				f.after = func(int) error { return fmt.Errorf("fake: connection reset: %w", eenv3.ErrUnanswered) }
			})
			for range 3 {
				c.add(nil)
			}
			for _, n := range c.nodes {
				n.TestSignals.Lost.WaitOrTimeout(t)
				if set, err := n.Token(t.Context()); err != nil && !errors.Is(err, eenv3.ErrSignInNeeded) ||
					err == nil && !c.een.validAt(set.AccessToken, time.Now()) {
					t.Errorf("Token on a lost grant = %v", err)
				}
			}
			observe(5 * c.base.PollEvery)
			if calls, _, _ := c.een.counts(); calls != 1 {
				t.Errorf("%d refresh calls, want 1", calls)
			}
			c.noReuse()
		})
	}
}

// Refreshes EEN answers without rotating (5xx, 429) hold the whole
// cluster off with a growing wait, and Retry-After longer still.
func TestRetryableErrorsBackOff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		most     int
		duration time.Duration
	}{
		// 100, 200, 400, 800, 1000, 1000 ms (half of each random): at most 8 in 3 s.
		{"5xx", errors.New("fake: 503"), 8, 3 * time.Second},
		{"429 Retry-After 1s", &retryErr{time.Second}, 4, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 300*time.Millisecond, testbed.RedisOptions{})
			c.connect()
			c.een.set(func(f *fakeEEN) { f.before = func(int) error { return tc.err } })
			for range 5 {
				c.add(nil)
			}
			observe(tc.duration)
			calls, _, _ := c.een.counts()
			t.Logf("%s: %d refresh calls by 5 fetchers in %s", tc.name, calls, tc.duration)
			if calls < 2 || calls > tc.most {
				t.Errorf("%d calls, want 2 to %d", calls, tc.most)
			}
			c.een.set(func(f *fakeEEN) { f.before = nil })
			waitFor(t, 5*time.Second, "a refresh once EEN recovers", func() bool { _, r, _ := c.een.counts(); return r > 0 })
			for _, n := range c.nodes {
				if _, err := n.Token(t.Context()); err != nil || n.Lost() != nil {
					t.Errorf("Token = %v, Lost() = %v", err, n.Lost())
				}
			}
			c.noReuse()
		})
	}
}

type retryErr struct{ wait time.Duration }

func (e *retryErr) Error() string             { return "fake: 429" }
func (e *retryErr) RetryAfter() time.Duration { return e.wait }

// A fetcher whose client secret EEN refuses says so (Lost, one line),
// steps back, and leaves the refreshing to fetchers whose secret works.
func TestClientRejected(t *testing.T) {
	c := newCluster(t, time.Second, testbed.RedisOptions{})
	c.connect()
	bad := c.add(func(cfg *grant.Config) {
		cfg.Refresh = func(context.Context, string) (eenv3.TokenSet, error) {
			return eenv3.TokenSet{}, fmt.Errorf("fake: invalid_client: %w", eenv3.ErrClientRejected)
		}
	})
	waitFor(t, 5*time.Second, "the refusal", func() bool { return errors.Is(bad.Lost(), eenv3.ErrClientRejected) })
	good := c.add(nil)
	waitFor(t, 5*time.Second, "a good fetcher to refresh", func() bool { _, r, _ := c.een.counts(); return r >= 2 })
	if _, err := bad.Token(t.Context()); err != nil {
		t.Errorf("the refused fetcher's Token = %v (the shared set works for it)", err)
	}
	if good.Lost() != nil || bad.count("EEN v3 refused the client id or secret") != 1 {
		t.Errorf("good Lost() = %v; bad logs:\n%s", good.Lost(), bad.logs)
	}
	c.noReuse()
}

// No token appears in any log line (debug included), metric or error,
// through refreshes, failures and a lost grant.
func TestNoTokenInLogsMetricsOrErrors(t *testing.T) {
	c := newCluster(t, 300*time.Millisecond, testbed.RedisOptions{})
	c.connect()
	var errs []string
	var k atomic.Int64
	for range 3 {
		c.add(func(cfg *grant.Config) {
			refresh := cfg.Refresh
			cfg.Refresh = func(ctx context.Context, rt string) (eenv3.TokenSet, error) {
				if k.Add(1)%3 == 0 {
					// An error that quotes what was sent: the Manager must not pass it on.
					return eenv3.TokenSet{}, fmt.Errorf("fake: 503 for refresh_token=%s", rt)
				}
				return refresh(ctx, rt)
			}
		})
	}
	waitFor(t, 10*time.Second, "some refreshes", func() bool { _, r, _ := c.een.counts(); return r >= 4 })
	c.een.set(func(f *fakeEEN) { f.revoked = true })
	for _, n := range c.nodes {
		n.TestSignals.Lost.WaitOrTimeout(t)
		inHand, _ := n.Token(t.Context())
		_, err := n.Rejected(t.Context(), inHand)
		if err == nil {
			t.Fatal("Rejected on a lost grant gave a set")
		}
		errs = append(errs, err.Error(), n.Lost().Error())
	}
	for _, n := range c.nodes {
		if mfs, err := n.reg.Gather(); err != nil || len(mfs) == 0 {
			t.Fatalf("metrics: %d, %v", len(mfs), err)
		}
		text := n.logs.String() + strings.Join(errs, "\n") + gathered(t, n)
		if strings.Contains(text, "SECRET") {
			t.Errorf("a token leaked:\n%s", text)
		}
	}
}

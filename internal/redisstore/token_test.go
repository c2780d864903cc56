package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

func tokenSet(n string) eenv3.TokenSet {
	return eenv3.TokenSet{AccessToken: "SECRET-at-" + n, RefreshToken: "SECRET-rt-" + n,
		Expiry: time.Now().Add(time.Hour).Truncate(time.Millisecond), BaseURL: "https://api.example.com"}
}

func record(gen int64, n string) redisstore.TokenRecord {
	return redisstore.TokenRecord{Set: tokenSet(n), Issued: time.Now().Truncate(time.Millisecond), Gen: gen}
}

func sameSet(a, b eenv3.TokenSet) bool {
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken && a.BaseURL == b.BaseURL &&
		a.Expiry.Sub(b.Expiry).Abs() < time.Second
}

func mustRead(t *testing.T, s *redisstore.Store) redisstore.TokenRecord {
	t.Helper()
	r, err := s.ReadToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Once a gen is claimed, no other owner can claim it, whoever holds the
// lock; a newer set makes the claim on the old gen impossible.
func TestTokenClaimIsTheFence(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if r := mustRead(t, s); r.Gen != 0 {
		t.Fatalf("empty Redis read as gen %d", r.Gen)
	}
	if res, _, _ := s.ClaimToken(ctx, 0, "a"); res != redisstore.ClaimStale {
		t.Errorf("claim on no set = %d", res)
	}
	s.SaveToken(ctx, record(5, "5"), 0)
	claim := func(gen int64, owner string, want redisstore.ClaimResult) time.Duration {
		t.Helper()
		res, wait, err := s.ClaimToken(ctx, gen, owner)
		if err != nil || res != want {
			t.Fatalf("claim gen %d by %s = %d, %v; want %d", gen, owner, res, err, want)
		}
		return wait
	}
	claim(5, "a", redisstore.Claimed)
	claim(5, "b", redisstore.ClaimTaken)
	claim(5, "a", redisstore.ClaimKept) // asked again: the claim is still there
	claim(4, "b", redisstore.ClaimStale)
	if r := mustRead(t, s); r.ClaimOwner != "a" || r.Gen != 5 || !sameSet(r.Set, tokenSet("5")) {
		t.Errorf("read %+v", r)
	}
	if ok, _ := s.ReleaseToken(ctx, 5, "b", 0); ok {
		t.Error("b released a's claim")
	}
	if ok, _ := s.ReleaseToken(ctx, 5, "a", time.Hour); !ok {
		t.Error("a could not release its claim")
	}
	if wait := claim(5, "b", redisstore.ClaimHeld); wait <= 59*time.Minute {
		t.Errorf("held for %s, want about an hour", wait)
	}
	if r := mustRead(t, s); r.Failures != 1 || r.ClaimOwner != "" {
		t.Errorf("after a release: %+v", r)
	}
	s.SaveToken(ctx, record(6, "6"), 0) // a new set clears the back-off
	claim(5, "b", redisstore.ClaimStale)
	claim(6, "b", redisstore.Claimed)
	s.LoseToken(ctx, 6, "gone", 0)
	claim(6, "a", redisstore.ClaimOnLost)
}

// SaveToken writes only a newer gen, or puts back a claim Redis forgot;
// a write-back with a hold keeps claims off.
func TestSaveTokenOnlyNewer(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	save := func(r redisstore.TokenRecord, hold time.Duration, want bool) {
		t.Helper()
		if ok, err := s.SaveToken(ctx, r, hold); err != nil || ok != want {
			t.Fatalf("save gen %d = %v, %v; want %v", r.Gen, ok, err, want)
		}
	}
	save(record(5, "5"), 0, true)
	save(record(4, "4"), 0, false)
	save(record(5, "other"), 0, false)
	claimed := record(5, "5")
	claimed.ClaimOwner = "a"
	save(claimed, 0, true)
	save(claimed, 0, false)
	if r := mustRead(t, s); r.ClaimOwner != "a" || !sameSet(r.Set, tokenSet("5")) {
		t.Errorf("claim put back: %+v", r)
	}
	s.LoseToken(ctx, 5, "gone", 0)
	back := record(7, "7")
	back.ClaimOwner = "c"
	save(back, time.Hour, true)
	r := mustRead(t, s)
	if r.Gen != 7 || r.Lost != "" || r.ClaimOwner != "c" || !sameSet(r.Set, tokenSet("7")) {
		t.Errorf("written back: %+v", r)
	}
	save(record(8, "8"), time.Hour, true)
	if res, _, _ := s.ClaimToken(ctx, 8, "a"); res != redisstore.ClaimHeld {
		t.Errorf("claim within a write-back's hold = %d", res)
	}
	// A write-back stays marked restored until the first claim after its hold.
	save(record(9, "9"), 20*time.Millisecond, true)
	if !mustRead(t, s).Restored {
		t.Error("a write-back not marked restored")
	}
	testbed.WaitFor(t, 5*time.Second, "a claim after the hold", func() bool {
		res, _, err := s.ClaimToken(ctx, 9, "a")
		return err == nil && res == redisstore.Claimed
	})
	if mustRead(t, s).Restored {
		t.Error("still marked restored after a claim")
	}
	save(record(10, "10"), 0, true)
	if r := mustRead(t, s); r.Restored || r.ClaimOwner != "" {
		t.Errorf("a refreshed set: %+v", r)
	}
}

// LoseToken with an age marks only a claim that old.
func TestLoseTokenStaleClaim(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	s.SaveToken(ctx, record(3, "3"), 0)
	if ok, _ := s.LoseToken(ctx, 3, "stale", time.Millisecond); ok {
		t.Error("lost with no claim")
	}
	s.ClaimToken(ctx, 3, "a")
	if ok, _ := s.LoseToken(ctx, 3, "stale", time.Hour); ok {
		t.Error("a fresh claim counted as stale")
	}
	testbed.WaitFor(t, 5*time.Second, "the claim to be 20 ms old", func() bool {
		ok, err := s.LoseToken(ctx, 3, "stale", 20*time.Millisecond)
		return ok && err == nil
	})
	if r := mustRead(t, s); r.Lost != "stale" {
		t.Errorf("lost = %q", r.Lost)
	}
	if ok, _ := s.LoseToken(ctx, 2, "x", 0); ok {
		t.Error("marked an old gen lost")
	}
}

// A seed is stored only over no usable set, and never twice, even after a
// new grant; a Put outranks any refreshed or written-back set.
func TestSeedAndPutToken(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	seed := func(rt string, want redisstore.SeedResult) {
		t.Helper()
		if res, err := s.SeedToken(ctx, rt, time.Hour); err != nil || res != want {
			t.Fatalf("seed %s = %d, %v; want %d", rt, res, err, want)
		}
	}
	seed("SECRET-seed-1", redisstore.Seeded)
	r := mustRead(t, s)
	if r.Gen != 1 || r.Set.RefreshToken != "SECRET-seed-1" || r.Set.AccessToken != "" || !r.Set.Expiry.IsZero() {
		t.Errorf("seeded: %+v", r)
	}
	if res, _, _ := s.ClaimToken(ctx, 1, "a"); res != redisstore.ClaimHeld {
		t.Errorf("a seed claimed within its hold: %d", res)
	}
	seed("SECRET-seed-1", redisstore.SeedUsed)
	seed("SECRET-seed-2", redisstore.SetPresent)
	s.LoseToken(ctx, 1, "gone", 0)
	seed("SECRET-seed-2", redisstore.Seeded)
	gen, err := s.PutToken(ctx, tokenSet("new"), time.Now())
	if err != nil || gen < time.Now().Add(-time.Minute).UnixMilli() {
		t.Fatalf("put: gen %d, %v", gen, err)
	}
	seed("SECRET-seed-1", redisstore.SeedUsed)
	if ok, _ := s.SaveToken(ctx, record(1000, "old grant"), 0); ok {
		t.Error("a set of an older grant outranked a Put")
	}
	if r := mustRead(t, s); r.Gen != gen || r.Set.AccessToken != "SECRET-at-new" {
		t.Errorf("after put: %+v", r)
	}
	if _, err := s.SeedToken(ctx, "", 0); err == nil {
		t.Error("seeded an empty token")
	}
	if _, err := s.PutToken(ctx, eenv3.TokenSet{AccessToken: "x"}, time.Now()); err == nil {
		t.Error("put a set without a refresh token")
	}
}

// A malformed hash is an error that names fields, never their values.
func TestReadTokenMalformedKeepsSecrets(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	s.Client().HSet(ctx, s.Keys().EENToken(), "gen", "7", "access_token", "SECRET-at", "expires_ms", "SECRET-x")
	_, err := s.ReadToken(ctx)
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "expires_ms") {
		t.Errorf("err = %v", err)
	}
}

// Every token operation runs as a Redis user that may touch only the two
// token keys and run only the README's commands: the scripts need nothing
// more, and touch one key each (so each runs on one Redis Cluster shard).
func TestTokenOpsAsLeastUser(t *testing.T) {
	const commands = "-@all +ping +hello +auth +client|setname +select " +
		"+get +set +del +getrange +pexpire +pttl +hset +hget +hmget +hgetall +hdel +hkeys " +
		"+zadd +zrange +zremrangebyscore +zrem +publish +subscribe +evalsha +eval +time"
	keys := preview.Keys{Prefix: "acl:"}
	rule := "tok on >pw-1 ~" + keys.EENToken() + " ~" + keys.EENTokenLock() + " " + commands
	srv := testbed.RedisWith(t, testbed.RedisOptions{Users: []string{rule}})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "tok", Password: "pw-1"})
	defer rdb.Close()
	s := redisstore.New(rdb, keys.Prefix)
	ctx := context.Background()
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := s.SeedToken(ctx, "SECRET-seed", 0)
	step("seed", err)
	gen, err := s.PutToken(ctx, tokenSet("1"), time.Now())
	step("put", err)
	lease, err := s.ObtainTokenLock(ctx, time.Second, time.Second)
	step("lock", err)
	_, _, err = s.ClaimToken(ctx, gen, "a")
	step("claim", err)
	_, err = s.ReleaseToken(ctx, gen, "a", 0)
	step("release", err)
	_, err = s.SaveToken(ctx, record(gen+1, "2"), time.Second)
	step("save", err)
	_, err = s.LoseToken(ctx, gen+1, "gone", 0)
	step("lose", err)
	_, err = s.ReadToken(ctx)
	step("read", err)
	step("unlock", lease.Release(ctx))
	if err := rdb.Get(ctx, "acl:other").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("the test user reached another key: %v", err)
	}
}

// The lock is exclusive and waits at most as long as asked.
func TestTokenLock(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	held, err := s.ObtainTokenLock(ctx, 5*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.ObtainTokenLock(ctx, 5*time.Second, 100*time.Millisecond); !errors.Is(err, preview.ErrLockLost) {
		t.Errorf("second holder: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %s for a lock asked to wait 100ms", d)
	}
	held.Release(ctx)
	if l, err := s.ObtainTokenLock(ctx, time.Second, time.Second); err != nil {
		t.Errorf("after release: %v", err)
	} else {
		l.Release(ctx)
	}
}

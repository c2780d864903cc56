package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// keys are the key names with the default KEY_PREFIX, the one the README's
// rules are written for.
var keys = preview.Keys{Prefix: preview.DefaultKeyPrefix}

// camrelay works over TLS with the README's two Redis users: the fetcher
// as the fetcher user, the web replica as the web user, and nothing either
// sends is refused. The web user cannot read the EEN v3 token set, write
// images or publish; the fetcher user can read it; neither reaches any
// other key or runs FLUSHALL.
func TestTLSAndACLUser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	rules := readmeACL(t)
	rds := testbed.RedisWith(t, testbed.RedisOptions{TLS: true, Users: []string{rules[fetcherUser], rules[webUser]}})
	admin := rds.Client()
	t.Cleanup(func() { // a stack that never served: say what Redis refused it
		if r, err := refusals(admin); t.Failed() {
			t.Logf("Redis refused the camrelay users %d times (%v):\n%s", len(r), err, strings.Join(r, "\n"))
		}
	})
	aclStackServes(t, rds)
	if r, err := refusals(admin); err != nil || len(r) > 0 {
		t.Errorf("Redis refused the stack %d times (%v); the README's rules lack:\n%s", len(r), err, strings.Join(r, "\n"))
	}

	ctx := context.Background()
	admin.HSet(ctx, keys.EENToken(), "access_token", "at-secret", "refresh_token", "rt-secret")
	admin.Set(ctx, keys.EENTokenLock(), "someone", time.Minute)
	admin.Set(ctx, "other:secret", "x", 0)
	t.Run("web user", func(t *testing.T) { checkWebUser(t, userClient(t, rds, webUser)) })
	t.Run("fetcher user", func(t *testing.T) { checkFetcherUser(t, userClient(t, rds, fetcherUser)) })
	t.Run("neither", func(t *testing.T) {
		for _, u := range []string{webUser, fetcherUser} {
			expectRefused(t, userClient(t, rds, u), u, []any{"get", "other:secret"}, []any{"flushall"},
				[]any{"keys", "*"}, []any{"scan", 0}, []any{"config", "get", "*"}, []any{"acl", "setuser", u, "allkeys"})
		}
	})
	plain := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	defer plain.Close()
	if plain.Ping(ctx).Err() == nil {
		t.Error("the server answered without TLS")
	}
}

// aclStackServes runs a fetcher as the fetcher user and a web replica as
// the web user, over TLS, and waits for images and SSE events.
func aclStackServes(t *testing.T, rds *testbed.RedisServer) {
	tls := map[string]string{"REDIS_CA_FILE": rds.CAFile}
	fv, wv := maps.Clone(tls), maps.Clone(tls)
	fv["REDIS_URL"], wv["REDIS_URL"] = userURL(rds, fetcherUser), userURL(rds, webUser)
	_, _, web := camStack(t, fv["REDIS_URL"], "", fv, wv)
	w := web.URL("web")
	testbed.WaitFor(t, 10*time.Second, "the replica ready", func() bool { return status(w+"/readyz") == 200 })
	events, err := testbed.ReadSSE(t.Context(), w+"/preview/"+camA+"/events", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 {
		t.Fatalf("%d events", len(events))
	}
}

// checkWebUser: the web user does what a replica does and nothing else; in
// particular it is refused the token set under every command it holds.
func checkWebUser(t *testing.T, c *redis.Client) {
	token, lock, frame := keys.EENToken(), keys.EENTokenLock(), keys.Frame(camA)
	expectRefused(t, c, "web: the token set",
		[]any{"hgetall", token}, []any{"hget", token, "refresh_token"}, []any{"hmget", token, "access_token"},
		[]any{"dump", token}, []any{"hkeys", token}, []any{"get", token}, []any{"type", token},
		[]any{"hdel", token, "refresh_token"}, []any{"get", lock}, []any{"hgetall", lock},
		[]any{"eval", "return redis.call('hgetall', KEYS[1])", 1, token})
	expectRefused(t, c, "web: writing",
		[]any{"hset", frame, "ts", "99999999999999.999"}, []any{"hdel", frame, "jpeg"}, []any{"del", frame},
		[]any{"pexpire", frame, 1}, []any{"hset", keys.Cameras(), "deadbeef", "{}"},
		[]any{"publish", keys.FramesChannel(), "{}"}, []any{"set", keys.Lock(camA), "x"})
	expectAllowed(t, c, "web",
		[]any{"hmget", frame, "ts", "jpeg"}, []any{"hgetall", keys.Cameras()}, []any{"hdel", keys.Cameras(), "not-a-camera"})
	ctx := context.Background()
	for name, sub := range map[string]*redis.PubSub{
		"the token's name as a channel": c.Subscribe(ctx, token),
		"every channel by pattern":      c.PSubscribe(ctx, preview.DefaultKeyPrefix+"*"),
	} {
		if _, err := sub.Receive(ctx); !refused(err) {
			t.Errorf("web: subscribing to %s answered %v, want NOPERM", name, err)
		}
		sub.Close()
	}
}

// checkFetcherUser: the fetcher user reads the token set and takes its
// refresh lock (as redislock does: Lua scripts).
func checkFetcherUser(t *testing.T, c *redis.Client) {
	ctx := context.Background()
	got, err := c.HGetAll(ctx, keys.EENToken()).Result()
	if err != nil || got["refresh_token"] != "rt-secret" {
		t.Errorf("fetcher: reading the token set: %v, %v", got, err)
	}
	expectAllowed(t, c, "fetcher", []any{"hset", keys.EENToken(), "refresh_token", "rt-next"}, []any{"del", keys.EENTokenLock()})
	lock, err := redislock.New(c).Obtain(ctx, keys.EENTokenLock(), time.Second, nil)
	if err != nil {
		t.Fatalf("fetcher: taking the token's refresh lock: %v", err)
	}
	if err := lock.Refresh(ctx, time.Second, nil); err != nil {
		t.Errorf("fetcher: refreshing the token's refresh lock: %v", err)
	}
	if err := lock.Release(ctx); err != nil {
		t.Errorf("fetcher: releasing the token's refresh lock: %v", err)
	}
}

// The README's two users work on a Redis Cluster as written: a fetcher
// (FETCH=watched, so wake notices cross the cluster too) and a web replica,
// each logged in as its user on every node, serve SSE viewers of cameras
// on all three shards, and no node refuses them anything.
func TestClusterACLUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	rules := readmeACL(t)
	rc := testbed.RedisClusterFor(t, testbed.ClusterOptions{Users: []string{rules[fetcherUser], rules[webUser]}})
	ctx := t.Context()
	var cams []preview.ESN
	shards := make(map[string]int)
	for i := range 9 {
		esn := preview.ESN(fmt.Sprintf("%08x", 0x10090000+i*0x107))
		owner, err := rc.OwnerOf(ctx, keys.Frame(esn))
		if err != nil {
			t.Fatal(err)
		}
		cams = append(cams, esn)
		shards[owner]++
	}
	if len(shards) != 3 {
		t.Fatalf("cameras on %d shards (%v), want all 3", len(shards), shards)
	}
	t.Cleanup(func() {
		for _, n := range rc.Live() {
			if r, err := refusals(n.Client()); err != nil || len(r) > 0 {
				t.Errorf("node %s refused the camrelay users %d times (%v); the README's rules lack:\n%s", n.Addr(), len(r), err, strings.Join(r, "\n"))
			}
		}
	})
	login := func(user string) string {
		scheme, rest, _ := strings.Cut(rc.URL(), "://")
		return scheme + "://" + user + ":" + aclPasswords[user] + "@" + rest
	}
	bed := inproc.StartStack(t, inproc.Options{
		Cameras: joinESNs(cams), Interval: 250 * time.Millisecond, Fetchers: 1, Webs: 1,
		Fetcher: map[string]string{"REDIS_URL": login(fetcherUser), "FETCH": "watched", "LOG_LEVEL": "warn"},
		Web:     map[string]string{"REDIS_URL": login(webUser), "LOG_LEVEL": "warn"},
	})
	// A still wakes a sleeping camera and waits (COLD_WAIT) for its frame.
	testbed.WaitFor(t, 30*time.Second, "a still of every camera", func() bool {
		for _, esn := range cams {
			if status(bed.Web()+"/preview/"+string(esn)+".jpg") != http.StatusOK {
				return false
			}
		}
		return true
	})
	for _, esn := range cams {
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		frames := 0
		err := testbed.EachSSE(sctx, bed.Web()+"/preview/"+string(esn)+"/events", func(ev testbed.SSEEvent) bool {
			if ev.Name == "frame" {
				frames++
			}
			return frames < 2
		})
		cancel()
		if frames < 2 {
			t.Fatalf("camera %s: %d frames on its SSE stream (%v)", esn, frames, err)
		}
	}
}

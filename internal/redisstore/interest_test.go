package redisstore_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

// wakes subscribes s to the wake channel and returns the cameras it
// delivers; it returns once the subscription is in place.
func wakes(t *testing.T, s *redisstore.Store) <-chan preview.ESN {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, subscribed := make(chan preview.ESN, 16), make(chan struct{}, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Wakes(ctx, func(esn preview.ESN) { out <- esn }, func() { subscribed <- struct{}{} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("Wakes did not subscribe within 5s")
	}
	return out
}

// recv returns the next camera woken, failing after 5 s.
func recv(t *testing.T, woken <-chan preview.ESN) preview.ESN {
	t.Helper()
	select {
	case esn := <-woken:
		return esn
	case <-time.After(5 * time.Second):
		t.Fatal("no wake notice within 5s")
		return ""
	}
}

// The first mark wakes the camera (publishes it), the next ones only
// extend the mark; once it has expired, a mark wakes it again.
func TestMarkWatchedWakesOnceThenExtends(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	woken := wakes(t, s)
	woke, err := s.MarkWatched(ctx, esn, 300*time.Millisecond)
	if err != nil || !woke {
		t.Fatalf("first mark: woke %v, %v; want true", woke, err)
	}
	if got := recv(t, woken); got != esn {
		t.Errorf("woke %q, want %q", got, esn)
	}
	woke, err = s.MarkWatched(ctx, esn, 10*time.Second)
	if err != nil || woke {
		t.Fatalf("second mark: woke %v, %v; want false", woke, err)
	}
	if ttl := s.Client().PTTL(ctx, s.Keys().Watch(esn)).Val(); ttl <= 9*time.Second {
		t.Errorf("the second mark left %s to live, want it extended to about 10s", ttl)
	}
	// Only the first mark published: a marker notice published now comes next.
	s.Client().Publish(ctx, s.Keys().WakeChannel(), "not-an-esn") // ignored
	s.Client().Publish(ctx, s.Keys().WakeChannel(), "10060A2C")
	if got := recv(t, woken); got != "10060a2c" {
		t.Errorf("after the marker notice got %q: the second mark published, or ids are not normalised", got)
	}
	s.Client().Del(ctx, s.Keys().Watch(esn)) // as if it expired
	if woke, err := s.MarkWatched(ctx, esn, time.Second); err != nil || !woke {
		t.Errorf("mark after the mark ended: woke %v, %v; want true", woke, err)
	}
	if _, err := s.MarkWatched(ctx, esn, 0); err == nil {
		t.Error("a mark of 0 ms was taken (it would never expire or fail in Redis)")
	}
}

func TestWatchTTLs(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	other := preview.ESN("10060a2c")
	if _, err := s.MarkWatched(ctx, other, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Client().Set(ctx, s.Keys().Watch("1009c3de"), "1", 0)
	got, err := s.WatchTTLs(ctx, []preview.ESN{esn, other, "1009c3de"})
	if err != nil || len(got) != 3 {
		t.Fatalf("WatchTTLs = %v, %v", got, err)
	}
	if got[0] != 0 || got[1] <= time.Second || got[1] > 2*time.Second || got[2] < time.Hour {
		t.Errorf("WatchTTLs = %v; want 0, (1s, 2s], and a long time for a mark with no expiry", got)
	}
	if got, err := s.WatchTTLs(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("WatchTTLs(nil) = %v, %v", got, err)
	}
}

// The README's Redis users: the web user marks cameras watched (the script
// sets the watch key and publishes on the wake channel) yet still cannot
// publish frames or write another key; the fetcher user hears the wake
// channel and reads the marks.
func TestReadmeUsersMarkAndHearWakes(t *testing.T) {
	rules := readmeRules(t)
	srv := testbed.RedisWith(t, testbed.RedisOptions{Users: []string{rules["camrelay-fetcher"], rules["camrelay-web"]}})
	user := func(name string) *redisstore.Store {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: name, Password: "pw"})
		t.Cleanup(func() { c.Close() })
		return redisstore.New(c, preview.DefaultKeyPrefix)
	}
	ctx := context.Background()
	fetcher, web := user("camrelay-fetcher"), user("camrelay-web")
	woken := wakes(t, fetcher)
	if woke, err := web.MarkWatched(ctx, esn, time.Second); err != nil || !woke {
		t.Fatalf("the web user's mark: woke %v, %v", woke, err)
	}
	if got := recv(t, woken); got != esn {
		t.Errorf("the fetcher user heard %q", got)
	}
	if got, err := fetcher.WatchTTLs(ctx, []preview.ESN{esn}); err != nil || got[0] <= 0 {
		t.Errorf("the fetcher user reads the mark: %v, %v", got, err)
	}
	keys := web.Keys()
	for _, cmd := range [][]any{
		{"publish", keys.FramesChannel(), "{}"},
		{"eval", "return redis.call('publish', ARGV[1], '{}')", 0, keys.FramesChannel()},
		{"set", keys.Frame(esn), "x"},
		{"eval", "return redis.call('set', KEYS[1], 'x')", 1, keys.Lock(esn)},
		{"get", keys.EENToken()},
	} {
		if err := web.Client().Do(ctx, cmd...).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") && !strings.Contains(err.Error(), "can't") {
			t.Errorf("web user %v: %v, want refused", cmd, err)
		}
	}
}

// readmeRules returns the README's "ACL SETUSER" rules by user, with every
// password "pw".
func readmeRules(t *testing.T) map[string]string {
	t.Helper()
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for line := range strings.SplitSeq(string(md), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "ACL" || f[1] != "SETUSER" {
			continue
		}
		for i, w := range f {
			if strings.HasPrefix(w, ">") {
				f[i] = ">pw"
			}
		}
		rules[f[2]] = strings.Join(f[2:], " ")
	}
	if rules["camrelay-fetcher"] == "" || rules["camrelay-web"] == "" {
		t.Fatalf("README.md: no ACL rule of camrelay-fetcher or camrelay-web: %v", rules)
	}
	return rules
}

package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
)

// Each fetcher's camera list is stored once, read by its peers, and goes
// with the fetcher: dropped when it is no longer live or when it leaves.
func TestFollowListsStoredPrunedAndLeft(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := []preview.ESN{"10060a2c", "1006073b"}
	lists, stored, err := s.FollowLists(ctx, "a", a, []string{"a"}, []string{"b"})
	if err != nil || !stored || len(lists) != 0 {
		t.Fatalf("a's first publish: %v, stored=%v, %v; want stored and no list of b", lists, stored, err)
	}
	if _, _, err := s.FollowLists(ctx, "b", []preview.ESN{"1006073b"}, []string{"a", "b"}, nil); err != nil {
		t.Fatal(err)
	}
	// a sends no list now (nil: already stored) and reads b's.
	lists, stored, err = s.FollowLists(ctx, "a", nil, []string{"a", "b"}, []string{"b"})
	if err != nil || !stored || !slices.Equal(lists["b"], []preview.ESN{"1006073b"}) {
		t.Fatalf("a reads b: %v, stored=%v, %v", lists, stored, err)
	}
	if got := s.Client().HGet(ctx, s.Keys().FetcherCameras(), "a").Val(); got != "1006073b,10060a2c" {
		t.Errorf("a's stored list %q, want the canonical sorted form", got)
	}
	// b is no longer live: the next beat of a drops its list.
	if _, _, err := s.FollowLists(ctx, "a", nil, []string{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := s.Client().HLen(ctx, s.Keys().FetcherCameras()).Val(); n != 1 {
		t.Errorf("%d lists stored after b left the live set, want 1", n)
	}
	if err := s.Leave(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n := s.Client().HLen(ctx, s.Keys().FetcherCameras()).Val(); n != 0 {
		t.Errorf("%d lists stored after a left, want 0", n)
	}
	_, stored, err = s.FollowLists(ctx, "a", nil, []string{"a"}, nil)
	if err != nil || stored {
		t.Errorf("after its list was lost: stored=%v, %v; want false so that it publishes again", stored, err)
	}
}

// A fetcher that stopped beating while another beat is dropped; after an
// outage of the registry, when nobody could beat, nobody is dropped by the
// first beat that gets through.
func TestHeartbeatDropsTheDeadNotTheSilenced(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	const window = 1200 * time.Millisecond
	now, err := s.Client().Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	at := func(ago time.Duration) float64 { return float64(now.Add(-ago).UnixMilli()) }
	beats := func(z ...redis.Z) {
		t.Helper()
		s.Client().Del(ctx, s.Keys().Fetchers())
		if err := s.Client().ZAdd(ctx, s.Keys().Fetchers(), z...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Both silent for 5 s (an outage): a's beat keeps b.
	beats(redis.Z{Score: at(5 * time.Second), Member: "a"}, redis.Z{Score: at(5*time.Second - 100*time.Millisecond), Member: "b"})
	ids, _, err := s.Heartbeat(ctx, "a", window)
	if err != nil || !slices.Equal(ids, []string{"b", "a"}) {
		t.Errorf("after an outage: live %v, %v; want b kept", ids, err)
	}
	// a beat 100 ms ago, b not for 5 s: b is dead.
	beats(redis.Z{Score: at(100 * time.Millisecond), Member: "a"}, redis.Z{Score: at(5 * time.Second), Member: "b"})
	ids, _, err = s.Heartbeat(ctx, "a", window)
	if err != nil || !slices.Equal(ids, []string{"a"}) {
		t.Errorf("b silent while a beat: live %v, %v; want b dropped", ids, err)
	}
}

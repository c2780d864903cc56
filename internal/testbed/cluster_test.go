package testbed

import (
	"context"
	"testing"
	"time"
)

func TestRedisClusterHarness(t *testing.T) {
	rc := RedisClusterFor(t, ClusterOptions{})
	ctx := context.Background()
	cl := rc.Client()
	defer cl.Close()
	key := Prefix(t) + "{k}"
	if err := cl.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	prim, err := rc.Primaries(ctx)
	if err != nil || len(prim) != 3 {
		t.Fatalf("primaries %v, %v", prim, err)
	}
	for p, reps := range prim {
		if len(reps) != 1 {
			t.Errorf("primary %s has replicas %v, want one", p, reps)
		}
	}
	owner, _ := rc.OwnerOf(ctx, key)
	killed, promoted, err := rc.KillOwnerOf(ctx, key, 10*ClusterNodeTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if killed.Addr() != owner || promoted == nil || promoted == killed {
		t.Fatalf("killed %s (owner %s), promoted %v", killed.Addr(), owner, promoted)
	}
	WaitFor(t, 5*time.Second, "the key read through the promoted replica", func() bool {
		v, err := cl.Get(ctx, key).Result()
		return err == nil && v == "v"
	})
	if len(rc.Live()) != 5 {
		t.Errorf("%d live nodes after one kill, want 5", len(rc.Live()))
	}
}

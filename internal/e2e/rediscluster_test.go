package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/child"
)

// orderedViewer holds one SSE stream and records each frame's id (its
// EEN timestamp) and when it came.
type orderedViewer struct {
	esn  preview.ESN
	mu   sync.Mutex
	ids  []preview.Timestamp
	at   []time.Time
	done chan struct{}
	err  error
}

func watchOrdered(ctx context.Context, t *testing.T, web string, esn preview.ESN) *orderedViewer {
	v := &orderedViewer{esn: esn, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		v.err = testbed.EachSSE(ctx, web+"/preview/"+string(esn)+"/events", func(ev testbed.SSEEvent) bool {
			if ev.Name == "frame" {
				v.mu.Lock()
				v.ids = append(v.ids, preview.Timestamp(ev.ID))
				v.at = append(v.at, time.Now())
				v.mu.Unlock()
			}
			return true
		})
	}()
	return v
}

// check reports frames out of order, and the longest wait between two
// frames after since (counting the last one before it).
func (v *orderedViewer) check(since time.Time) (maxGap time.Duration, frames int, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var prev time.Time
	for i, ts := range v.ids {
		if i > 0 && !ts.After(v.ids[i-1]) {
			err = fmt.Errorf("frame %s after %s", ts, v.ids[i-1])
		}
		if !v.at[i].Before(since) && !prev.IsZero() {
			maxGap = max(maxGap, v.at[i].Sub(prev))
		}
		prev = v.at[i]
	}
	return maxGap, len(v.ids), err
}

// TestRedisClusterFailover runs 200 cameras over a Redis Cluster of three
// shards (a primary and a replica each) with two fetchers and a web
// replica on the Cluster form of REDIS_URL, SSE viewers on cameras of
// every shard, and kills -9 one primary: its replica takes over, that
// shard's cameras resume within node timeout + failover + LOCK_TTL + 1 s,
// the other shards' cameras never stop, and every viewer's frames stay in
// order. Frame notices go sharded: no PUBLISH reaches the cluster.
func TestRedisClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	const (
		ncams    = 200
		interval = time.Second
		lockTTL  = 2 * time.Second
		// Long enough that a live shard waiting for the failover stands out
		// from the gaps a loaded 2-core machine makes under -race with no
		// failover at all (up to 4.1 s measured; a 2 s node timeout gave
		// failovers of 3.2-4.7 s, and CI once saw a live gap of 3.9 s).
		nodeTimeout = 6 * time.Second
	)
	rc := testbed.RedisClusterFor(t, testbed.ClusterOptions{NodeTimeout: nodeTimeout})
	ctx := t.Context()
	prefix := testbed.Prefix(t)
	keys := preview.Keys{Prefix: prefix}
	var cams []preview.ESN
	shardOf := make(map[preview.ESN]string)
	byShard := make(map[string][]preview.ESN)
	for i := range ncams {
		esn := preview.ESN(fmt.Sprintf("%08x", 0x10080000+i*0x107))
		owner, err := rc.OwnerOf(ctx, keys.Frame(esn))
		if err != nil {
			t.Fatal(err)
		}
		cams = append(cams, esn)
		shardOf[esn] = owner
		byShard[owner] = append(byShard[owner], esn)
	}
	for owner, esns := range byShard {
		t.Logf("shard %s: %d cameras", owner, len(esns))
	}
	if len(byShard) != 3 {
		t.Fatalf("cameras on %d shards, want all 3", len(byShard))
	}

	v := testbed.Vars(rc.URL(), joinESNs(cams), interval.String())
	maps.Copy(v.Fetcher, map[string]string{"KEY_PREFIX": prefix, "LOCK_TTL": lockTTL.String(), "LOG_LEVEL": "info"})
	v.Web["KEY_PREFIX"] = prefix
	stack := child.NewStack(v)
	t.Cleanup(stack.Close)
	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range stack.Fetchers {
				t.Logf("fetcher %d:\n%s", i, p.Logs)
			}
			for i, p := range stack.Webs {
				t.Logf("web %d:\n%s", i, p.Logs)
			}
		}
	})
	if err := stack.StartSim(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.AddFetchers(ctx, 2, nil); err != nil {
		t.Fatal(err)
	}
	cc := rc.Client()
	t.Cleanup(func() { cc.Close() })
	frames := testbed.Watch(t, cc, prefix)
	testbed.WaitFor(t, 60*time.Second, "a frame of every camera", func() bool {
		for _, esn := range cams {
			if len(frames.Frames(esn)) == 0 {
				return false
			}
		}
		return true
	})
	// The two fetchers share the cameras evenly before anything is measured.
	led := &cluster{cams: cams}
	for _, p := range stack.Fetchers {
		led.fetchers = append(led.fetchers, &fetcherProc{Proc: p, admin: p.Addr("admin"), logs: p.Logs})
	}
	testbed.WaitFor(t, 30*time.Second, "every camera led once, half by each fetcher", func() bool { return led.settled(ncams / 2) })
	web, err := stack.AddWeb(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + web.Addr("web")

	// Viewers on four cameras of each shard; stills of every camera.
	vctx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	var viewers []*orderedViewer
	for _, esns := range byShard {
		for _, esn := range esns[:4] {
			viewers = append(viewers, watchOrdered(vctx, t, base, esn))
		}
	}
	stillsOK := func() bool {
		for _, esn := range cams {
			if code, _ := imageTS(base + "/preview/" + string(esn) + ".jpg"); code != http.StatusOK {
				return false
			}
		}
		return true
	}
	testbed.WaitFor(t, 20*time.Second, "a still of every camera", stillsOK)
	testbed.WaitFor(t, 10*time.Second, "every viewer's first frames", func() bool {
		for _, v := range viewers {
			if _, n, _ := v.check(time.Now()); n < 2 {
				return false
			}
		}
		return true
	})

	if n := rc.CallsFor(t, "publish"); n != 0 {
		t.Errorf("PUBLISH ran %d times on the cluster: frame and wake notices must go by SPUBLISH", n)
	}
	// The longest gap of any camera before the kill: what this machine
	// does without a failover; the failover must take longer for the
	// live shards' check below to mean anything.
	var calm time.Duration
	for _, esn := range cams {
		var prev time.Time
		for _, f := range frames.Frames(esn) {
			if !prev.IsZero() && time.Since(f.At) < 5*time.Second {
				calm = max(calm, f.At.Sub(prev))
			}
			prev = f.At
		}
	}
	t.Logf("before the kill: longest gap of any camera over 5 s %s", calm.Round(time.Millisecond))
	victim := cams[0]
	killedAt := time.Now()
	killed, promoted, err := rc.KillOwnerOf(ctx, keys.Frame(victim), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	failover := time.Since(killedAt)
	bound := failover + lockTTL + time.Second
	t.Logf("kill -9 of %s: %s promoted after %s; bound for its cameras %s", killed.Addr(), promoted.Addr(),
		failover.Round(time.Millisecond), bound.Round(time.Millisecond))

	// Every camera of the dead shard resumes within the bound.
	hit := byShard[killed.Addr()]
	testbed.WaitFor(t, bound+10*time.Second, "every camera of the dead shard storing again", func() bool {
		for _, esn := range hit {
			if _, ok := frames.After(esn, killedAt.Add(failover)); !ok {
				return false
			}
		}
		return true
	})
	// Two more intervals of frames everywhere, then measure.
	testbed.WaitFor(t, 10*time.Second, "frames after the failover", func() bool {
		return time.Since(killedAt) > failover+lockTTL+3*interval
	})
	var worstHit, worstOther time.Duration
	var worstHitESN, worstOtherESN preview.ESN
	for _, esn := range cams {
		f, _ := frames.After(esn, killedAt)
		gap := frames.MaxGap(esn, killedAt)
		if shardOf[esn] == killed.Addr() {
			if d := f.At.Sub(killedAt); d > worstHit {
				worstHit, worstHitESN = d, esn
			}
			continue
		}
		if gap > worstOther {
			worstOther, worstOtherESN = gap, esn
		}
		if err := frames.InOrder(esn); err != nil {
			t.Errorf("camera %s: %v", esn, err)
		}
	}
	t.Logf("dead shard (%d cameras): first frame at most %s after the kill (%s); other shards: longest gap %s (%s)",
		len(hit), worstHit.Round(time.Millisecond), worstHitESN, worstOther.Round(time.Millisecond), worstOtherESN)
	if worstHit > bound {
		t.Errorf("camera %s of the dead shard resumed %s after the kill, want within %s", worstHitESN, worstHit, bound)
	}
	// The live shards never wait for the failover. Without the race
	// detector their longest gap is one frame interval; with it, on 2
	// cores, the dead shard's retries take CPU from everything else.
	if worstOther >= failover {
		t.Errorf("camera %s of a live shard went %s without a frame: as long as the failover (%s)", worstOtherESN, worstOther, failover)
	}

	// Viewers carried on, in order, on every shard.
	for _, v := range viewers {
		gap, n, err := v.check(killedAt)
		if err != nil {
			t.Errorf("viewer of %s: %v", v.esn, err)
		}
		v.mu.Lock()
		last := v.at[len(v.at)-1]
		v.mu.Unlock()
		t.Logf("viewer of %s (shard %s): %d frames, longest gap %s", v.esn, shardOf[v.esn], n, gap.Round(time.Millisecond))
		switch {
		case time.Since(last) > 3*interval:
			t.Errorf("viewer of %s: no frame for %s", v.esn, time.Since(last))
		case shardOf[v.esn] == killed.Addr() && gap > bound+interval:
			t.Errorf("viewer of %s (dead shard): a gap of %s, want within %s", v.esn, gap, bound+interval)
		case shardOf[v.esn] != killed.Addr() && gap >= failover:
			t.Errorf("viewer of %s (live shard): a gap of %s, as long as the failover (%s)", v.esn, gap, failover)
		}
	}
	testbed.WaitFor(t, 10*time.Second, "a still of every camera after the failover", stillsOK)
	if n := rc.CallsFor(t, "publish"); n != 0 {
		t.Errorf("PUBLISH ran %d times on the cluster's live nodes: frame and wake notices must go by SPUBLISH", n)
	}
}

package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

// heard records the notices a Watch delivers, by camera.
type heard struct {
	mu         sync.Mutex
	byCam      map[preview.ESN][]preview.Timestamp
	subscribed atomic.Int32
}

func (h *heard) event(ev preview.FrameEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byCam[ev.ESN] = append(h.byCam[ev.ESN], ev.TS)
}

func (h *heard) has(esn preview.ESN, ts preview.Timestamp) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.byCam[esn] {
		if t == ts {
			return true
		}
	}
	return false
}

// TestClusterNoticesShardedAndFailover: on a Redis Cluster the frame
// script publishes with SPUBLISH (never PUBLISH) on the camera's channel,
// a Watch hears cameras of every shard, and after kill -9 of one primary
// it resubscribes on the promoted replica and hears that shard again, as
// it does after a camera's slot moves to another primary (resharding).
func TestClusterNoticesShardedAndFailover(t *testing.T) {
	rc := testbed.RedisClusterFor(t, testbed.ClusterOptions{})
	ctx := context.Background()
	cc := rc.Client()
	t.Cleanup(func() { cc.Close() })
	prefix := testbed.Prefix(t)
	s := redisstore.New(cc, prefix)

	// One camera per shard, each the one of the lowest slot in its
	// primary's range found, so that resharding it moves few slots.
	slots, err := rc.Slots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type pick struct {
		esn    preview.ESN
		offset int64
	}
	byOwner := make(map[string]pick)
	for i := range 2000 {
		esn := preview.ESN(fmt.Sprintf("%08x", 0x10070000+i))
		slot, err := cc.ClusterKeySlot(ctx, s.Keys().Frame(esn)).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range slots {
			off := slot - int64(r.Start)
			if p, ok := byOwner[r.Nodes[0].Addr]; off >= 0 && slot <= int64(r.End) && (!ok || off < p.offset) {
				byOwner[r.Nodes[0].Addr] = pick{esn, off}
			}
		}
	}
	var cams []preview.Camera
	var esns []preview.ESN
	reshard := pick{offset: 1 << 20}
	for _, p := range byOwner {
		cams = append(cams, preview.Camera{ESN: p.esn})
		esns = append(esns, p.esn)
		if p.offset < reshard.offset {
			reshard = p
		}
	}
	if err := s.PublishCameras(ctx, cams, time.Now()); err != nil {
		t.Fatal(err)
	}

	h := &heard{byCam: make(map[preview.ESN][]preview.Timestamp)}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Watch(wctx, h.event, func() { h.subscribed.Add(1) }) }()
	t.Cleanup(func() { stop(); <-done })
	testbed.WaitFor(t, 10*time.Second, "a subscription on each of the 3 primaries", func() bool { return h.subscribed.Load() >= 3 })

	w := testbed.NewFrameWriter(s, 15*time.Second, 5*time.Second)
	publishes := rc.CallsFor(t, "publish")
	// saveHeard stores a frame of each camera until the watch hears it.
	saveHeard := func(what string, esns ...preview.ESN) {
		t.Helper()
		for _, esn := range esns {
			var f preview.Frame
			testbed.WaitFor(t, 15*time.Second, what+": "+string(esn)+"'s notice heard", func() bool {
				if f.TS == "" || !h.has(esn, f.TS) {
					var err error
					if f, err = w.Save(ctx, esn, []byte("\xff\xd8\xff")); err != nil {
						f.TS = ""
					}
				}
				return f.TS != "" && h.has(esn, f.TS)
			})
		}
	}
	saveHeard("before the kill", esns...)

	// Wake notices go sharded too, to whoever hears Wakes.
	var woken sync.Map
	wakesSubscribed := make(chan struct{}, 8)
	go s.Wakes(wctx, func(esn preview.ESN) { woken.Store(esn, true) }, func() { wakesSubscribed <- struct{}{} })
	for range 3 {
		<-wakesSubscribed
	}
	for _, esn := range esns {
		if woke, err := s.MarkWatched(ctx, esn, time.Minute); err != nil || !woke {
			t.Fatalf("marking %s watched: woke %v, %v", esn, woke, err)
		}
		testbed.WaitFor(t, 5*time.Second, string(esn)+"'s wake notice heard", func() bool {
			_, ok := woken.Load(esn)
			return ok
		})
	}
	if got := rc.CallsFor(t, "publish"); got != publishes {
		t.Errorf("PUBLISH ran %d times on the cluster, want 0: notices must go sharded", got-publishes)
	}
	if rc.CallsFor(t, "spublish") < 3 {
		t.Errorf("SPUBLISH ran %d times, want at least one per camera", rc.CallsFor(t, "spublish"))
	}

	victim := esns[0]
	before := h.subscribed.Load()
	killed, promoted, err := rc.KillOwnerOf(ctx, s.Keys().Frame(victim), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s; %s took over", killed.Addr(), promoted.Addr())
	saveHeard("after the failover", esns...)
	if h.subscribed.Load() <= before {
		t.Error("no resubscription after the failover: the caller was never told to re-read")
	}

	// Resharding: the camera's slot moves to another primary; Redis drops
	// the channel from the old primary's subscription, the watch follows.
	key := s.Keys().Frame(reshard.esn)
	from, err := rc.OwnerOf(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	prim, err := rc.Primaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var to string
	for p := range prim {
		if p != from {
			to = p
		}
	}
	before = h.subscribed.Load()
	if err := rc.ReshardTo(ctx, key, to, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("moved %d slots, %s's included, from %s to %s", reshard.offset+1, reshard.esn, from, to)
	saveHeard("after resharding", esns...)
	if h.subscribed.Load() <= before {
		t.Error("no resubscription after resharding: the caller was never told to re-read")
	}
}

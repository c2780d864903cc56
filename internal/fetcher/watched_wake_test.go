package fetcher_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Twenty wakes, each from a sleeping camera: the time from the mark to
// the lead and to the first upstream call stays within 200 ms.
func TestWakeLatency(t *testing.T) {
	r := newRig(t)
	f, _, _ := r.start("f1", 1)
	var toLead, toCall []time.Duration
	for range 20 {
		start := time.Now()
		r.mark()
		f.TestSignals.LeadGained.WaitFor(t, "camA led", func(e preview.ESN) bool { return e == camA })
		toLead = append(toLead, time.Since(start))
		call := r.src.called.WaitFor(t, "camA's first call", func(c upstreamCall) bool {
			return c.esn == camA && !c.at.Before(start)
		})
		toCall = append(toCall, call.at.Sub(start))
		r.store.Client().Del(context.Background(), r.store.Keys().Watch(camA)) // as if it expired
		waitAsleep(t, f)
	}
	slices.Sort(toLead)
	slices.Sort(toCall)
	t.Logf("mark → lead: p50 %s, max %s; mark → first upstream call: p50 %s, max %s",
		toLead[10], toLead[19], toCall[10], toCall[19])
	if toLead[19] > 200*time.Millisecond || toCall[19] > 200*time.Millisecond {
		t.Errorf("slowest wake %s (first call %s), want within 200ms", toLead[19], toCall[19])
	}
}

// A mark whose wake notice is lost (set without one) is found by the
// periodic read of the marks, within a quarter of WATCH_TTL.
func TestMissedWakeNoticeIsCaught(t *testing.T) {
	r := newRig(t)
	f, _, _ := r.start("f1", 1)
	start := time.Now()
	r.store.Client().Set(context.Background(), r.store.Keys().Watch(camA), "1", r.ttl)
	f.TestSignals.LeadGained.WaitFor(t, "camA led", func(e preview.ESN) bool { return e == camA })
	if d := time.Since(start); d > r.ttl/4+250*time.Millisecond {
		t.Errorf("a mark without a notice woke camA after %s, want within %s", d, r.ttl/4)
	}
}

// Pub/sub drops what is published while the subscriber reconnects: after
// each resubscription the marks are read at once, not at the next period
// (5 s with WATCH_TTL 30s).
func TestResubscriptionReadsMarks(t *testing.T) {
	r := newRig(t)
	r.ttl = 30 * time.Second
	f, _, _ := r.start("f1", 1)
	ctx := context.Background()
	r.store.Client().Set(ctx, r.store.Keys().Watch(camA), "1", r.ttl) // no notice
	start := time.Now()
	if err := r.store.Client().ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	f.TestSignals.LeadGained.WaitFor(t, "camA led", func(e preview.ESN) bool { return e == camA })
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("camA woke %s after the resubscription, want at once (the period is 5s)", d)
	}
}

// Two fetchers; the leader of a watched camera dies (cut from Redis): the
// other takes it over within about LOCK_TTL, as in FETCH=always, and
// stores its frames.
func TestWatchedLeaderDiesAnotherTakesOver(t *testing.T) {
	r := newRig(t)
	f1, _, kill1 := r.start("f1", 1)
	f2, _, kill2 := r.start("f2", 2)
	f1.TestSignals.MembershipInstalled.WaitFor(t, "f1 sees f2", func(m fetcher.Membership) bool { return m.Fetchers == 2 })
	viewer, stopViewer := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { // a viewer on a replica: a mark every 300 ms
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for ; viewer.Err() == nil; <-tick.C {
			r.store.MarkWatched(viewer, camA, r.ttl)
		}
	})
	defer func() { stopViewer(); wg.Wait() }()
	testbed.WaitFor(t, 5*time.Second, "a fetcher leading camA", func() bool {
		return f1.State()[camA].Leading || f2.State()[camA].Leading
	})
	other, kill := f2, kill1
	if f2.State()[camA].Leading {
		other, kill = f1, kill2
	}
	killed := time.Now()
	kill()
	other.TestSignals.LeadGained.WaitFor(t, "the other fetcher leading camA", func(e preview.ESN) bool { return e == camA })
	took := time.Since(killed)
	other.TestSignals.FrameStored.WaitFor(t, "a frame of camA", func(s fetcher.FrameStored) bool { return s.ESN == camA })
	t.Logf("took over %s after the leader died", took)
	if took > lockTTL+time.Second {
		t.Errorf("took over %s after the leader died, want about LOCK_TTL (%s)", took, lockTTL)
	}
}

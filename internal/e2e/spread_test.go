package e2e

import (
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// leaders maps each camera to the index of the fetcher leading it; a
// camera led by two fetchers at once maps to -2.
func (c *cluster) leaders() map[preview.ESN]int {
	out := make(map[preview.ESN]int)
	for i, p := range c.fetchers {
		for esn, st := range p.status() {
			if !st.Leading {
				continue
			}
			if _, dup := out[esn]; dup {
				out[esn] = -2
				continue
			}
			out[esn] = i
		}
	}
	return out
}

func (c *cluster) simStats(t *testing.T) eensim.Stats {
	t.Helper()
	st, err := testbed.SimStats(t.Context(), "http://"+c.stack.Sim.Addr("eensim"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Three fetchers share 30 cameras evenly, one leader each, with no camera
// changing hands while the membership stays the same, and about one
// upstream call per stored frame.
func TestSpreadOneLeaderNoFlapping(t *testing.T) {
	c := startCluster(t, 3, 30, time.Second, 3*time.Second)
	limit := 30/3 + 1 // ceil(N/F)+1
	testbed.WaitFor(t, 20*time.Second, "an even spread", func() bool { return c.settled(limit) })
	settled := c.leaders()
	load := map[int]int{}
	for _, i := range settled {
		load[i]++
	}
	t.Logf("cameras per fetcher once settled: %v", load)

	before, framesBefore := c.simStats(t), c.frames.Count()
	end := time.Now().Add(20 * time.Second)
	samples := 0
	for time.Now().Before(end) {
		now := c.leaders()
		for _, esn := range c.cams {
			if now[esn] != settled[esn] {
				t.Fatalf("camera %s moved from fetcher %d to %d without a membership change", esn, settled[esn], now[esn])
			}
		}
		samples++
		time.Sleep(250 * time.Millisecond) // sampling interval of a measured window
	}
	after, framesAfter := c.simStats(t), c.frames.Count()
	var calls int64
	for _, esn := range c.cams {
		calls += imageCalls(after, string(esn)) - imageCalls(before, string(esn))
	}
	stored := framesAfter - framesBefore
	ratio := float64(calls) / float64(stored)
	t.Logf("20s: %d samples with one stable leader per camera; %d upstream image calls for %d stored frames (%.3f per frame)", samples, calls, stored, ratio)
	if stored < 30*18 || ratio > 1.05 {
		t.Errorf("%d calls for %d frames: want ≤ 1.05 calls per frame and about 600 frames", calls, stored)
	}
}

// A fetcher that joins takes about its share, and the cameras that move
// keep their pictures flowing.
func TestNewFetcherTakesItsShare(t *testing.T) {
	c := startCluster(t, 2, 30, 500*time.Millisecond, 3*time.Second)
	testbed.WaitFor(t, 20*time.Second, "an even spread over 2", func() bool { return c.settled(16) })
	before := c.leaders()
	joined := time.Now()
	c.addFetcher(t, nil)
	testbed.WaitFor(t, 20*time.Second, "an even spread over 3", func() bool { return c.settled(11) })
	settledAt := time.Now()
	after := c.leaders()
	moved, worst := 0, time.Duration(0)
	for _, esn := range c.cams {
		if before[esn] != after[esn] {
			moved++
		}
	}
	// One more frame interval after settling, so every gap has closed.
	for _, esn := range c.cams {
		c.nextFrameAfter(t, esn, settledAt, 5*time.Second)
		worst = max(worst, c.frames.MaxGap(esn, joined))
	}
	t.Logf("a third fetcher joined: %d of 30 cameras moved in %s; longest gap between frames %s (interval 500ms)",
		moved, settledAt.Sub(joined).Round(time.Millisecond), worst.Round(time.Millisecond))
	if moved < 9 || moved > 20 {
		t.Errorf("%d cameras moved, want about 10 (the newcomer's share), not a storm", moved)
	}
	if worst > 2*time.Second {
		t.Errorf("a moved camera went %s without a frame", worst)
	}
}

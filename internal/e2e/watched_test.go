package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// FETCH=watched on 2 fetcher processes with 2 web replicas, one camera's
// whole life: asleep (no upstream call), woken by a viewer on replica A
// (a frame at once), shared by a viewer on replica B (no more calls),
// kept through a kill -9 of its leader, asleep again WATCH_TTL after the
// last viewer (calls stop). Meanwhile a still image of a sleeping camera
// waits for its first frame (200, not 503), and a camera nobody watches
// gets no upstream call during the whole test.
func TestWatchedCameraLife(t *testing.T) {
	begun := time.Now()
	c, webs := watchedStack(t, 3)
	camW, camC, camK := c.cams[0], c.cams[1], c.cams[2] // watched, cold still, never watched
	for i, n := range c.callsOf(t, c.cams...) {
		if n != 0 {
			t.Fatalf("camera %s, nobody watching: %d upstream calls", c.cams[i], n)
		}
	}

	a := view(t, webs[0], camW)
	opened := time.Now()
	if ev := a.next(t, 5*time.Second); ev.Name != "waking" && ev.Name != "frame" {
		t.Errorf("a sleeping camera's stream began with %q, want waking (or its first frame)", ev.Name)
	}
	a.frameAfter(t, time.Time{}, 5*time.Second)
	woke := time.Since(opened)
	t.Logf("viewer on replica A: first frame %s after the stream opened", fmtD(woke))
	if woke > 2*time.Second {
		t.Errorf("first frame of a woken camera took %s, want about one frame interval (%s)", woke, wInterval)
	}
	leader := -1
	testbed.WaitFor(t, 5*time.Second, "a leader of the woken camera", func() bool {
		leader = leaderOf(c.fetchers, camW)
		return leader >= 0
	})
	since := c.fetchers[leader].status()[camW].LeadingSince

	others := []preview.ESN{camC, camK}
	c.stillFresh(t, "one viewer, replica A", camW, others, 2*time.Second)
	b := view(t, webs[1], camW)
	b.frameAfter(t, time.Time{}, 2*time.Second)
	c.stillFresh(t, "two viewers, replicas A and B", camW, others, 2*time.Second)
	if now := c.fetchers[leader].status()[camW]; !now.Leading || !now.LeadingSince.Equal(since) {
		t.Errorf("watched camera's lead changed while watched (%+v, began %s): it slept and woke again", now, since)
	}

	code, took := getStill(t, webs[1]+"/preview/"+string(camC)+".jpg")
	t.Logf("still image of a sleeping camera: %d after %s (COLD_WAIT 3s)", code, fmtD(took))
	if code != http.StatusOK {
		t.Errorf("still image of a sleeping camera: %d, want 200 with its first frame", code)
	}

	if now := leaderOf(c.fetchers, camW); now != leader {
		t.Fatalf("the watched camera's leader changed from fetcher %d to %d", leader, now)
	}
	victim := c.fetchers[leader]
	victim.Kill()
	killed := time.Now()
	d := c.nextFrameAfter(t, camW, killed, 10*time.Second)
	t.Logf("kill -9 of the watched camera's leader → next stored frame after %s (LOCK_TTL %s)", fmtD(d), wLockTTL)
	if d > wLockTTL+2*time.Second {
		t.Errorf("failover took %s, want at most LOCK_TTL + 2s", d)
	}
	a.frameAfter(t, killed, 5*time.Second)
	b.frameAfter(t, killed, 5*time.Second)
	alive := c.fetchers[1-leader : 2-leader]

	a.close()
	b.close()
	left := time.Now()
	testbed.WaitFor(t, wWatchTTL+wLockTTL+5*time.Second, "the camera asleep after its last viewer", func() bool {
		return c.allAsleep(alive, camW)
	})
	slept := time.Since(left)
	t.Logf("last viewer left → leader asleep, lock released after %s (WATCH_TTL %s, LOCK_TTL/3 %s)", fmtD(slept), wWatchTTL, fmtD(wLockTTL/3))
	if slept < wWatchTTL-50*time.Millisecond || slept > wWatchTTL+wLockTTL/3+1500*time.Millisecond {
		t.Errorf("slept %s after the last viewer, want WATCH_TTL to WATCH_TTL + LOCK_TTL/3 (+ slack)", slept)
	}
	before := c.callsOf(t, camW)[0]
	time.Sleep(4 * wInterval) // a measured window: four frames' worth
	if after := c.callsOf(t, camW)[0]; after != before {
		t.Errorf("asleep camera: %d upstream calls in %s after it slept", after-before, 4*wInterval)
	}

	// The window: a camera nobody watches gets no upstream call in
	// 30 s, here a neighbour woken, shared, failed over and put to sleep
	// within it. Looked at twice a second until the window is over.
	for tick := time.NewTicker(500 * time.Millisecond); ; <-tick.C {
		if n := c.callsOf(t, camK)[0]; n != 0 {
			t.Fatalf("camera nobody watched: %d upstream calls within %s", n, fmtD(time.Since(begun)))
		}
		if time.Since(begun) >= unwatchedWindow {
			tick.Stop()
			break
		}
	}
	t.Logf("camera nobody watched: no upstream call in %s", fmtD(time.Since(begun)))
}

// unwatchedWindow is how long the test watches a camera nobody watches.
const unwatchedWindow = 30 * time.Second

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Issue 12: a third fetcher listing only one of the four cameras (a rolling
// deploy that adds a camera does exactly this) must leave no camera without
// a leader, and the fetchers say once, naming the difference, that their
// lists differ.
func TestFetchersWithDifferentCameraLists(t *testing.T) {
	const lockTTL = 2 * time.Second
	c := startCluster(t, 2, 4, 250*time.Millisecond, lockTTL)
	third := c.addFetcher(t, map[string]string{"CAMERAS": string(c.cams[0])})
	testbed.WaitFor(t, 3*lockTTL, "every fetcher to see the third", func() bool {
		for _, p := range c.fetchers {
			if !strings.Contains(p.logs.String(), " fetchers=3 ") {
				return false
			}
		}
		return true
	})
	seen := time.Now()
	testbed.WaitFor(t, lockTTL+2*time.Second, "one leader per camera", func() bool { return c.settled(0) })
	t.Logf("one leader per camera %s after all fetchers saw the third", time.Since(seen).Round(time.Millisecond))

	// From a lock TTL (+ slack) on, every camera keeps its pictures flowing
	// for two more lock TTLs while the third runs.
	from := seen.Add(lockTTL + time.Second)
	for _, esn := range c.cams {
		c.nextFrameAfter(t, esn, from.Add(2*lockTTL), 3*lockTTL+5*time.Second)
		gap := c.frames.MaxGap(esn, from)
		t.Logf("camera %s: longest gap between frames %s (interval 250ms)", esn, gap.Round(time.Millisecond))
		if gap > lockTTL/2 {
			t.Errorf("camera %s went %s without a frame while the third fetcher ran", esn, gap)
		}
	}
	if !c.settled(0) {
		t.Errorf("not one leader per camera at the end: %v", c.leaders())
	}
	if st := third.status(); st[c.cams[0]].Followers != 3 {
		t.Errorf("the third fetcher's /status: %+v, want 3 followers of %s", st, c.cams[0])
	}

	// Each side warned once per peer whose list differs, after many beats.
	const warn = `msg="fetcher: camera lists differ"`
	for i, p := range c.fetchers[:2] {
		logs := p.logs.String()
		if n := strings.Count(logs, warn); n != 1 {
			t.Errorf("fetcher %d logged the difference %d times, want once:\n%s", i, n, logs)
		}
		for _, want := range []string{"only_here=" + joinESNs(c.cams[1:]), "only_there=\"\""} {
			if !strings.Contains(logs, want) {
				t.Errorf("fetcher %d: no %s in its warning:\n%s", i, want, logs)
			}
		}
	}
	logs := third.logs.String()
	if n := strings.Count(logs, warn); n != 2 {
		t.Errorf("the third fetcher logged the difference %d times, want once per peer (2):\n%s", n, logs)
	}
	if want := "only_there=" + joinESNs(c.cams[1:]); !strings.Contains(logs, want) {
		t.Errorf("the third fetcher's warning lacks %s:\n%s", want, logs)
	}
}

func joinESNs(esns []preview.ESN) string {
	s := make([]string, len(esns))
	for i, e := range esns {
		s[i] = string(e)
	}
	return strings.Join(s, ",")
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Settings of the FETCH=watched stack: short, so that a camera's whole
// life (asleep, woken, failed over, asleep again) fits in seconds.
const (
	wInterval = 250 * time.Millisecond // the simulator's frames
	wLockTTL  = 2 * time.Second
	wWatchTTL = 2 * time.Second
)

// watchedStack is a cluster whose 2 fetchers follow a camera only while
// it is watched (FETCH=watched), and its 2 web replicas (child processes
// too), once every camera is asleep everywhere.
func watchedStack(t *testing.T, ncams int) (c *cluster, webs []string) {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	c = newCluster(t, ncams, wInterval, wLockTTL)
	c.stack.Vars.Fetcher["FETCH"] = "watched"
	c.stack.Vars.Fetcher["WATCH_TTL"] = wWatchTTL.String()
	c.stack.Vars.Web["WATCH_TTL"] = wWatchTTL.String()
	c.stack.Vars.Web["LOG_LEVEL"] = "warn"
	if err := c.stack.StartSim(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c.addFetcher(t, nil)
	}
	ws, err := c.stack.AddWebs(t.Context(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		webs = append(webs, "http://"+w.Addr("web"))
	}
	// Settled too (both fetchers know each other, each camera has one
	// owner), so that a lead that ends later has a reason the test gives.
	testbed.WaitFor(t, 20*time.Second, "every camera asleep on both fetchers, owned once, and listed asleep by both replicas", func() bool {
		return c.allAsleep(c.fetchers, c.cams...) && c.owned() && listedAsleep(webs, c.cams)
	})
	return c, webs
}

// allAsleep reports whether every fetcher of ps has each camera asleep and
// leads none of them.
func (c *cluster) allAsleep(ps []*fetcherProc, esns ...preview.ESN) bool {
	for _, p := range ps {
		st := p.status()
		for _, esn := range esns {
			if s, ok := st[esn]; !ok || s.State != fetcher.StateAsleep || s.Leading {
				return false
			}
		}
	}
	return true
}

// owned reports whether every fetcher knows of all of them and each
// camera is assigned to exactly one.
func (c *cluster) owned() bool {
	owners := make(map[preview.ESN]int)
	for _, p := range c.fetchers {
		for esn, st := range p.status() {
			if st.Followers != len(c.fetchers) {
				return false
			}
			if st.Assigned {
				owners[esn]++
			}
		}
	}
	for _, esn := range c.cams {
		if owners[esn] != 1 {
			return false
		}
	}
	return true
}

// listedAsleep reports whether every replica's /api/cameras has each
// camera in the state "asleep".
func listedAsleep(webs []string, esns []preview.ESN) bool {
	for _, w := range webs {
		var list []struct {
			ESN   preview.ESN `json:"esn"`
			State string      `json:"state"`
		}
		resp, err := http.Get(w + "/api/cameras")
		if err != nil {
			return false
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		for _, esn := range esns {
			if err != nil || !slices.Contains(list, struct {
				ESN   preview.ESN `json:"esn"`
				State string      `json:"state"`
			}{esn, "asleep"}) {
				return false
			}
		}
	}
	return true
}

// callsOf is the simulator's image calls so far for each camera.
func (c *cluster) callsOf(t *testing.T, esns ...preview.ESN) []int64 {
	t.Helper()
	st := c.simStats(t)
	out := make([]int64, len(esns))
	for i, esn := range esns {
		out[i] = imageCalls(st, string(esn))
	}
	return out
}

// sseViewer is an open SSE stream of one camera on one replica.
type sseViewer struct {
	events chan testbed.SSEEvent
	stop   context.CancelFunc
	done   chan struct{}
	err    error
}

// view opens a stream of esn on the replica at web.
func view(t *testing.T, web string, esn preview.ESN) *sseViewer {
	ctx, stop := context.WithCancel(context.Background())
	v := &sseViewer{events: make(chan testbed.SSEEvent, 1024), stop: stop, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		v.err = testbed.EachSSE(ctx, web+"/preview/"+string(esn)+"/events", func(ev testbed.SSEEvent) bool {
			select {
			case v.events <- ev:
			default: // the test reads far fewer than it holds
			}
			return true
		})
	}()
	t.Cleanup(v.close)
	return v
}

// next waits for the viewer's next event.
func (v *sseViewer) next(t *testing.T, within time.Duration) testbed.SSEEvent {
	t.Helper()
	select {
	case ev := <-v.events:
		return ev
	case <-v.done:
		t.Fatalf("stream ended: %v", v.err)
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
	}
	return testbed.SSEEvent{}
}

// frameAfter waits for a frame event of a frame taken after since.
func (v *sseViewer) frameAfter(t *testing.T, since time.Time, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ev := v.next(t, time.Until(deadline))
		var d struct {
			TS preview.Timestamp `json:"ts"`
		}
		if ev.Name == "frame" && json.Unmarshal([]byte(ev.Data), &d) == nil && d.TS.Time().After(since) {
			return
		}
	}
}

// close ends the stream, as a viewer leaving.
func (v *sseViewer) close() { v.stop(); <-v.done }

// getStill fetches a camera's still image and says how long it took.
func getStill(t *testing.T, url string) (status int, took time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took = time.Since(start)
	if resp.StatusCode == http.StatusOK && !preview.IsJPEG(body) {
		t.Fatalf("%s: 200 but %d bytes that are no JPEG", url, len(body))
	}
	return resp.StatusCode, took
}

// stillFresh checks one window of watching: the camera's frames kept
// coming, at one upstream call each, while the other cameras got none.
func (c *cluster) stillFresh(t *testing.T, what string, watched preview.ESN, others []preview.ESN, win time.Duration) {
	t.Helper()
	calls0, others0, start := c.callsOf(t, watched)[0], c.callsOf(t, others...), time.Now()
	time.Sleep(win) // a measured window
	calls, end := c.callsOf(t, watched)[0]-calls0, time.Now()
	frames := 0
	for _, f := range c.frames.Frames(watched) {
		if !f.At.Before(start) && f.At.Before(end) {
			frames++
		}
	}
	t.Logf("%s: %d upstream image calls for %d stored frames in %s", what, calls, frames, win)
	if want := int(win / wInterval); frames < want/2 || calls > int64(frames)+1 {
		t.Errorf("%s: %d calls for %d frames; want about %d frames at one call each", what, calls, frames, want)
	}
	if now := c.callsOf(t, others...); !slices.Equal(now, others0) {
		t.Errorf("%s: cameras nobody watches got upstream calls: %v → %v", what, others0, now)
	}
}

func fmtD(d time.Duration) string { return fmt.Sprint(d.Round(time.Millisecond)) }

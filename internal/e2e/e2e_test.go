// Package e2e runs camrelay's programs together against a real Redis:
// the simulator, two fetchers and two web replicas, in-process through
// their real Run functions.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

const (
	camA     = "1006073b"
	camB     = "10060a2c"
	interval = time.Second
)

// system is the whole of camrelay on loopback.
type system struct {
	sim      *inproc.Proc
	fetchers []*inproc.Proc
	webs     []*inproc.Proc
}

func startSystem(t *testing.T) *system {
	rds := testbed.Redis(t)
	common := map[string]string{"KEY_PREFIX": testbed.Prefix(t), "LOG_LEVEL": "warn"}
	bed := inproc.StartStack(t, inproc.Options{
		RedisURL: rds.URL(), Cameras: camA + "=Site," + camB + "=Slope", Interval: interval,
		Fetchers: 2, Webs: 2, Fetcher: testbed.With(common, "LOCK_TTL", "2s"), Web: common,
	})
	s := &system{sim: bed.Sim, fetchers: bed.Fetchers, webs: bed.Webs}
	for _, w := range s.webs {
		testbed.WaitFor(t, 15*time.Second, "both replicas serving both cameras", func() bool {
			return status(w.URL("web")+"/preview/"+camA+".jpg") == 200 && status(w.URL("web")+"/preview/"+camB+".jpg") == 200
		})
	}
	return s
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (s *system) simStats(t *testing.T) eensim.Stats {
	t.Helper()
	st, err := testbed.SimStats(t.Context(), s.sim.URL("eensim"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// imageCalls counts the upstream image calls made for a camera.
func imageCalls(st eensim.Stats, esn string) int64 {
	return st.Count("prev", esn) + st.Count("next", esn) + st.Count("asset", esn)
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	s := startSystem(t)
	web0, web1 := s.webs[0].URL("web"), s.webs[1].URL("web")

	t.Run("not public is 404, malformed is 400", func(t *testing.T) {
		if got := status(web0 + "/preview/deadbeef.jpg"); got != 404 {
			t.Errorf("camera not on the allow-list: got %d, want 404", got)
		}
		if got := status(web1 + "/preview/xyz.jpg"); got != 400 {
			t.Errorf("malformed id: got %d, want 400", got)
		}
		if got := status(web1 + "/healthz"); got != 200 {
			t.Errorf("/healthz: got %d", got)
		}
	})

	// An SSE client reads frames while 20 pollers hit both replicas.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var events []testbed.SSEEvent
	var sseErr error
	sseDone := make(chan struct{})
	go func() {
		defer close(sseDone)
		events, sseErr = testbed.ReadSSE(ctx, web1+"/preview/"+camA+"/events", 6)
	}()

	before := s.simStats(t)
	window := 6 * time.Second
	polls, bad := pollers(t, []string{web0, web1}, 20, 100*time.Millisecond, window)
	after := s.simStats(t)
	<-sseDone
	if sseErr != nil {
		t.Fatal(sseErr)
	}

	t.Run("every served image is the latest frame or the one before", func(t *testing.T) {
		if polls < 500 {
			t.Errorf("only %d polls completed", polls)
		}
		if bad != "" {
			t.Error(bad)
		}
	})
	t.Run("SSE frames arrive in order", func(t *testing.T) {
		if len(events) < 6 {
			t.Fatalf("got %d events, want 6", len(events))
		}
		var last preview.Timestamp
		for i, ev := range events {
			var d struct {
				ESN string            `json:"esn"`
				TS  preview.Timestamp `json:"ts"`
			}
			if ev.Name != "frame" || json.Unmarshal([]byte(ev.Data), &d) != nil || d.ESN != camA {
				t.Fatalf("event %d: %+v", i, ev)
			}
			if i > 0 && d.TS.Time().Sub(last.Time()) != interval {
				t.Errorf("event %d: ts %s follows %s: want one frame interval apart", i, d.TS, last)
			}
			last = d.TS
		}
	})
	t.Run("one upstream call per frame, not per viewer", func(t *testing.T) {
		frames := float64(window / interval)
		for _, esn := range []string{camA, camB} {
			calls := float64(imageCalls(after, esn) - imageCalls(before, esn))
			t.Logf("camera %s: %.0f upstream image calls for about %.0f frames during %d polls", esn, calls, frames, polls)
			if calls > frames*1.2+1 || calls < frames*0.8-1 {
				t.Errorf("camera %s: %.0f upstream calls for about %.0f frames", esn, calls, frames)
			}
		}
	})
}

// pollers runs n clients polling camA on the replicas every period for d.
// Each answer must be the simulator's latest frame at that moment or the
// one before it; the first violation is returned.
func pollers(t *testing.T, webs []string, n int, period, d time.Duration) (int64, string) {
	var polls atomic.Int64
	var mu sync.Mutex
	var bad string
	stop := time.Now().Add(d)
	transport := &http.Transport{MaxIdleConnsPerHost: n}
	defer transport.CloseIdleConnections()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second, Transport: transport}
			tick := time.NewTicker(period)
			defer tick.Stop()
			for time.Now().Before(stop) {
				reqAt := time.Now()
				msg := checkPoll(client, webs[i%len(webs)]+"/preview/"+camA+".jpg", reqAt)
				polls.Add(1)
				if msg != "" {
					mu.Lock()
					bad = cmpOr(bad, msg)
					mu.Unlock()
				}
				<-tick.C
			}
		})
	}
	wg.Wait()
	return polls.Load(), bad
}

// checkPoll fetches one image and checks its timestamp against the
// simulator's frame grid: frames are one interval apart, so at time t the
// newest frame is at most one interval old.
func checkPoll(client *http.Client, url string, reqAt time.Time) string {
	resp, err := client.Get(url)
	if err != nil {
		return err.Error()
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	respAt := time.Now()
	if resp.StatusCode != 200 || !preview.IsJPEG(body) {
		return fmt.Sprintf("%s: status %d, %d bytes", url, resp.StatusCode, len(body))
	}
	ts := preview.Timestamp(resp.Header.Get("X-Frame-Timestamp")).Time()
	if ts.After(respAt) || reqAt.Sub(ts) >= 2*interval {
		return fmt.Sprintf("%s: image of %s served at %s: not the latest frame or the one before",
			url, ts.Format("15:04:05.000"), reqAt.Format("15:04:05.000"))
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

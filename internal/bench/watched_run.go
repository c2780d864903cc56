package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// watchedSample is what the scenario reads at each end of a window: the
// simulator's image calls per camera and Redis' calls per command.
type watchedSample struct {
	at    time.Time
	calls map[preview.ESN]int64
	redis map[string]int64
}

// imageOps are the simulator's endpoints that serve an image.
var imageOps = []string{"prev", "next", "asset", "after"}

func (w *watchedRun) sample(ctx context.Context) (watchedSample, error) {
	m := watchedSample{at: time.Now(), calls: make(map[preview.ESN]int64)}
	st, err := testbed.SimStats(ctx, "http://"+w.s.Sim.Addr("eensim"))
	if err != nil {
		return m, err
	}
	for _, op := range imageOps {
		for esn, n := range st.Requests[op] {
			m.calls[preview.ESN(esn)] += n
		}
	}
	m.redis, err = w.s.rds.commandCalls(ctx)
	return m, err
}

// busyFigures is what the window with viewers measured, per second:
// upstream calls for the watched cameras and for the others, and the
// replicas' interest marks.
type busyFigures struct{ calls, others, marks float64 }

// watchedWindow connects the viewers (each watched camera's spread over
// both replicas), waits until each has a frame, and measures a window.
// The viewers stay connected: timeToSleep sends them away.
func (w *watchedRun) watchedWindow(ctx context.Context) (busyFigures, *viewers, error) {
	var urls []string
	for i, esn := range w.s.cams[:w.z.watched] {
		for v := range w.z.viewers {
			web := w.s.Webs[(i*w.z.viewers+v)%len(w.s.Webs)]
			urls = append(urls, "http://"+web.Addr("web")+"/preview/"+string(esn)+"/events")
		}
	}
	vs := watch(urls)
	if err := testbed.Wait(ctx, 30*time.Second, "every viewer's first frame", func() bool { return vs.framed.Load() == int64(len(urls)) }); err != nil {
		vs.leave()
		return busyFigures{}, nil, err
	}
	var f busyFigures
	s0, err := w.sample(ctx)
	m0 := w.marks(ctx)
	if err == nil {
		err = pause(ctx, w.z.win) // the measured window
	}
	s1, err1 := w.sample(ctx)
	if err = cmpErr(err, err1); err != nil {
		vs.leave()
		return f, nil, err
	}
	secs := s1.at.Sub(s0.at).Seconds()
	for esn, n := range s1.calls {
		if d := float64(n-s0.calls[esn]) / secs; w.isWatched(esn) {
			f.calls += d
		} else {
			f.others += d
		}
	}
	f.marks = (w.marks(ctx) - m0) / secs
	w.e.log("watched: %d viewers: %.1f upstream calls/s (others %.1f); %.2f marks/s; Redis SET %.2f/s, %d frame events read",
		len(urls), f.calls, f.others, f.marks, float64(s1.redis["set"]-s0.redis["set"])/secs, vs.frames.Load())
	return f, vs, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (w *watchedRun) isWatched(esn preview.ESN) bool {
	for _, c := range w.s.cams[:w.z.watched] {
		if c == esn {
			return true
		}
	}
	return false
}

// timeToSleep sends the viewers away and measures how long after that
// the watched cameras' last upstream call came (and when): it follows the
// calls until every watched camera is asleep on both fetchers and two
// frame intervals passed with no call.
func (w *watchedRun) timeToSleep(ctx context.Context, vs *viewers) (time.Duration, time.Time, error) {
	m0, err := w.sample(ctx)
	vs.leave()
	left := time.Now()
	if err != nil {
		return 0, left, err
	}
	watched := w.s.cams[:w.z.watched]
	calls, last := m0.calls, left
	err = testbed.Wait(ctx, w.z.watchTTL+w.z.lockTTL+30*time.Second, "the watched cameras asleep", func() bool {
		m, err := w.sample(ctx)
		if err != nil {
			return false
		}
		for _, esn := range watched {
			if m.calls[esn] != calls[esn] {
				calls[esn], last = m.calls[esn], m.at
			}
		}
		return time.Since(last) > 2*w.interval && w.asleep(ctx, watched, false)
	})
	w.slept = calls
	w.e.log("watched: last upstream call %s after the last viewer left", ms(last.Sub(left)))
	return last.Sub(left), last, err
}

// wakeUps asks, one after another, for the still image of cold cameras
// (asleep, never watched), alternating replicas, and times each until
// its image is in; it counts the answers other than 200.
func (w *watchedRun) wakeUps(ctx context.Context) (took []time.Duration, failed int, err error) {
	for i, esn := range w.s.cams[w.z.watched : w.z.watched+w.z.wakes] {
		url := "http://" + w.s.Webs[i%len(w.s.Webs)].Addr("web") + "/preview/" + string(esn) + ".jpg"
		start := time.Now()
		code, err := fetchStatus(ctx, url)
		if err != nil {
			return took, failed, fmt.Errorf("wake-up %d: %w", i+1, err)
		}
		took = append(took, time.Since(start))
		if code != http.StatusOK {
			failed++
		}
	}
	w.e.log("watched: %d wake-ups: p50 %s, p99 %s, max %s, %d not 200", len(took),
		ms(percentile(took, 50)), ms(percentile(took, 99)), ms(percentile(took, 100)), failed)
	return took, failed, nil
}

// fetchStatus GETs url, reads the whole answer and returns its status.
func fetchStatus(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// callsSinceAsleep is the watched cameras' upstream calls since they
// fell asleep (timeToSleep).
func (w *watchedRun) callsSinceAsleep(ctx context.Context) (int64, error) {
	m, err := w.sample(ctx)
	var n int64
	for esn, c := range w.slept {
		n += m.calls[esn] - c
	}
	return n, err
}

// marks is the replicas' interest marks so far (their metric).
func (w *watchedRun) marks(ctx context.Context) float64 {
	var n float64
	for _, a := range w.admins {
		n += testbed.MetricSum(ctx, "http://"+a+"/metrics", `camrelay_web_watch_marks_total{result="ok"}`)
	}
	return n
}

// viewers are SSE clients, one goroutine each, counting frame events.
type viewers struct {
	stop   context.CancelFunc
	wg     sync.WaitGroup
	framed atomic.Int64 // viewers that read a frame
	frames atomic.Int64 // frame events read in all
}

// watch connects a viewer to each url.
func watch(urls []string) *viewers {
	ctx, stop := context.WithCancel(context.Background())
	vs := &viewers{stop: stop}
	for _, u := range urls {
		vs.wg.Go(func() {
			first := true
			testbed.EachSSE(ctx, u, func(ev testbed.SSEEvent) bool {
				if ev.Name == "frame" {
					if first {
						vs.framed.Add(1)
						first = false
					}
					vs.frames.Add(1)
				}
				return true
			})
		})
	}
	return vs
}

// leave disconnects every viewer; it may be called more than once.
func (vs *viewers) leave() { vs.stop(); vs.wg.Wait() }

package deployments

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// surgeCams are the cameras of the real-replica surge.
var surgeCams = []string{"1006073b", "10060a2c", "100b4f17", "100c5e21"}

// stillSeries are a replica's metrics of still requests (a 304 is nginx
// revalidating its copy).
var stillSeries = []string{
	`camrelay_web_requests_total{code="200",route="/preview/{esn}.jpg"}`,
	`camrelay_web_requests_total{code="304",route="/preview/{esn}.jpg"}`,
}

// The whole path, real parts only: the simulator (4 cameras, 4 frames a
// second), a fetcher, Redis and 3 web replicas with CACHE_MAX_AGE=1s as
// compose runs them, behind nginx running nginx.conf. 200 viewers polling
// the 4 cameras for 4 s are served while the replicas, by their own
// counters, see at most one still request per camera per second (and the
// one a window may start within); each new frame, from the moment a
// replica announces it, reaches viewers through the cache within max-age
// + one frame interval (no viewer asking later gets an older frame);
// nginx keeps X-Accel-Expires to itself.
func TestNginxMicrocacheRealReplicas(t *testing.T) {
	bin := nginxBinary(t)
	rds := testbed.Redis(t)
	bed := inproc.StartStack(t, inproc.Options{RedisURL: rds.URL(), Cameras: strings.Join(surgeCams, ","),
		Interval: frameEvery, Webs: 3, Web: map[string]string{"CACHE_MAX_AGE": "1s", "LOG_LEVEL": "warn"},
		Fetcher: map[string]string{"LOG_LEVEL": "warn"}})
	var ups []string
	for _, w := range bed.Webs {
		ups = append(ups, strings.TrimPrefix(w.URL("web"), "http://"))
	}
	testbed.WaitFor(t, 20*time.Second, "every replica serving every camera", func() bool {
		for _, w := range bed.Webs {
			for _, esn := range surgeCams {
				if resp, err := http.Get(w.URL("web") + "/preview/" + esn + ".jpg"); err != nil {
					return false
				} else if resp.Body.Close(); resp.StatusCode != 200 {
					return false
				}
			}
		}
		return true
	})
	base := startNginx(t, bin, ups...)
	var urls []string
	for _, esn := range surgeCams {
		u := base + "/preview/" + esn + ".jpg"
		resp, err := http.Get(u) // fills the cache: the surge counts refreshes only
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Accel-Expires") != "" {
			t.Fatalf("GET %s through nginx: %d, X-Accel-Expires %q: want 200 without it", u, resp.StatusCode, resp.Header.Get("X-Accel-Expires"))
		}
		urls = append(urls, u)
	}

	pub := announced(t, bed.Webs[0].URL("web"), surgeFor+time.Second)
	before := stillRequests(bed)
	ctx, cancel := context.WithTimeout(context.Background(), surgeFor)
	defer cancel()
	frameOf := func(r *http.Response, _ []byte) (string, string) {
		esn := strings.TrimSuffix(strings.TrimPrefix(r.Request.URL.Path, "/preview/"), ".jpg")
		return esn, r.Header.Get("X-Frame-Timestamp") // EEN timestamps sort in time order
	}
	answers, hits, total := surge(ctx, urls, 200, 100*time.Millisecond, frameOf)
	reqs := stillRequests(bed) - before
	worst, seen := staleness(answers, pub.wait().pubs)
	bound := float64(len(surgeCams)) * (surgeFor.Seconds() + 1)
	t.Logf("%d viewer requests (%d cache hits), %.0f reached the replicas in %s (%.2f per camera per second); %d frames seen; worst staleness %s",
		total, hits, reqs, surgeFor, reqs/float64(len(surgeCams))/surgeFor.Seconds(), seen, worst.Round(time.Millisecond))
	if float64(total) < 20*bound || reqs > bound {
		t.Errorf("%d viewer requests, %.0f at the replicas: want 20 times more through the cache and at most %.0f (one per camera per second, +1)", total, reqs, bound)
	}
	if worst > maxDelay || seen < 3*len(surgeCams) {
		t.Errorf("viewers got frames %s after a newer one was announced (%d seen): want within max-age 1 s + a frame (%s)", worst, seen, maxDelay)
	}
}

// stillRequests is the still requests the stack's replicas answered.
func stillRequests(bed *inproc.Stack) float64 {
	var n float64
	for _, w := range bed.Webs {
		n += testbed.MetricSum(context.Background(), w.URL("admin")+"/metrics", stillSeries...)
	}
	return n
}

// announcements are when a replica announced each camera's frames (SSE).
type announcements struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	pubs map[string][]publication // esn → frames (EEN timestamps) in order
}

// announced follows every surge camera's SSE stream on the replica at web
// for d; the first event, the frame current at connect, is left out.
func announced(t *testing.T, web string, d time.Duration) *announcements {
	a := &announcements{pubs: map[string][]publication{}}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	for _, esn := range surgeCams {
		a.wg.Go(func() {
			first := true
			testbed.EachSSE(ctx, web+"/preview/"+esn+"/events", func(ev testbed.SSEEvent) bool {
				if ts, ok := strings.CutPrefix(ev.ID, esn+"-"); ok && ev.Name == "frame" && !first {
					a.mu.Lock()
					a.pubs[esn] = append(a.pubs[esn], publication{ts, time.Now()})
					a.mu.Unlock()
				}
				first = false
				return true
			})
		})
	}
	return a
}

// wait returns once every stream has ended.
func (a *announcements) wait() *announcements { a.wg.Wait(); return a }

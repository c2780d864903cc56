package deployments

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cacheReplica stands in for a web replica with CACHE_MAX_AGE=1s: its
// still changes every frameEvery (4 images a second) and carries the
// replica's headers (httpserver's TestCacheControlPerRoute and
// TestNginxExpiry pin them).
type cacheReplica struct {
	requests atomic.Int64
	mu       sync.Mutex
	frame    int
	at       []time.Time // when each frame was published
}

const (
	frameEvery = 250 * time.Millisecond
	surgeFor   = 4 * time.Second
	// maxDelay: max-age 1 s + a frame. nginx would count max-age from the
	// whole second it fetched in (up to 2 s); X-Accel-Expires ends it on time.
	maxDelay = time.Second + frameEvery
)

// frameName is frame n's body, sorting as the frames were published.
func frameName(n int) string { return fmt.Sprintf("f%06d", n) }

func (r *cacheReplica) publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frame++
	r.at = append(r.at, time.Now())
}

func (r *cacheReplica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	r.mu.Lock()
	n := r.frame
	r.mu.Unlock()
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=1, stale-while-revalidate=2, stale-if-error=10")
	etag := `"f` + strconv.Itoa(n) + `"`
	h.Set("Etag", etag)
	h.Set("X-Accel-Expires", "@"+strconv.FormatInt(time.Now().Unix(), 10))
	if req.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "image/jpeg")
	fmt.Fprint(w, frameName(n))
}

// Behind nginx.conf's microcache, 50 viewers polling one camera's still
// reach the replica at most about once per max-age, and each new frame
// reaches viewers within max-age + one frame: no viewer asking later than
// that after a frame was published gets an older one.
func TestNginxMicrocacheSurge(t *testing.T) {
	bin := nginxBinary(t)
	rep := &cacheReplica{}
	rep.publish()
	up := httptest.NewServer(rep)
	defer up.Close()
	base := startNginx(t, bin, up.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), surgeFor)
	defer cancel()
	go func() { // the camera: 4 frames a second for the surge
		tick := time.NewTicker(frameEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				rep.publish()
			}
		}
	}()
	body := func(_ *http.Response, b []byte) (string, string) { return "", string(b) }
	answers, hits, total := surge(ctx, []string{base + "/preview/1006073b.jpg"}, 50, 0, body)
	reqs := rep.requests.Load()
	rep.mu.Lock()
	var pubs []publication
	for k, at := range rep.at {
		pubs = append(pubs, publication{frameName(k + 1), at})
	}
	rep.mu.Unlock()
	worst, seen := staleness(answers, map[string][]publication{"": pubs})
	t.Logf("%d viewer requests (%d cache hits), %d reached the replica in %s (%.2f/s); %d frames, %d seen; worst staleness %s",
		total, hits, reqs, surgeFor, float64(reqs)/surgeFor.Seconds(), len(pubs), seen, worst.Round(time.Millisecond))
	if total < 500 || reqs > int64(surgeFor/time.Second)+1 {
		t.Errorf("%d viewer requests, %d at the replica: want many through the cache and at most ~1 per second", total, reqs)
	}
	if worst > maxDelay || seen < 3 {
		t.Errorf("viewers got frames %s after a newer one was out (%d seen): want within max-age 1 s + a frame", worst, seen)
	}
}

// answer is a 200 a viewer got: when its request left, and its frame
// (frames of a camera sort in publication order).
type answer struct {
	sent          time.Time
	camera, frame string
}

// publication is when a camera's frame was published.
type publication struct {
	frame string
	at    time.Time
}

// surge polls urls (client i the i-th modulo their number) from n
// clients until ctx ends, each at most once per every (0: back to back);
// it returns every 200 answer (frameOf names its camera and frame), the
// cache hits and the requests.
func surge(ctx context.Context, urls []string, n int, every time.Duration, frameOf func(*http.Response, []byte) (string, string)) ([]answer, int64, int64) {
	var mu sync.Mutex
	var answers []answer
	var hits, total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			next := start.Add(every * time.Duration(i) / time.Duration(n)) // spread out
			for ctx.Err() == nil {
				select { // pacing, not synchronisation: a viewer's poll rate
				case <-time.After(time.Until(next)):
				case <-ctx.Done():
					return
				}
				next = time.Now().Add(every)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls[i%len(urls)], nil)
				sent := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				total.Add(1)
				if resp.Header.Get("X-Cache-Status") == "HIT" {
					hits.Add(1)
				}
				if resp.StatusCode != 200 {
					continue
				}
				cam, frame := frameOf(resp, body)
				mu.Lock()
				answers = append(answers, answer{sent, cam, frame})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return answers, hits.Load(), total.Load()
}

// staleness is the longest a viewer was handed a frame after a newer one
// was published: for each answer, how long before its request left the
// first frame newer than its own was published (pubs: each camera's, in
// order). It also says how many distinct frames viewers got.
func staleness(answers []answer, pubs map[string][]publication) (worst time.Duration, frames int) {
	got := map[answer]bool{}
	for _, a := range answers {
		got[answer{camera: a.camera, frame: a.frame}] = true
		for _, p := range pubs[a.camera] {
			if p.frame > a.frame {
				worst = max(worst, a.sent.Sub(p.at))
				break
			}
		}
	}
	return worst, len(got)
}

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
	fmt.Fprint(w, n)
}

// Behind nginx.conf's microcache, 50 viewers polling one camera's still
// reach the replica at most about once per max-age, and each new frame
// reaches viewers within max-age + one frame.
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
	body := func(_ *http.Response, b []byte) string { return string(b) }
	seen, hits, total := surge(ctx, []string{base + "/preview/1006073b.jpg"}, 50, 0, body)
	reqs := rep.requests.Load()
	rep.mu.Lock()
	keys := make([]string, len(rep.at))
	for k := range keys {
		keys[k] = strconv.Itoa(k + 1)
	}
	worst := freshness(keys, rep.at, seen, time.Now().Add(-maxDelay))
	frames := len(rep.at)
	rep.mu.Unlock()
	t.Logf("%d viewer requests (%d cache hits), %d reached the replica in %s (%.2f/s); %d frames, %d seen; worst delay %s",
		total, hits, reqs, surgeFor, float64(reqs)/surgeFor.Seconds(), frames, len(seen), worst.Round(time.Millisecond))
	if total < 500 || reqs > int64(surgeFor/time.Second)+1 {
		t.Errorf("%d viewer requests, %d at the replica: want many through the cache and at most ~1 per second", total, reqs)
	}
	if worst > maxDelay || len(seen) < 3 {
		t.Errorf("new frames reach viewers %s late (%d seen): want within max-age 1 s + a frame", worst, len(seen))
	}
}

// surge polls urls (client i the i-th modulo their number) from n
// clients until ctx ends, each at most once per every (0: back to back);
// it returns when each frame (key of a 200 answer) was first seen, the
// cache hits and the requests.
func surge(ctx context.Context, urls []string, n int, every time.Duration, key func(*http.Response, []byte) string) (map[string]time.Time, int64, int64) {
	var mu sync.Mutex
	seen := map[string]time.Time{}
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
				k := key(resp, body)
				mu.Lock()
				if _, ok := seen[k]; !ok {
					seen[k] = time.Now()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return seen, hits.Load(), total.Load()
}

// freshness is the longest a frame published before until waited for
// viewers to see it or a newer one: frames[k] (a key as surge's) was
// published at at[k], in order.
func freshness(frames []string, at []time.Time, seen map[string]time.Time, until time.Time) time.Duration {
	var worst time.Duration
	for k, pub := range at {
		if pub.After(until) {
			break
		}
		first := time.Time{}
		for _, f := range frames[k:] {
			if t, ok := seen[f]; ok && (first.IsZero() || t.Before(first)) {
				first = t
			}
		}
		if first.IsZero() {
			return time.Hour // never seen: stale for good
		}
		worst = max(worst, first.Sub(pub))
	}
	return worst
}

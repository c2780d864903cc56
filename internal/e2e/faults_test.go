package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// imageTS fetches a camera's image and returns its status and frame time.
func imageTS(url string) (int, preview.Timestamp) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, preview.Timestamp(resp.Header.Get("X-Frame-Timestamp"))
}

// Redis unreachable for 30 s (frozen, so connections hang rather than
// fail): both programs keep running, say not ready, never serve a frame
// older than the frame TTL as current, and recover within 5 s of its return.
func TestRedisUnreachableFor30s(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s fault test: not in -short mode")
	}
	const frameTTL = 4 * time.Second
	rds := testbed.Redis(t)
	ttl := map[string]string{"FRAME_TTL": frameTTL.String()}
	_, fetcher, web := camStack(t, rds.URL(), "", ttl, ttl)
	img, w, a := web.URL("web")+"/preview/"+camA+".jpg", web.URL("web"), fetcher.URL("admin")

	rds.Pause()
	paused := time.Now()
	testbed.WaitFor(t, 15*time.Second, "both not ready", func() bool { return status(w+"/readyz") == 503 && status(a+"/readyz") == 503 })
	t.Logf("not ready %s after Redis froze", time.Since(paused).Round(time.Millisecond))
	for time.Since(paused) < 30*time.Second {
		code, ts := imageTS(img)
		if code == 200 && time.Since(ts.Time()) > frameTTL+time.Second {
			t.Fatalf("served a frame of %s as current while Redis was unreachable", ts)
		}
		if code != 200 && code != 503 {
			t.Fatalf("status %d while Redis was unreachable", code)
		}
		if status(w+"/healthz") != 200 || status(a+"/healthz") != 200 {
			t.Fatal("a program stopped answering /healthz")
		}
		time.Sleep(250 * time.Millisecond) // sampling interval of a measured window
	}
	if code, _ := imageTS(img); code != 503 {
		t.Errorf("after 30 s without Redis the image answers %d, want 503 (nothing fresh)", code)
	}

	rds.Resume()
	resumed := time.Now()
	testbed.WaitFor(t, 5*time.Second, "fresh images and both ready within 5 s", func() bool {
		code, ts := imageTS(img)
		return code == 200 && ts.Time().After(resumed.Add(-time.Second)) &&
			status(w+"/readyz") == 200 && status(a+"/readyz") == 200
	})
	t.Logf("recovered %s after Redis came back", time.Since(resumed).Round(time.Millisecond))
}

// Redis that answers PING but refuses every write (out of memory under
// maxmemory with noeviction): the fetcher can neither beat nor lead, and its
// /readyz says so in Redis' own words within a few heartbeats instead of
// passing for an idle fetcher; it is ready again once Redis takes writes.
func TestRedisRefusingWritesIsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	rds := testbed.Redis(t)
	_, fetcher, _ := camStack(t, rds.URL(), "", nil, nil)
	admin, ctx, ready := rds.Client(), t.Context(), fetcher.URL("admin")+"/readyz"
	if err := admin.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	full := time.Now()
	var body string
	testbed.WaitFor(t, 10*time.Second, "/readyz to name Redis' refusal", func() bool {
		var code int
		code, body = get(ready)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "OOM command not allowed")
	})
	t.Logf("%s after Redis filled up: %s", time.Since(full).Round(time.Millisecond), body)
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 10*time.Second, "ready again once Redis takes writes", func() bool { return status(ready) == http.StatusOK })
}

// inflight counts concurrent upstream image calls per camera.
type inflight struct {
	mu   sync.Mutex
	now  map[string]int
	peak map[string]int
}

func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		f.mu.Lock()
		f.now[id]++
		f.peak[id] = max(f.peak[id], f.now[id])
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.now[id]--; f.mu.Unlock() }()
		h.ServeHTTP(w, r)
	})
}

// Under every upstream fault at once, images keep flowing, each camera has
// at most one upstream call in flight, and retries stay bounded.
func TestUpstreamFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: not in -short mode")
	}
	rds := testbed.Redis(t)
	r, _ := framegen.New(640, 360)
	esns := []preview.ESN{"1006073b", "10060a2c", "100b4f17"}
	var cams []eensim.Camera
	for _, esn := range esns {
		cams = append(cams, eensim.Camera{ESN: esn, Interval: 500 * time.Millisecond})
	}
	sim, err := eensim.New(eensim.Config{
		Username: testbed.SimUser, Password: testbed.SimPassword, Cameras: cams, Renderer: r,
		Faults: eensim.Faults{Unavailable: 0.15, RateLimited: 0.1, RetryAfter: time.Second, Redirect: 0.1,
			Slow: 0.03, SlowDelay: 3 * time.Second, ExpireEvery: 3 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := &inflight{now: map[string]int{}, peak: map[string]int{}}
	upstream := httptest.NewServer(calls.wrap(sim.Handler()))
	defer upstream.Close()
	fetcher := inproc.StartStack(t, inproc.Options{RedisURL: rds.URL(), Cameras: "1006073b,10060a2c,100b4f17",
		Upstream: upstream.URL, Webs: -1, Fetcher: map[string]string{"LOG_LEVEL": "error", "LOCK_TTL": "2s"}}).Fetchers[0]
	window := 15 * time.Second
	time.Sleep(window) // the measured window
	st := sim.Stats()
	fetcher.Stop(t)
	rdb := rds.Client()
	for _, esn := range esns {
		id := string(esn)
		calls.mu.Lock()
		peak := calls.peak[id]
		calls.mu.Unlock()
		image := st.Count("prev", id) + st.Count("next", id)
		stored, _ := rdb.Exists(t.Context(), preview.Keys{Prefix: preview.DefaultKeyPrefix}.Frame(esn)).Result()
		t.Logf("camera %s: %d image calls in %s, at most %d in flight", id, image, window, peak)
		if peak > 1 {
			t.Errorf("camera %s: %d upstream calls in flight at once, want 1", id, peak)
		}
		// 30 frames in the window; faults add retries, each after a backoff.
		if image > 90 {
			t.Errorf("camera %s: %d upstream calls in %s: retries not bounded", id, image, window)
		}
		if stored != 1 {
			t.Errorf("camera %s: no frame stored", id)
		}
	}
	logins := st.Total("login")
	t.Logf("statuses %v; %d logins with sessions ending every 3 s", st.Status, logins)
	if logins > int64(window/(3*time.Second))+3 {
		t.Errorf("%d logins: more than one per session expiry", logins)
	}
}

package httpserver

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// answer is what a request sent on its own goroutine got.
type answer struct {
	code int
	hdr  http.Header
	body string
	err  error
}

// request sends method url on a goroutine of its own; the answer comes on
// the channel.
func request(ctx context.Context, method, url string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, method, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- answer{code: resp.StatusCode, hdr: resp.Header, body: string(b)}
	}()
	return out
}

func await(t *testing.T, ch <-chan answer, what string) answer {
	t.Helper()
	select {
	case a := <-ch:
		if a.err != nil {
			t.Fatalf("%s: %v", what, a.err)
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer in 10 s", what)
		return answer{}
	}
}

func coldServer(t *testing.T, cfg Config) (*fakeStore, *Server, string) {
	t.Helper()
	store := newFakeStore(preview.Camera{ESN: camA, Watched: true}, preview.Camera{ESN: camB})
	srv, ts := newTestServer(t, store, cfg)
	return store, srv, ts.URL + "/preview/" + string(camA) + ".jpg"
}

// TestColdWaitServesTheFirstFrame: a still-image request (GET or HEAD)
// for a camera waking up marks it and gets the first frame as soon as
// it comes, not a 503.
func TestColdWaitServesTheFirstFrame(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		m := newFakeMarker()
		store, srv, url := coldServer(t, Config{Marker: m, ColdWait: time.Minute})
		ch := request(context.Background(), method, url)
		srv.TestSignals.ColdWaiting.WaitOrTimeout(t)
		waitMarked(t, m, camA, "the waking camera marked")
		f := store.put(camA, "20261124040507.250", "first")
		a := await(t, ch, method)
		if a.code != 200 || a.hdr.Get("ETag") != f.ETag || (method == http.MethodGet && a.body != string(f.JPEG)) {
			t.Errorf("%s: %d ETag %s body %q; want 200 with the first frame", method, a.code, a.hdr.Get("ETag"), a.body)
		}
		if n := metricOf(t, srv, "camrelay_web_cold_waits_total", "result", "served"); n != 1 {
			t.Errorf("%s: cold waits served: %v, want 1", method, n)
		}
	}
}

// TestColdWaitTimesOut: no frame within ColdWait: 503 with Retry-After,
// GET and HEAD alike, as without a wait.
func TestColdWaitTimesOut(t *testing.T) {
	const wait = 300 * time.Millisecond
	_, srv, url := coldServer(t, Config{Marker: newFakeMarker(), ColdWait: wait})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		start := time.Now()
		a := await(t, request(context.Background(), method, url), method)
		if took := time.Since(start); a.code != 503 || a.hdr.Get("Retry-After") == "" || took < wait {
			t.Errorf("%s: %d Retry-After %q after %s; want 503 with Retry-After after %s", method, a.code, a.hdr.Get("Retry-After"), took, wait)
		}
	}
	if n := metricOf(t, srv, "camrelay_web_cold_waits_total", "result", "timeout"); n != 2 {
		t.Errorf("cold waits timed out: %v, want 2", n)
	}
}

// TestColdWaitEndsWithTheRequest: a client that leaves ends its wait at
// once, and the waiter is gone.
func TestColdWaitEndsWithTheRequest(t *testing.T) {
	_, srv, url := coldServer(t, Config{Marker: newFakeMarker(), ColdWait: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	ch := request(ctx, http.MethodGet, url)
	srv.TestSignals.ColdWaiting.WaitOrTimeout(t)
	cancel()
	<-ch
	testbed.WaitFor(t, 5*time.Second, "the wait over", func() bool {
		return srv.coldWaits.Load() == 0 && metricOf(t, srv, "camrelay_web_cold_waits_total", "result", "gone") == 1
	})
}

// TestColdWaitCap: past MaxColdWaits, a request answers 503 at once.
func TestColdWaitCap(t *testing.T) {
	_, srv, url := coldServer(t, Config{Marker: newFakeMarker(), ColdWait: time.Minute, MaxColdWaits: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := []<-chan answer{request(ctx, http.MethodGet, url), request(ctx, http.MethodGet, url)}
	srv.TestSignals.ColdWaiting.WaitOrTimeout(t)
	srv.TestSignals.ColdWaiting.WaitOrTimeout(t)
	if a := await(t, request(context.Background(), http.MethodGet, url), "a third"); a.code != 503 || a.hdr.Get("Retry-After") == "" {
		t.Errorf("a third waiter: %d, want 503 at once", a.code)
	}
	if n := metricOf(t, srv, "camrelay_web_cold_waits_total", "result", "full"); n != 1 {
		t.Errorf("cold waits refused: %v, want 1", n)
	}
	cancel()
	for _, ch := range waiting {
		<-ch
	}
}

// TestNoColdWait: with the wait off (COLD_WAIT=0), for a camera followed
// always, and for a camera that is not public or a malformed id, a request
// answers at once, as before.
func TestNoColdWait(t *testing.T) {
	m := newFakeMarker()
	_, off, url := coldServer(t, Config{Marker: m, ColdWait: -1})
	if a := await(t, request(context.Background(), http.MethodGet, url), "wait off"); a.code != 503 || a.hdr.Get("Retry-After") == "" {
		t.Errorf("wait off: %d, want 503 with Retry-After", a.code)
	}
	waitMarked(t, m, camA, "marked all the same")

	m2 := newFakeMarker()
	_, on, url := coldServer(t, Config{Marker: m2, ColdWait: time.Minute}) // await gives up long before
	base := url[:len(url)-len("1006073b.jpg")]
	for path, want := range map[string]int{string(camB) + ".jpg": 503, "deadbeef.jpg": 404, "1006073g.jpg": 400} {
		if a := await(t, request(context.Background(), http.MethodGet, base+path), path); a.code != want {
			t.Errorf("%s: %d, want %d at once", path, a.code, want)
		}
	}
	for _, srv := range []*Server{off, on} {
		for _, result := range []string{"served", "timeout", "gone", "full"} {
			if n := metricOf(t, srv, "camrelay_web_cold_waits_total", "result", result); n != 0 {
				t.Errorf("cold waits %s: %v, want none", result, n)
			}
		}
	}
	if got := interested(on); len(got) != 1 || got[0] != camB {
		t.Errorf("interest in %v, want only the public camera asked for", got)
	}
}

package httpserver

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

const camA = preview.ESN("1006073b")

func init() { gin.SetMode(gin.ReleaseMode) }

// newTestServer runs a replica over store, its test signals on, until
// the test ends, and waits until it is ready.
func newTestServer(t *testing.T, store Store, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	srv := New(cfg, store)
	srv.TestSignals.Init()
	ts := runServer(t, srv)
	waitReadiness(t, srv, true, "replica ready")
	return srv, ts
}

// runServer runs srv, and serves it over HTTP, until the test ends.
func runServer(t *testing.T, srv *Server) *httptest.Server {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.RegisterOnShutdown(srv.Close)
	ts.Start()
	t.Cleanup(func() { srv.Close(); ts.Close(); cancel(); <-done })
	return ts
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestStillImageStatuses(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA, Name: "Site"})
	srv, ts := newTestServer(t, store, Config{})
	base := ts.URL + "/preview/"

	if r, body := get(t, base+"1006073B.jpg"); r.StatusCode != 503 || r.Header.Get("Retry-After") == "" || !strings.Contains(body, "no fresh image") {
		t.Errorf("public camera without a frame: %d %q Retry-After=%q", r.StatusCode, body, r.Header.Get("Retry-After"))
	}
	f := store.put(camA, "20261124040506.250", "one")
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { _, ok := srv.hub.Current(camA, time.Now()); return ok })

	r, body := get(t, base+"1006073b.jpg")
	if r.StatusCode != 200 || body != string(f.JPEG) {
		t.Fatalf("GET: %d, %q", r.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Type": "image/jpeg", "ETag": f.ETag, "Cache-Control": "no-cache",
		"X-Content-Type-Options": "nosniff", "Last-Modified": "Tue, 24 Nov 2026 04:05:06 GMT",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r, _ := get(t, base+"1006073b.jpg", "If-None-Match", `"x", `+f.ETag); r.StatusCode != 304 {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", r.StatusCode)
	}
	if r, _ := get(t, base+"1006073b.jpg", "If-None-Match", `"older"`); r.StatusCode != 200 {
		t.Errorf("If-None-Match with another ETag: %d, want 200", r.StatusCode)
	}
	head, _ := http.Head(base + "1006073b.jpg")
	if head.StatusCode != 200 || head.Header.Get("ETag") != f.ETag {
		t.Errorf("HEAD: %d ETag %q", head.StatusCode, head.Header.Get("ETag"))
	}
	for path, want := range map[string]int{
		"deadbeef.jpg": 404, "1006073.jpg": 400, "1006073g.jpg": 400, "1006073b.png": 404,
		"1006073b": 404, "..%2F1006073b.jpg": 404,
	} {
		if r, body := get(t, base+path); r.StatusCode != want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %q, want %d with a reason", path, r.StatusCode, body, want)
		}
	}
}

func TestNewImageReadOnceForManyViewers(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA})
	srv, ts := newTestServer(t, store, Config{})
	store.readGate = make(chan struct{})
	store.put(camA, "20261124040506.250", "one")
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { _, ok := srv.hub.Current(camA, time.Now()); return ok })

	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for range 50 {
		wg.Go(func() {
			r, _ := get(t, ts.URL+"/preview/1006073b.jpg")
			codes <- r.StatusCode
		})
	}
	testbed.WaitFor(t, 5*time.Second, "a reader waiting on Redis", func() bool { return store.frameReads.Load() >= 1 })
	close(store.readGate)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("status %d", c)
		}
	}
	if n := store.frameReads.Load(); n != 1 {
		t.Errorf("%d Redis reads for one new image and 50 viewers, want 1", n)
	}
	get(t, ts.URL+"/preview/1006073b.jpg")
	if n := store.frameReads.Load(); n != 1 {
		t.Errorf("an unchanged image was read from Redis again (%d reads)", n)
	}
}

func TestSSEOrderResumeAndOffline(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA})
	srv, ts := newTestServer(t, store, Config{FrameTTL: 400 * time.Millisecond})
	store.put(camA, "20261124040506.250", "one")
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { _, ok := srv.hub.Current(camA, time.Now()); return ok })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/preview/1006073b/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", resp.Header)
	}
	events := eventReader(resp.Body)
	if ev := <-events; ev != "frame 1006073b-20261124040506.250" {
		t.Fatalf("first event %q, want the current frame", ev)
	}
	store.put(camA, "20261124040507.250", "two")
	store.put(camA, "20261124040508.250", "three")
	for _, want := range []string{"frame 1006073b-20261124040507.250", "frame 1006073b-20261124040508.250", "offline 1006073b-20261124040508.250"} {
		if ev := <-events; ev != want {
			t.Fatalf("event %q, want %q", ev, want)
		}
	}
	// A client resuming with the current frame's id is not sent it again.
	r2, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events?esn=1006073b", nil)
	store.put(camA, "20261124040509.250", "four")
	testbed.WaitFor(t, 5*time.Second, "frame four known", func() bool { m, _ := srv.hub.Current(camA, time.Now()); return m.TS == "20261124040509.250" })
	r2.Header.Set("Last-Event-ID", "1006073b-20261124040509.250")
	resp2, err := http.DefaultClient.Do(r2)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	events2 := eventReader(resp2.Body)
	store.put(camA, "20261124040510.250", "five")
	if ev := <-events2; ev != "frame 1006073b-20261124040510.250" {
		t.Fatalf("resumed stream's first event %q, want only the new frame", ev)
	}
}

// eventReader turns an SSE body into "name id" strings.
func eventReader(r io.Reader) <-chan string {
	out := make(chan string, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		var name, id string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = line[7:]
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case line == "" && name != "":
				out <- name + " " + id
				name, id = "", ""
			}
		}
	}()
	return out
}

func TestMJPEGParts(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA})
	srv, ts := newTestServer(t, store, Config{})
	f1 := store.put(camA, "20261124040506.250", "one")
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { _, ok := srv.hub.Current(camA, time.Now()); return ok })
	resp, err := http.Get(ts.URL + "/preview/1006073b.mjpg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "multipart/x-mixed-replace; boundary="+mjpegBoundary {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	readPart := func() string {
		var n int
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n = atoi(strings.TrimSpace(v))
			}
		}
		b := make([]byte, n+2)
		io.ReadFull(br, b)
		return string(b[:n])
	}
	if got := readPart(); got != string(f1.JPEG) {
		t.Fatalf("first part %q", got)
	}
	f2 := store.put(camA, "20261124040507.250", "two")
	if got := readPart(); got != string(f2.JPEG) {
		t.Fatalf("second part %q", got)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestStreamCap(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA})
	srv, ts := newTestServer(t, store, Config{MaxStreams: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/preview/1006073b/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	testbed.WaitFor(t, 5*time.Second, "one stream", func() bool { return srv.streams.Load() == 1 })
	if r, _ := get(t, ts.URL+"/preview/1006073b.mjpg"); r.StatusCode != 503 || r.Header.Get("Retry-After") == "" {
		t.Errorf("stream over the cap: %d", r.StatusCode)
	}
}

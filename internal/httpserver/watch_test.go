package httpserver

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

const camC = preview.ESN("100b4f17")

// waitMarked waits until m has marked esn.
func waitMarked(t *testing.T, m *fakeMarker, esn preview.ESN, what string) {
	t.Helper()
	testbed.WaitFor(t, 5*time.Second, what, func() bool { return m.count(esn) > 0 })
}

// interested lists the cameras the replica keeps interest state of: the
// only ones it could ever mark.
func interested(srv *Server) []preview.ESN {
	var out []preview.ESN
	srv.interest.cams.Range(func(k, _ any) bool { out = append(out, k.(preview.ESN)); return true })
	return out
}

// TestViewsMarkTheCamera: a still image, an SSE stream (one camera or a
// grid) and an MJPEG stream each mark their cameras; a malformed or
// unknown camera is never marked nor even recorded, so no Redis key is
// ever made for an arbitrary id.
func TestViewsMarkTheCamera(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA, Watched: true}, preview.Camera{ESN: camB}, preview.Camera{ESN: camC})
	m := newFakeMarker()
	srv, ts := newTestServer(t, store, Config{Marker: m, ColdWait: -1})

	for path, want := range map[string]int{
		"/preview/deadbeef.jpg": 404, "/preview/1006073g.jpg": 400, "/preview/deadbeef.mjpg": 404,
		"/preview/deadbeef/events": 404, "/events?esn=" + string(camB) + ",deadbeef": 404, "/preview/zz/events": 400,
	} {
		if r, _ := get(t, ts.URL+path); r.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, r.StatusCode, want)
		}
	}
	if r, _ := get(t, ts.URL+"/preview/"+string(camA)+".jpg"); r.StatusCode != 503 {
		t.Errorf("still without a frame: %d, want 503 (no cold wait)", r.StatusCode)
	}
	waitMarked(t, m, camA, "the still image's camera marked")

	sse, err := dialSSE(ts.Listener.Addr().String(), "/events?esn="+string(camB))
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	waitMarked(t, m, camB, "the grid stream's camera marked")
	mjpg, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer mjpg.Close()
	mjpg.Write([]byte("GET /preview/" + string(camC) + ".mjpg HTTP/1.1\r\nHost: test\r\n\r\n"))
	waitMarked(t, m, camC, "the MJPEG stream's camera marked")

	got := interested(srv)
	if len(got) != 3 || m.count("deadbeef") != 0 {
		t.Errorf("the replica keeps interest in %v, marked deadbeef %d times; want only the 3 public cameras viewed", got, m.count("deadbeef"))
	}
}

// TestViewersShareMarks: 50 viewers of a camera at once, stills and
// streams, cost one mark; the streams count while open and not after.
func TestViewersShareMarks(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA, Watched: true})
	m := newFakeMarker()
	srv, ts := newTestServer(t, store, Config{Marker: m, ColdWait: -1, WatchTTL: time.Minute, Heartbeat: 50 * time.Millisecond}) // a closed stream is seen at its next write
	start := time.Now()
	var wg sync.WaitGroup
	var conns []*sseConn
	var mu sync.Mutex
	for i := range 50 {
		wg.Go(func() {
			if i%2 == 0 {
				get(t, ts.URL+"/preview/"+string(camA)+".jpg")
				return
			}
			c, err := dialSSE(ts.Listener.Addr().String(), "/preview/"+string(camA)+"/events")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	waitMarked(t, m, camA, "the camera marked")
	ci := srv.interest.get(camA)
	testbed.WaitFor(t, 5*time.Second, "25 streams counted", func() bool { return ci.streams.Load() == 25 })
	every := srv.interest.every
	if n, most := m.count(camA), 1+int(time.Since(start)/(every-every/8)); n > most {
		t.Errorf("50 viewers: %d marks in %s, want at most %d (one per %s)", n, time.Since(start), most, every)
	}
	for _, c := range conns {
		c.Close()
	}
	testbed.WaitFor(t, 5*time.Second, "closed streams uncounted", func() bool { return ci.streams.Load() == 0 })
	if ci.used.Load() < start.UnixNano() {
		t.Error("closing the streams did not count as a use")
	}
}

// TestSSEWaking: a stream of a camera followed only while watched, with
// no fresh frame, starts with "waking", then gets the first frame; a
// camera followed always, with no frame, gets neither.
func TestSSEWaking(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA, Watched: true}, preview.Camera{ESN: camB})
	srv, ts := newTestServer(t, store, Config{Marker: newFakeMarker()})
	sse, err := dialSSE(ts.Listener.Addr().String(), "/events?esn="+string(camA)+"&esn="+string(camB))
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	if ev, err := sse.next(5 * time.Second); err != nil || ev != "waking " {
		t.Fatalf("first event %q, %v; want waking, without an id", ev, err)
	}
	testbed.WaitFor(t, 5*time.Second, "the stream counted", func() bool { return srv.interest.get(camA).streams.Load() == 1 })
	f := store.put(camA, "20261124040506.250", "one")
	if ev, err := sse.next(5 * time.Second); err != nil || ev != frameEvent(f) {
		t.Fatalf("next event %q, %v; want %q", ev, err, frameEvent(f))
	}
}

// TestCameraStates: /api/cameras tells live, asleep (followed only while
// watched, no fresh frame) and offline apart; online stays as it was.
func TestCameraStates(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA, Watched: true}, preview.Camera{ESN: camB}, preview.Camera{ESN: camC, Watched: true})
	srv, ts := newTestServer(t, store, Config{})
	store.put(camC, "20261124040506.250", "one")
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { _, ok := srv.hub.Current(camC, time.Now()); return ok })
	_, body := get(t, ts.URL+"/api/cameras")
	for _, want := range []string{
		`"esn":"1006073b","name":"","online":false,"state":"asleep"`,
		`"esn":"10060a2c","name":"","online":false,"state":"offline"`,
		`"online":true,"state":"live"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/api/cameras lacks %s:\n%s", want, body)
		}
	}
}

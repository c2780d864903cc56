package httpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// simFrame is a frame as the simulator draws it: 640×360.
func simFrame(t testing.TB, at time.Time) []byte {
	t.Helper()
	r, err := framegen.New(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	return r.Frame(string(camA), "Front door", at)
}

// putJPEG stores and announces a real JPEG as camA's frame at ts.
func putJPEG(s *fakeStore, ts string, jpeg []byte) preview.Frame {
	return s.put(camA, ts, string(jpeg[3:])) // put adds the SOI marker
}

// thumbServer is a replica with camA's frame f, served.
func thumbServer(t *testing.T, cfg Config) (*fakeStore, *Server, string, preview.Frame) {
	t.Helper()
	store := newFakeStore(preview.Camera{ESN: camA})
	cfg.ColdWait = -1
	srv, ts := newTestServer(t, store, cfg)
	f := putJPEG(store, "20261124040506.250", simFrame(t, time.Unix(1e9, 0)))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, ok := srv.hub.Current(camA, time.Now()); return ok && m.TS == f.TS })
	return store, srv, ts.URL, f
}

func widthETag(f preview.Frame, w string) string {
	return strings.TrimSuffix(f.ETag, `"`) + "-w" + w + `"`
}

// A still with ?w= (GET and HEAD) is the frame at that width: its own
// ETag and length, the frame's Last-Modified and timestamp, the stills'
// Cache-Control; If-None-Match answers 304 per width. A width not below
// the frame's answers the frame's bytes, its ETag still naming the width
// and X-Image-Width the frame's own. Without w nothing changes.
func TestThumbnailHeaders(t *testing.T) {
	_, _, base, f := thumbServer(t, Config{CacheMaxAge: time.Second})
	still := base + "/preview/1006073b.jpg"
	lm := f.TS.Time().Format(http.TimeFormat)
	const cc = "public, max-age=1, stale-while-revalidate=2, stale-if-error=10"
	for _, tc := range []struct{ w, width, height string }{{"320", "320", "180"}, {"160", "160", "90"}, {"640", "640", "360"}} {
		resp, body := get(t, still+"?w="+tc.w)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Etag") != widthETag(f, tc.w) || h.Get("Last-Modified") != lm ||
			h.Get("X-Frame-Timestamp") != string(f.TS) || h.Get("Cache-Control") != cc || h.Get("Content-Type") != "image/jpeg" ||
			h.Get("X-Image-Width") != tc.width || h.Get("Content-Length") != fmt.Sprint(len(body)) {
			t.Errorf("w=%s: %d %v", tc.w, resp.StatusCode, h)
		}
		if got := djpegSize(t, []byte(body)); got != tc.width+" "+tc.height {
			t.Errorf("w=%s: djpeg says %s, want %s %s", tc.w, got, tc.width, tc.height)
		}
		if tc.w == "640" && body != string(f.JPEG) {
			t.Errorf("w=640 of a 640-wide frame: not the frame's bytes")
		}
		for method, want := range map[string]int{"GET": 304, "HEAD": 304} {
			if st, h := headersOf(t, method, still+"?w="+tc.w, "If-None-Match", widthETag(f, tc.w)); st != want || h.Get("Etag") != widthETag(f, tc.w) || h.Get("Cache-Control") != cc {
				t.Errorf("%s w=%s If-None-Match its ETag: %d %v; want %d", method, tc.w, st, h, want)
			}
		}
		if st, _ := headersOf(t, "GET", still+"?w="+tc.w, "If-None-Match", f.ETag); st != 200 {
			t.Errorf("w=%s If-None-Match the frame's ETag: %d, want 200 (ETags differ per width)", tc.w, st)
		}
		if st, h := headersOf(t, "HEAD", still+"?ts=1&w="+tc.w); st != 200 || h.Get("Etag") != widthETag(f, tc.w) || h.Get("X-Image-Width") != tc.width {
			t.Errorf("HEAD w=%s: %d %v", tc.w, st, h)
		}
	}
	if st, h := headersOf(t, "GET", still+"?ts="+string(f.TS)); st != 200 || h.Get("Etag") != f.ETag || h["X-Image-Width"] != nil {
		t.Errorf("no w: %d %v; want the frame as before", st, h)
	}
}

// djpegSize decodes b with libjpeg-turbo's djpeg, strictly, and returns
// "width height" from its PNM header.
func djpegSize(t *testing.T, b []byte) string {
	t.Helper()
	djpeg, err := exec.LookPath("djpeg")
	if err != nil {
		testbed.Unavailable(t, "djpeg not found (apt-get install libjpeg-turbo-progs): skipping the libjpeg-turbo decode check")
	}
	path := filepath.Join(t.TempDir(), "t.jpg")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(djpeg, "-strict", "-pnm", path).Output()
	if err != nil {
		t.Fatalf("djpeg: %v", err)
	}
	fields := strings.Fields(string(out[:min(len(out), 20)]))
	if len(fields) < 3 || fields[0] != "P6" {
		t.Fatalf("djpeg output %q", out[:min(len(out), 20)])
	}
	return fields[1] + " " + fields[2]
}

// getWithin is get with a deadline: a stream wrongly opened fails the
// test in seconds instead of holding it.
func getWithin(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err.Error()
	}
	return resp.StatusCode, string(b)
}

// Every route taking w answers any w but an offered one with a 400 whose
// reason names the offered widths; the embed page likewise for width.
func TestHostileWidths(t *testing.T) {
	_, _, base, _ := thumbServer(t, Config{})
	routes := []string{"/preview/1006073b.jpg?ts=1&", "/preview/1006073b.mjpg?", "/preview/1006073b/events?", "/events?esn=1006073b&"}
	values := []string{"w=", "w", "w=-320", "w=0", "w=99999999999999999999", "w=abc", "w=320&w=320", "w=320&w=160",
		"w=320x", "w=+320", "w=0320", "w=320.0", "w=%20320", "w=%zz", "%77=100", "w=320%00", "w=1e3", "w=100"}
	for _, r := range routes {
		for _, v := range values {
			st, body := getWithin(t, base+r+v)
			if st != 400 || !strings.Contains(body, "w must be given once, one of 160, 320, 640") {
				t.Errorf("%s%s: %d %.80q; want 400 naming the widths", r, v, st, body)
			}
		}
	}
	for _, v := range values[:6] {
		if st, _ := headersOf(t, "HEAD", base+"/preview/1006073b.jpg?"+v); st != 400 {
			t.Errorf("HEAD ?%s: %d, want 400", v, st)
		}
		v = strings.Replace(v, "w", "width", 1)
		if st, body := getWithin(t, base+"/embed/1006073b?"+v); st != 400 || !strings.Contains(body, "width must be given once, one of 160, 320, 640") {
			t.Errorf("/embed ?%s: %d %s; want 400 naming the widths", v, st, body)
		}
	}
	for _, ok := range []string{"/preview/1006073b.jpg?%77=320", "/embed/1006073b?width=320", "/preview/1006073b.jpg?ts=1&W=7"} {
		if st, body := getWithin(t, base+ok); st != 200 {
			t.Errorf("%s: %d %s; want 200", ok, st, body)
		}
	}
}

// However many viewers ask at once, each width of a frame is resized
// once per replica; a new frame is resized again, once.
func TestThumbnailSingleFlight(t *testing.T) {
	store, srv, base, _ := thumbServer(t, Config{})
	const viewers = 24
	burst := func() {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range viewers {
			w := []string{"160", "320"}[i%2]
			wg.Go(func() {
				<-start
				if resp, _ := get(t, base+"/preview/1006073b.jpg?w="+w); resp.StatusCode != 200 {
					t.Errorf("w=%s: %d", w, resp.StatusCode)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	burst()
	for _, w := range []string{"160", "320"} {
		if n := metricOf(t, srv, "camrelay_web_thumbnails_total", "width", w, "result", "resized"); n != 1 {
			t.Errorf("width %s: %v resizes for %d viewers of one frame, want 1", w, n, viewers/2)
		}
	}
	f2 := putJPEG(store, "20261124040507.250", simFrame(t, time.Unix(1e9+1, 0)))
	testbed.WaitFor(t, 5*time.Second, "new frame known", func() bool { m, _ := srv.hub.Current(camA, time.Now()); return m.TS == f2.TS })
	burst()
	for _, w := range []string{"160", "320"} {
		if n := metricOf(t, srv, "camrelay_web_thumbnails_total", "width", w, "result", "resized"); n != 2 {
			t.Errorf("width %s: %v resizes after a second frame, want 2", w, n)
		}
	}
	if n := metricOf(t, srv, "camrelay_web_thumbnails_total", "width", "640", "result", "original"); n != 0 {
		t.Errorf("width 640 counted %v times though nobody asked", n)
	}
}

// A frame that does not decode answers 502 for a width, counted, while
// the frame itself is served as ever.
func TestThumbnailOfAnUndecodableFrame(t *testing.T) {
	store, srv, base, _ := thumbServer(t, Config{})
	f := store.put(camA, "20261124040507.250", "not a picture")
	testbed.WaitFor(t, 5*time.Second, "new frame known", func() bool { m, _ := srv.hub.Current(camA, time.Now()); return m.TS == f.TS })
	for range 2 {
		resp, body := get(t, base+"/preview/1006073b.jpg?w=320")
		if resp.StatusCode != 502 || !strings.Contains(body, "does not decode") || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("w=320 of a corrupt frame: %d %s %v", resp.StatusCode, body, resp.Header)
		}
	}
	if n := metricOf(t, srv, "camrelay_web_thumbnails_total", "width", "320", "result", "error"); n != 1 {
		t.Errorf("%v errors counted, want 1 (tried once per frame)", n)
	}
	if resp, body := get(t, base+"/preview/1006073b.jpg"); resp.StatusCode != 200 || body != string(f.JPEG) {
		t.Errorf("the frame itself: %d", resp.StatusCode)
	}
}

// Streams with w: SSE image URLs carry it (camera and grid routes), the
// MJPEG parts are thumbnails; /api/cameras lists the offered widths.
func TestThumbnailStreams(t *testing.T) {
	store, _, base, _ := thumbServer(t, Config{Widths: []int{100, 320}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	urlOf := func(ev testbed.SSEEvent) string {
		var d struct{ URL string }
		json.Unmarshal([]byte(ev.Data), &d)
		return d.URL
	}
	var live []string // the current frame's url, then the next one's
	err := testbed.EachSSE(ctx, base+"/events?esn=1006073b&w=320", func(ev testbed.SSEEvent) bool {
		if live = append(live, urlOf(ev)); len(live) == 1 {
			putJPEG(store, "20261124040507.250", simFrame(t, time.Unix(1e9+1, 0)))
		}
		return len(live) < 2
	})
	if want := "/preview/1006073b.jpg?ts=20261124040507.250&w=320"; err != nil || len(live) != 2 || live[1] != want {
		t.Errorf("a new frame on a w=320 stream: %q, %v; want url %s", live, err, want)
	}
	for path, want := range map[string]string{
		"/preview/1006073b/events?w=320":   "/preview/1006073b.jpg?ts=20261124040507.250&w=320",
		"/events?esn=1006073b&w=100":       "/preview/1006073b.jpg?ts=20261124040507.250&w=100",
		"/events?w=320&esn=1006073b":       "/preview/1006073b.jpg?ts=20261124040507.250&w=320",
		"/events?esn=1006073b":             "/preview/1006073b.jpg?ts=20261124040507.250",
		"/preview/1006073b/events?ts=1&x=": "/preview/1006073b.jpg?ts=20261124040507.250",
	} {
		evs, err := testbed.ReadSSE(ctx, base+path, 1)
		if err != nil || len(evs) != 1 || urlOf(evs[0]) != want {
			t.Errorf("%s: %v %v; want url %s", path, evs, err, want)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/preview/1006073b.mjpg?w=100", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The part ends where the next frame's boundary would begin: read
	// its Content-Length, not up to a boundary that has not come.
	br := bufio.NewReader(resp.Body)
	tr := textproto.NewReader(br)
	if line, err := tr.ReadLine(); err != nil || line != "--"+mjpegBoundary {
		t.Fatalf("MJPEG starts %q, %v", line, err)
	}
	hdr, err := tr.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, atoi(hdr.Get("Content-Length")))
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatal(err)
	}
	if got := djpegSize(t, b); got != "100 56" {
		t.Errorf("MJPEG w=100 part: %s; want 100 56", got)
	}
	var cams []struct{ Widths []int }
	if _, body := get(t, base+"/api/cameras"); json.Unmarshal([]byte(body), &cams) != nil || len(cams) != 1 || fmt.Sprint(cams[0].Widths) != "[100 320]" {
		t.Errorf("/api/cameras: %s; want widths [100 320]", body)
	}
}

package httpserver

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

const camB = preview.ESN("10060a2c")

// jpeg returns n bytes that start like a JPEG, distinct per tag.
func jpeg(n int, tag string) []byte {
	b := bytes.Repeat([]byte(tag+" "), n/(len(tag)+1)+1)[:n]
	copy(b, "\xff\xd8\xff")
	return b
}

func TestRedisStillImageStatuses(t *testing.T) {
	t.Parallel()
	r := newRedisReplica(t, Config{}, nil, preview.Camera{ESN: camA, Name: "Site"}, preview.Camera{ESN: camB})
	img := r.url("/preview/1006073b.jpg")
	if resp, body := get(t, img); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "no fresh image") {
		t.Errorf("public camera without a frame: %d %q Retry-After=%q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	f := r.save(camA, jpeg(25<<10, "one"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f.TS })

	resp, body := get(t, img)
	if resp.StatusCode != 200 || body != string(f.JPEG) {
		t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(body))
	}
	for k, want := range map[string]string{
		"Content-Type": "image/jpeg", "ETag": f.ETag, "Cache-Control": "no-cache", "Content-Length": "25600",
		"X-Content-Type-Options": "nosniff", "Last-Modified": f.TS.Time().Format(http.TimeFormat),
		"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag, Last-Modified, X-Frame-Timestamp, X-Image-Width",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if resp, body := get(t, img, "If-None-Match", f.ETag); resp.StatusCode != 304 || body != "" || resp.Header.Get("ETag") != f.ETag {
		t.Errorf("If-None-Match with the current ETag: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, img, "If-None-Match", `"older"`); resp.StatusCode != 200 {
		t.Errorf("If-None-Match with another ETag: %d, want 200", resp.StatusCode)
	}
	head, err := http.Head(img)
	if err != nil || head.StatusCode != 200 || head.Header.Get("ETag") != f.ETag || head.ContentLength != int64(len(f.JPEG)) {
		t.Errorf("HEAD: %v %v", head, err)
	}
	if n := r.metric("camrelay_web_redis_frame_reads_total", "result", "ok"); n != 1 {
		t.Errorf("%v image reads from Redis for one image, want 1", n)
	}

	before := r.reads.frames.Load()
	for path, want := range map[string]int{
		"deadbeef.jpg": 404, "DEADBEEF.jpg": 404, "deadbeef.mjpg": 404, "deadbeef/events": 404,
		"1006073.jpg": 400, "1006073g.jpg": 400, "1006073b.png": 404,
	} {
		if resp, body := get(t, r.url("/preview/"+path)); resp.StatusCode != want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %q, want %d with a reason", path, resp.StatusCode, body, want)
		}
	}
	if n := r.reads.frames.Load() - before; n != 0 {
		t.Errorf("refused requests read Redis %d times", n)
	}
	if resp, body := get(t, r.url("/api/cameras")); resp.StatusCode != 200 ||
		!strings.Contains(body, `"esn":"1006073b","name":"Site","ts":"`+string(f.TS)) || !strings.Contains(body, `"esn":"10060a2c"`) {
		t.Errorf("/api/cameras: %d %s", resp.StatusCode, body)
	}
}

func TestRedisMetrics(t *testing.T) {
	t.Parallel()
	r := newRedisReplica(t, Config{}, nil, preview.Camera{ESN: camA})
	f := r.save(camA, jpeg(1000, "m"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f.TS })
	get(t, r.url("/preview/1006073b.jpg"))
	get(t, r.url("/preview/1006073b.jpg"), "If-None-Match", f.ETag)
	get(t, r.url("/preview/deadbeef.jpg"))
	resp, body := get(t, r.adminURL("/metrics"))
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`camrelay_web_requests_total{code="200",route="/preview/{esn}.jpg"} 1`,
		`camrelay_web_requests_total{code="304",route="/preview/{esn}.jpg"} 1`,
		`camrelay_web_requests_total{code="404",route="/preview/{esn}.jpg"} 1`,
		`camrelay_web_response_bytes_total{route="/preview/{esn}.jpg"} 1032`, // the image and the 404's JSON
		`camrelay_web_redis_frame_reads_total{result="ok"} 1`,
		`camrelay_web_sse_clients 0`, `camrelay_web_mjpeg_clients 0`,
		`camrelay_web_redis_subscribed 1`, `camrelay_web_redis_up 1`, `camrelay_web_ready 1`,
		`camrelay_web_image_age_seconds{camera="1006073b"}`,
		`camrelay_web_image_seen_age_seconds{camera="1006073b"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestRedisMJPEGParts(t *testing.T) {
	t.Parallel()
	r := newRedisReplica(t, Config{}, nil, preview.Camera{ESN: camA})
	f1 := r.save(camA, jpeg(20<<10, "one"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f1.TS })
	resp, err := http.Get(r.url("/preview/1006073b.mjpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "multipart/x-mixed-replace; boundary="+mjpegBoundary {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	want := []preview.Frame{f1}
	for i := range 3 {
		if i > 0 {
			want = append(want, r.save(camA, jpeg(20<<10+i, "next")))
		}
		part, err := readPart(br)
		if err != nil || !bytes.Equal(part, want[i].JPEG) {
			t.Fatalf("part %d: %d bytes, %v; want frame %s", i, len(part), err, want[i].TS)
		}
	}
	if n := r.metric("camrelay_web_mjpeg_clients"); n != 1 {
		t.Errorf("mjpeg_clients = %v, want 1", n)
	}
}

// readPart reads one multipart part and returns its body.
func readPart(br *bufio.Reader) ([]byte, error) {
	n := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" && n >= 0 {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n = atoi(strings.TrimSpace(v))
		}
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	return b[:n], nil
}

func TestRedisSSEOrderAndResume(t *testing.T) {
	t.Parallel()
	r := newRedisReplica(t, Config{}, nil, preview.Camera{ESN: camA})
	f1 := r.save(camA, jpeg(100, "one"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f1.TS })
	c, err := dialSSE(r.ts.Listener.Addr().String(), "/preview/1006073b/events")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "X-Accel-Buffering": "no", "Cache-Control": "no-cache"} {
		if got := c.resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	want := []string{frameEvent(f1)}
	for i := range 5 {
		if i > 0 {
			want = append(want, frameEvent(r.save(camA, jpeg(100, "n"))))
		}
		if ev, err := c.next(5 * time.Second); ev != want[i] {
			t.Fatalf("event %d: %q (%v), want %q", i, ev, err, want[i])
		}
	}
	// Resuming with the current frame's id: only newer frames follow.
	last := want[len(want)-1]
	c2, err := dialSSE(r.ts.Listener.Addr().String(), "/preview/1006073b/events", "Last-Event-ID", strings.TrimPrefix(last, "frame "))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	f6 := r.save(camA, jpeg(100, "six"))
	if ev, err := c2.next(5 * time.Second); ev != frameEvent(f6) {
		t.Fatalf("resumed stream's first event %q (%v), want only the new frame", ev, err)
	}
	// Resuming with an older id: the current frame, not the missed ones.
	c3, err := dialSSE(r.ts.Listener.Addr().String(), "/preview/1006073b/events", "Last-Event-ID", strings.TrimPrefix(want[1], "frame "))
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if ev, err := c3.next(5 * time.Second); ev != frameEvent(f6) {
		t.Fatalf("stream resumed from an old id starts with %q (%v), want the current frame", ev, err)
	}
}

func TestRedisGridSSEResume(t *testing.T) {
	t.Parallel()
	r := newRedisReplica(t, Config{}, nil, preview.Camera{ESN: camA}, preview.Camera{ESN: camB})
	a1, b1 := r.save(camA, jpeg(100, "a1")), r.save(camB, jpeg(100, "b1"))
	testbed.WaitFor(t, 5*time.Second, "frames known", func() bool {
		ma, _ := r.srv.hub.Current(camA, time.Now())
		mb, _ := r.srv.hub.Current(camB, time.Now())
		return ma.TS == a1.TS && mb.TS == b1.TS
	})
	// The grid client last saw a1: b1 is sent again, a1 is not.
	c, err := dialSSE(r.ts.Listener.Addr().String(), "/events?esn=1006073b,10060A2C", "Last-Event-ID", "1006073b-"+string(a1.TS))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ev, err := c.next(5 * time.Second); ev != frameEvent(b1) {
		t.Fatalf("first event %q (%v), want %q", ev, err, frameEvent(b1))
	}
	for _, f := range []preview.Frame{r.save(camA, jpeg(100, "a2")), r.save(camB, jpeg(100, "b2")), r.save(camA, jpeg(100, "a3"))} {
		if ev, err := c.next(5 * time.Second); ev != frameEvent(f) {
			t.Fatalf("event %q (%v), want %q", ev, err, frameEvent(f))
		}
	}
}

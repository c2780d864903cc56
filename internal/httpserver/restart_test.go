package httpserver

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

func TestRedisOutageAndRestart(t *testing.T) {
	t.Parallel()
	const ttl = 1500 * time.Millisecond
	r := newRedisReplica(t, Config{FrameTTL: ttl}, nil, preview.Camera{ESN: camA}, preview.Camera{ESN: camB})
	img := r.url("/preview/1006073b.jpg")
	f1, b1 := r.save(camA, jpeg(1000, "a1")), r.save(camB, jpeg(1000, "b1"))
	testbed.WaitFor(t, 5*time.Second, "frames known", func() bool { m, _ := r.srv.hub.Current(camB, time.Now()); return m.TS == b1.TS })
	if resp, _ := get(t, img); resp.StatusCode != 200 {
		t.Fatalf("before the outage: %d", resp.StatusCode)
	}
	sse, err := dialSSE(r.ts.Listener.Addr().String(), "/preview/1006073b/events")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	if ev, err := sse.next(5 * time.Second); ev != frameEvent(f1) {
		t.Fatalf("first event %q (%v)", ev, err)
	}

	r.redis.Kill()
	seen, _ := r.srv.hub.Current(camA, time.Now())
	// What is cached and fresh is still served; what is not cached is not.
	if resp, body := get(t, img); time.Since(seen.SeenAt) < ttl && (resp.StatusCode != 200 || body != string(f1.JPEG)) {
		t.Errorf("cached fresh image while Redis is down: %d", resp.StatusCode)
	}
	if resp, _ := get(t, r.url("/preview/10060a2c.jpg")); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("uncached image while Redis is down: %d, want 503 with Retry-After", resp.StatusCode)
	}
	waitReadiness(t, r.srv, false, "not ready while Redis is down")
	if resp, _ := get(t, r.url("/readyz")); resp.StatusCode != 503 {
		t.Errorf("/readyz %d while Redis is down, want 503", resp.StatusCode)
	}
	for _, path := range []string{r.url("/healthz"), r.url("/api/cameras"), r.adminURL("/metrics")} {
		if resp, _ := get(t, path); resp.StatusCode != 200 {
			t.Errorf("%s while Redis is down: %d", path, resp.StatusCode)
		}
	}
	// Once older than the frame TTL, nothing is served as current.
	testbed.WaitFor(t, 5*time.Second, "stale image refused", func() bool { resp, _ := get(t, img); return resp.StatusCode == 503 })
	if age := time.Since(seen.SeenAt); age < ttl {
		t.Errorf("image refused after %v, before the frame TTL", age)
	}
	if ev, err := sse.next(5 * time.Second); ev != "offline "+string(camA)+"-"+string(f1.TS) {
		t.Fatalf("event while stale: %q (%v), want offline", ev, err)
	}

	if err := r.redis.Restart(); err != nil { // empty, on the same port
		t.Fatal(err)
	}
	r.publishCameras()
	f2 := r.save(camA, jpeg(1000, "a2"))
	waitReadiness(t, r.srv, true, "ready again")
	if resp, _ := get(t, r.url("/readyz")); resp.StatusCode != 200 {
		t.Errorf("/readyz %d once ready again, want 200", resp.StatusCode)
	}
	testbed.WaitFor(t, 5*time.Second, "new image served", func() bool {
		resp, body := get(t, img)
		if resp.StatusCode == 200 && body != string(f2.JPEG) {
			t.Fatalf("after the restart, served an image other than the new one")
		}
		return resp.StatusCode == 200
	})
	if ev, err := sse.next(5 * time.Second); ev != frameEvent(f2) {
		t.Fatalf("stream that lived through the restart: %q (%v), want the new frame", ev, err)
	}
	// The re-read after the outage may come before go-redis has
	// resubscribed: wait for the resubscription itself.
	// Each resubscription asks for a re-read, and each re-read is signalled.
	r.srv.TestSignals.Subscribed.WaitUntil(t, "resubscribed after the restart", func() bool { return r.metric("camrelay_web_redis_subscriptions_total") >= 2 })
	f3 := r.save(camA, jpeg(1000, "a3"))
	if ev, err := sse.next(5 * time.Second); ev != frameEvent(f3) {
		t.Fatalf("after the resubscription: %q (%v), want %q", ev, err, frameEvent(f3))
	}
}

func TestShutdownEndsStreamsCleanly(t *testing.T) {
	t.Parallel()
	r := newRedisReplica(t, Config{}, nil, preview.Camera{ESN: camA})
	f := r.save(camA, jpeg(1000, "one"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f.TS })
	addr := r.ts.Listener.Addr().String()
	sse, err := dialSSE(addr, "/events?esn=1006073b")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	if ev, err := sse.next(5 * time.Second); ev != frameEvent(f) {
		t.Fatalf("first event %q (%v)", ev, err)
	}
	mj, err := http.Get(r.url("/preview/1006073b.mjpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer mj.Body.Close()
	br := bufio.NewReader(mj.Body)
	if _, err := readPart(br); err != nil {
		t.Fatal(err)
	}
	sendRequest(t, dialStalled(t, addr), "/preview/1006073b/events") // one that never reads
	testbed.WaitFor(t, 5*time.Second, "streams open", func() bool { return r.srv.streams.Load() == 3 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.ts.Config.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r.srv.Close() // what Run does when its context ends: wait for the streams
	t.Logf("Shutdown with 3 open streams took %v", time.Since(start).Round(time.Millisecond))
	if n := r.srv.streams.Load(); n != 0 {
		t.Errorf("%d streams still open after Close", n)
	}
	if _, err := sse.next(time.Second); !errors.Is(err, io.EOF) {
		t.Errorf("SSE stream at shutdown: %v, want a clean end (EOF)", err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("MJPEG stream at shutdown: %d more bytes, %v; want a clean end", len(rest), err)
	}
}

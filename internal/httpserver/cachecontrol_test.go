package httpserver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// headersOf answers the status and headers of method on url, closing the
// body at once (streams never end).
func headersOf(t *testing.T, method, url string, hdr ...string) (int, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// Stills (GET and HEAD, 200 and 304 by ETag or If-Modified-Since) carry
// the CacheMaxAge header, no-cache by default; errors are no-store; the
// pages, streams and /api/cameras stay non-cacheable whatever CacheMaxAge.
func TestCacheControlPerRoute(t *testing.T) {
	for _, tc := range []struct {
		maxAge time.Duration
		still  string
	}{
		{0, "no-cache"},
		{time.Second, "public, max-age=1, stale-while-revalidate=2, stale-if-error=10"},
		{1500 * time.Millisecond, "public, max-age=1, stale-while-revalidate=2, stale-if-error=10"},
	} {
		store := newFakeStore(preview.Camera{ESN: camA}, preview.Camera{ESN: camB})
		_, ts := newTestServer(t, store, Config{CacheMaxAge: tc.maxAge, ColdWait: -1})
		f := store.put(camA, "20260101120000.000", "x")
		still := ts.URL + "/preview/1006073b.jpg"
		testbed.WaitFor(t, 5*time.Second, "image served", func() bool { st, _ := headersOf(t, "GET", still); return st == 200 })
		lm := f.TS.Time().Format(http.TimeFormat)
		for _, r := range []struct {
			method string
			want   int
			hdr    []string
		}{
			{"GET", 200, nil}, {"HEAD", 200, nil},
			{"GET", 304, []string{"If-None-Match", f.ETag}}, {"HEAD", 304, []string{"If-None-Match", f.ETag}},
			{"GET", 304, []string{"If-Modified-Since", lm}},
			{"GET", 200, []string{"If-Modified-Since", f.TS.Time().Add(-time.Second).Format(http.TimeFormat)}},
			{"GET", 200, []string{"If-None-Match", `"other"`, "If-Modified-Since", lm}}, // ETag wins
		} {
			st, h := headersOf(t, r.method, still, r.hdr...)
			if st != r.want || h.Get("Cache-Control") != tc.still || h.Get("Etag") != f.ETag || h.Get("Last-Modified") != lm {
				t.Errorf("max-age %s: %s %v: %d %q ETag %q LM %q; want %d %q", tc.maxAge, r.method, r.hdr, st,
					h.Get("Cache-Control"), h.Get("Etag"), h.Get("Last-Modified"), r.want, tc.still)
			}
		}
		for path, want := range map[string]int{"/preview/10060a2c.jpg": 503, "/preview/10060a2d.jpg": 404, "/preview/zz.jpg": 400} {
			if st, h := headersOf(t, "GET", ts.URL+path); st != want || h.Get("Cache-Control") != "no-store" {
				t.Errorf("max-age %s: %s: %d %q; want %d no-store", tc.maxAge, path, st, h.Get("Cache-Control"), want)
			}
		}
		for _, path := range []string{"/", "/embed/1006073b", "/api/cameras", "/preview/1006073b/events", "/preview/1006073b.mjpg"} {
			if st, h := headersOf(t, "GET", ts.URL+path); st != 200 || !strings.HasPrefix(h.Get("Cache-Control"), "no-") {
				t.Errorf("max-age %s: %s: %d %q; want 200 no-cache or no-store", tc.maxAge, path, st, h.Get("Cache-Control"))
			}
		}
	}
}

// A cacheable still (200 and 304) tells nginx to drop it at the end of the
// second its max-age ends in (X-Accel-Expires: @unix), so nginx keeps it
// at most max-age, not up to a second more; without CacheMaxAge, and on
// errors, there is no such header.
func TestNginxExpiry(t *testing.T) {
	for _, tc := range []struct {
		maxAge time.Duration
		ahead  int64 // seconds after the current one; -1: no header
	}{{0, -1}, {time.Second, 0}, {1500 * time.Millisecond, 0}, {3 * time.Second, 2}} {
		store := newFakeStore(preview.Camera{ESN: camA}, preview.Camera{ESN: camB})
		_, ts := newTestServer(t, store, Config{CacheMaxAge: tc.maxAge, ColdWait: -1})
		f := store.put(camA, "20260101120000.000", "x")
		still := ts.URL + "/preview/1006073b.jpg"
		testbed.WaitFor(t, 5*time.Second, "image served", func() bool { st, _ := headersOf(t, "GET", still); return st == 200 })
		for _, hdr := range [][]string{nil, {"If-None-Match", f.ETag}} {
			before := time.Now().Unix()
			st, h := headersOf(t, "GET", still, hdr...)
			after := time.Now().Unix()
			got := h.Get("X-Accel-Expires")
			ok := got == "" && tc.ahead < 0
			for s := before; s <= after && tc.ahead >= 0; s++ {
				ok = ok || got == fmt.Sprintf("@%d", s+tc.ahead)
			}
			if !ok {
				t.Errorf("max-age %s, %d: X-Accel-Expires %q; want @(now+%d)", tc.maxAge, st, got, tc.ahead)
			}
		}
		if st, h := headersOf(t, "GET", ts.URL+"/preview/10060a2c.jpg"); st != 503 || h.Get("X-Accel-Expires") != "" {
			t.Errorf("max-age %s: a 503 with X-Accel-Expires %q", tc.maxAge, h.Get("X-Accel-Expires"))
		}
	}
}

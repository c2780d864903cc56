package httpserver

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Operator endpoints answer on the admin handler only: the viewers' port
// carries no per-camera series or traffic figures.
func TestMetricsOnlyOnAdmin(t *testing.T) {
	srv, ts := newTestServer(t, newFakeStore(preview.Camera{ESN: camA}), Config{})
	if resp, body := get(t, ts.URL+"/metrics"); resp.StatusCode != 404 || strings.Contains(body, "camrelay_") {
		t.Errorf("/metrics on the viewers' port: %d, want 404 without series", resp.StatusCode)
	}
	admin := httptest.NewServer(srv.AdminHandler())
	defer admin.Close()
	resp, body := get(t, admin.URL+"/metrics")
	if resp.StatusCode != 200 || !strings.Contains(body, "camrelay_web_ready 1") {
		t.Errorf("/metrics on the admin port: %d, want 200 with camrelay_web_ series:\n%.300s", resp.StatusCode, body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, base := range []string{ts.URL, admin.URL} { // load balancers probe the viewers' port
			if resp, _ := get(t, base+path); resp.StatusCode != 200 {
				t.Errorf("%s%s: %d", base, path, resp.StatusCode)
			}
		}
	}
	if resp, _ := get(t, admin.URL+"/preview/1006073b.jpg"); resp.StatusCode != 404 {
		t.Errorf("the admin port serves viewers' routes: %d", resp.StatusCode)
	}
}

var (
	inlineScript  = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`)
	inlineStyle   = regexp.MustCompile(`(?i)<style|\sstyle\s*=`)
	inlineHandler = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	pageResource  = regexp.MustCompile(`(?:src|href)="(/[^"]*)"`)
)

// The pages carry a Content-Security-Policy that allows no inline code,
// and need none; the grid may not be framed, the embed page may be by any
// site (other sites iframe it: it is the product).
func TestPageSecurityHeaders(t *testing.T) {
	_, ts := newTestServer(t, newFakeStore(preview.Camera{ESN: camA}), Config{})
	for _, p := range []struct {
		path       string
		embeddable bool
	}{{"/", false}, {"/embed/1006073b", true}} {
		resp, body := get(t, ts.URL+p.path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") ||
			strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: %d, Content-Security-Policy %q: want one allowing only the replica's own files", p.path, resp.StatusCode, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: X-Content-Type-Options %q, Referrer-Policy %q", p.path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
		framed := !strings.Contains(csp, "frame-ancestors") && h.Get("X-Frame-Options") == ""
		denied := strings.Contains(csp, "frame-ancestors 'none'") && h.Get("X-Frame-Options") == "DENY"
		if p.embeddable && !framed || !p.embeddable && !denied {
			t.Errorf("%s: CSP %q, X-Frame-Options %q: embeddable should be %t", p.path, csp, h.Get("X-Frame-Options"), p.embeddable)
		}
		for _, re := range []*regexp.Regexp{inlineScript, inlineStyle, inlineHandler} {
			if m := re.FindString(body); m != "" {
				t.Errorf("%s has inline code the policy would block: %q", p.path, m)
			}
		}
		checkResources(t, ts.URL, p.path, body)
	}
}

// checkResources: every script and stylesheet a page names is served.
func checkResources(t *testing.T, base, page, body string) {
	t.Helper()
	for _, m := range pageResource.FindAllStringSubmatch(body, -1) {
		resp, _ := get(t, base+m[1])
		ctype := resp.Header.Get("Content-Type")
		if resp.StatusCode != 200 || !strings.HasPrefix(ctype, "text/javascript") && !strings.HasPrefix(ctype, "text/css") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s names %s: %d %s", page, m[1], resp.StatusCode, ctype)
		}
	}
}

// Images and streams stay readable by any site's pages (CORS) and carry
// no framing or page policy that would get in their way.
func TestImagesStayUsableCrossOrigin(t *testing.T) {
	store := newFakeStore(preview.Camera{ESN: camA})
	_, ts := newTestServer(t, store, Config{})
	store.put(camA, "20260101120000.000", "x")
	testbed.WaitFor(t, 5*time.Second, "image served", func() bool { resp, _ := get(t, ts.URL+"/preview/1006073b.jpg"); return resp.StatusCode == 200 })
	resp, _ := get(t, ts.URL+"/preview/1006073b.jpg", "Origin", "https://shop.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("X-Frame-Options") != "" ||
		resp.Header.Get("Content-Security-Policy") != "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("image headers: %v", resp.Header)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("image: %d", resp.StatusCode)
	}
}

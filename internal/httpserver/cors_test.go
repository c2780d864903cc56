package httpserver

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/camrelay/camrelay/internal/preview"
)

func TestCORS(t *testing.T) {
	open := New(Config{}, newFakeStore(preview.Camera{ESN: camA})).Handler()
	narrow := New(Config{AllowedOrigins: []string{"https://shop.example"}}, newFakeStore(preview.Camera{ESN: camA})).Handler()
	do := func(h http.Handler, method, origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/preview/1006073b.jpg", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if got := do(open, "GET", "https://any.example").Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("default: Allow-Origin %q, want *", got)
	}
	rec := do(narrow, "GET", "https://shop.example")
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://shop.example" || rec.Header().Get("Vary") != "Origin" {
		t.Errorf("listed origin: Allow-Origin %q, Vary %q", got, rec.Header().Get("Vary"))
	}
	if got := do(narrow, "GET", "https://evil.example").Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("unlisted origin allowed: %q", got)
	}
	pre := do(open, "OPTIONS", "https://any.example")
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Headers") == "" {
		t.Errorf("preflight: %d %v", pre.Code, pre.Header())
	}
	if got := do(open, "GET", "").Header().Get("Access-Control-Allow-Credentials"); got != "" {
		t.Error("credentials must never be allowed")
	}
}

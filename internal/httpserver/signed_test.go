package httpserver

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/signing"
	"github.com/camrelay/camrelay/internal/testbed"
)

const (
	camSigned = preview.ESN("10060abc")
	testKeys  = "k1:k1-secret-0123456789abcdefghijklmnopqrstuv,k2:k2-another-secret-9876543210ZYXWVUTSRQPONM"
)

// signedReplica serves camA (public) and camSigned (signed, one allowed
// site), both with a frame.
func signedReplica(t *testing.T, cfg Config) (*fakeStore, string, signing.Keys) {
	t.Helper()
	keys, err := signing.ParseKeys(testKeys)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SigningKeys = keys
	store := newFakeStore(preview.Camera{ESN: camA}, preview.Camera{ESN: camSigned, Signed: true, Origins: "https://kennel.example"})
	srv, ts := newTestServer(t, store, cfg)
	store.put(camA, "20261124040506.250", "one")
	store.put(camSigned, "20261124040506.250", "dog")
	testbed.WaitFor(t, 5*time.Second, "frames known", func() bool {
		_, a := srv.hub.Current(camA, time.Now())
		_, b := srv.hub.Current(camSigned, time.Now())
		return a && b
	})
	return store, ts.URL, keys
}

func link(t *testing.T, keys signing.Keys, esn preview.ESN, kid string, exp time.Time) string {
	t.Helper()
	l, err := keys.Sign(esn, kid, exp)
	if err != nil {
		t.Fatal(err)
	}
	return l.Query()
}

// open requests url and reads the body only of an answer that is not a
// 200 (a stream's would not end); it returns the status and that body.
func open(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return resp, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, strings.TrimSpace(string(b))
}

// Every route of a signed camera answers only a valid link, and each
// refusal is a 403 with a reason that says nothing of the keys.
func TestSignedRoutesNeedAValidLink(t *testing.T) {
	_, base, keys := signedReplica(t, Config{})
	soon := time.Now().Add(time.Hour)
	valid := link(t, keys, camSigned, "k1", soon)
	sig := valid[strings.Index(valid, "sig=")+4:]
	exp := valid[4:strings.Index(valid, "&")]
	for _, route := range []string{"/preview/10060abc.jpg", "/preview/10060abc.mjpg", "/preview/10060abc/events", "/embed/10060abc"} {
		for _, c := range []struct{ name, query, want string }{
			{"missing", "", `{"error":"signed link required"}`},
			{"expired", link(t, keys, camSigned, "k1", time.Now().Add(-time.Second)), `{"error":"link expired"}`},
			{"exp not a number", "exp=soon&kid=k1&sig=" + sig, `{"error":"link malformed"}`},
			{"sig truncated", "exp=" + exp + "&kid=k1&sig=" + sig[:20], `{"error":"link malformed"}`},
			{"sig twice", valid + "&sig=" + sig, `{"error":"link malformed"}`},
			{"unknown kid", "exp=" + exp + "&kid=k9&sig=" + sig, `{"error":"link not valid"}`},
			{"wrong sig", "exp=" + exp + "&kid=k2&sig=" + sig, `{"error":"link not valid"}`},
			{"another camera's", link(t, keys, camA, "k1", soon), `{"error":"link not valid"}`},
			{"valid", valid, ""},
			{"valid, the other key", link(t, keys, camSigned, "k2", soon), ""},
			{"valid, upper-case esn", valid, ""},
		} {
			target := route
			if c.name == "valid, upper-case esn" {
				target = strings.Replace(route, "10060abc", "10060ABC", 1)
			}
			resp, body := open(t, base+target+"?"+c.query)
			want := http.StatusForbidden
			if c.want == "" {
				want = http.StatusOK
			}
			if resp.StatusCode != want || body != c.want {
				t.Errorf("%s %s: %d %s, want %d %s", route, c.name, resp.StatusCode, body, want, c.want)
			}
		}
	}
	// A public camera needs no link, and ignores one.
	for _, q := range []string{"", "?" + valid} {
		if resp, body := open(t, base+"/preview/1006073b.jpg"+q); resp.StatusCode != http.StatusOK {
			t.Errorf("public still%s: %d %s", q, resp.StatusCode, body)
		}
	}
}

// A signed still is never kept by a shared cache (nginx's microcache
// keys stills by path and width: it would hand it to anyone), even where
// public stills are cacheable.
func TestSignedStillIsPrivate(t *testing.T) {
	_, base, keys := signedReplica(t, Config{CacheMaxAge: 2 * time.Second})
	resp, _ := open(t, base+"/preview/10060abc.jpg?"+link(t, keys, camSigned, "k1", time.Now().Add(time.Hour)))
	if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 200 || cc != "private, no-store" || resp.Header.Get("X-Accel-Expires") != "" {
		t.Errorf("signed still: %d, Cache-Control %q, X-Accel-Expires %q", resp.StatusCode, cc, resp.Header.Get("X-Accel-Expires"))
	}
	pub, _ := open(t, base+"/preview/1006073b.jpg")
	if cc := pub.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=2") || pub.Header.Get("X-Accel-Expires") == "" {
		t.Errorf("public still (the control): Cache-Control %q, X-Accel-Expires %q", cc, pub.Header.Get("X-Accel-Expires"))
	}
}

// A signed camera is listed nowhere public, and the grid's stream answers
// for it as for a camera that is not public at all.
func TestSignedCameraListedNowhere(t *testing.T) {
	_, base, keys := signedReplica(t, Config{})
	resp, body := get(t, base+"/api/cameras")
	if resp.StatusCode != 200 || strings.Contains(body, string(camSigned)) || !strings.Contains(body, string(camA)) {
		t.Errorf("/api/cameras: %d %s", resp.StatusCode, body)
	}
	unknown, unknownBody := open(t, base+"/events?esn=1006ffff")
	for _, q := range []string{"esn=10060abc", "esn=1006073b,10060abc", "esn=10060abc&" + link(t, keys, camSigned, "k1", time.Now().Add(time.Hour))} {
		resp, body := open(t, base+"/events?"+q)
		if resp.StatusCode != unknown.StatusCode || strings.Replace(body, "10060abc", "1006ffff", 1) != unknownBody {
			t.Errorf("/events?%s: %d %s; an unknown camera gets %d %s", q, resp.StatusCode, body, unknown.StatusCode, unknownBody)
		}
	}
}

// An open stream ends when its link does; the stream's image URLs carry
// the link, so the page can fetch them.
func TestSignedStreamsEndAtExpiry(t *testing.T) {
	_, base, keys := signedReplica(t, Config{})
	for _, route := range []string{"/preview/10060abc/events?w=160&", "/preview/10060abc.mjpg?"} {
		exp := time.Now().Add(2 * time.Second)
		q := link(t, keys, camSigned, "k1", exp)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+route+q, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", route, resp, err)
		}
		br := bufio.NewReader(resp.Body)
		sawLink := false
		for {
			line, err := br.ReadString('\n')
			if strings.HasPrefix(line, "data: ") { // JSON: & is \u0026
				sawLink = sawLink || strings.Contains(strings.ReplaceAll(line, `\u0026`, "&"), `"url":"/preview/10060abc.jpg?ts=20261124040506.250&`+q+`&w=160"`)
			}
			if err != nil {
				if ctx.Err() != nil {
					t.Fatalf("%s: still open 13 s after the link's end", route)
				}
				break
			}
		}
		resp.Body.Close()
		cancel()
		if ended := time.Since(time.Unix(exp.Unix(), 0)); ended < 0 || ended > 3*time.Second {
			t.Errorf("%s ended %s after the link's end", route, ended)
		}
		if strings.Contains(route, "events") && !sawLink {
			t.Errorf("the frame event's url does not carry the link")
		}
	}
}

// A camera's allowed sites: only they may frame its embed page and read
// its answers (CORS); other cameras keep CORS_ORIGINS.
func TestCameraAllowedSites(t *testing.T) {
	_, base, keys := signedReplica(t, Config{})
	q := "?" + link(t, keys, camSigned, "k1", time.Now().Add(time.Hour))
	embed, _ := open(t, base+"/embed/10060abc"+q)
	if csp := embed.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; frame-ancestors https://kennel.example") ||
		!strings.HasPrefix(csp, pageCSP) {
		t.Errorf("signed embed CSP %q", csp)
	}
	if csp, _ := open(t, base+"/embed/1006073b"); strings.Contains(csp.Header.Get("Content-Security-Policy"), "frame-ancestors") {
		t.Errorf("public embed CSP %q: any site may frame it", csp.Header.Get("Content-Security-Policy"))
	}
	for _, path := range []string{"/preview/10060abc.jpg" + q, "/embed/10060abc" + q, "/preview/10060abc/events" + q} {
		ok, _ := open(t, base+path, "Origin", "https://kennel.example")
		other, _ := open(t, base+path, "Origin", "https://evil.example")
		if ok.Header.Get("Access-Control-Allow-Origin") != "https://kennel.example" || other.Header.Get("Access-Control-Allow-Origin") != "" ||
			other.Header.Get("Vary") != "Origin" {
			t.Errorf("%s: allowed site gets %q, another %q (Vary %q)", path, ok.Header.Get("Access-Control-Allow-Origin"),
				other.Header.Get("Access-Control-Allow-Origin"), other.Header.Get("Vary"))
		}
	}
	if pub, _ := open(t, base+"/preview/1006073b.jpg", "Origin", "https://evil.example"); pub.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("public camera: Allow-Origin %q, want the default *", pub.Header.Get("Access-Control-Allow-Origin"))
	}
}

// A browser's preflight on a camera's route is answered as the request
// would be: by the camera's own sites when it has them, even where
// CORS_ORIGINS lists others.
func TestCameraPreflight(t *testing.T) {
	_, base, _ := signedReplica(t, Config{AllowedOrigins: []string{"https://shop.example"}})
	for _, tc := range []struct{ path, origin, want string }{
		{"/preview/10060abc.jpg", "https://kennel.example", "https://kennel.example"},
		{"/preview/10060abc.mjpg", "https://kennel.example", "https://kennel.example"},
		{"/preview/10060abc/events", "https://kennel.example", "https://kennel.example"},
		{"/preview/10060abc.jpg", "https://shop.example", ""},
		{"/preview/1006073b.jpg", "https://shop.example", "https://shop.example"},
		{"/preview/1006073b/events", "https://kennel.example", ""},
		{"/preview/10069999.jpg", "https://shop.example", "https://shop.example"}, // unknown: as CORS_ORIGINS says
		{"/api/cameras", "https://shop.example", "https://shop.example"},
		{"/api/cameras", "https://kennel.example", ""},
	} {
		req, _ := http.NewRequest(http.MethodOptions, base+tc.path, nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "if-none-match")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		got := h.Get("Access-Control-Allow-Origin")
		if resp.StatusCode != http.StatusNoContent || got != tc.want || h.Get("Vary") != "Origin" {
			t.Errorf("preflight %s from %s: %d, Allow-Origin %q (want %q), Vary %q", tc.path, tc.origin, resp.StatusCode, got, tc.want, h.Get("Vary"))
		}
		if allowed := h.Get("Access-Control-Allow-Methods") != ""; allowed != (tc.want != "") {
			t.Errorf("preflight %s from %s: Allow-Methods %q", tc.path, tc.origin, h.Get("Access-Control-Allow-Methods"))
		}
	}
}

// BenchmarkSignedStill is a signed camera's still beside a public one's,
// in one run: what checking the link adds per request.
func BenchmarkSignedStill(b *testing.B) {
	keys, _ := signing.ParseKeys(testKeys)
	store := newFakeStore(preview.Camera{ESN: camA}, preview.Camera{ESN: camSigned, Signed: true})
	srv := New(Config{ColdWait: -1, SigningKeys: keys}, store)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	store.put(camA, "20261124040506.250", "one")
	store.put(camSigned, "20261124040506.250", "dog")
	testbed.WaitFor(b, 5*time.Second, "frames known", func() bool {
		_, a := srv.hub.Current(camA, time.Now())
		_, s := srv.hub.Current(camSigned, time.Now())
		return a && s
	})
	l, _ := keys.Sign(camSigned, "k1", time.Now().Add(time.Hour))
	h := srv.Handler()
	for name, target := range map[string]string{"public": "/preview/1006073b.jpg?ts=20261124040506.250",
		"signed": "/preview/10060abc.jpg?ts=20261124040506.250&" + l.Query()} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", target, nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}

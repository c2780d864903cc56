package eensim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/preview"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	user     = "proxy@example.com"
	password = "pa55-word"
	camGate  = preview.ESN("1006073b") // 1 s
	camFast  = preview.ESN("100b4f17") // 250 ms
	camSlow  = preview.ESN("1009c3de") // 16 s
	camDeny  = preview.ESN("10060a2c") // exists, denied
)

// t0 is the fake clock's start: an arbitrary instant with milliseconds.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 89e6, time.UTC)

// renderer is the real frame renderer, shared: it is safe for concurrent use.
var renderer = sync.OnceValue(func() *framegen.Renderer {
	r, err := framegen.New(640, 360)
	if err != nil {
		panic(err)
	}
	return r
})

// fakeClock is an injected Config.Now that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testConfig is the simulator most tests use; Now is time.Now.
func testConfig() Config {
	return Config{
		Username: user,
		Password: password,
		Cameras: []Camera{
			{ESN: camGate, Name: "Gate", Interval: time.Second},
			{ESN: camFast, Name: "Fast", Interval: 250 * time.Millisecond},
			{ESN: camSlow, Name: "Slow", Interval: 16 * time.Second},
			{ESN: camDeny, Name: "Denied", Interval: time.Second},
		},
		Denied:   []preview.ESN{camDeny},
		Renderer: renderer(),
	}
}

// newSim builds a simulator from testConfig changed by mod.
func newSim(t testing.TB, mod func(*Config)) *Server {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newClockSim is newSim on a fake clock starting at t0.
func newClockSim(t testing.TB, mod func(*Config)) (*Server, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0}
	s := newSim(t, func(c *Config) {
		c.Now = clk.Now
		if mod != nil {
			mod(c)
		}
	})
	return s, clk
}

// serve runs one request through h. It never calls t, so it may run in
// another goroutine.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// get GETs target with the session key as the auth_key cookie.
func get(h http.Handler, key, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if key != "" {
		req.AddCookie(&http.Cookie{Name: "auth_key", Value: key})
	}
	return serve(h, req)
}

// post sends fields as JSON, or as a form when form is set.
func post(h http.Handler, path string, fields map[string]string, form bool) *httptest.ResponseRecorder {
	var req *http.Request
	if form {
		v := url.Values{}
		for k, f := range fields {
			v.Set(k, f)
		}
		req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		b, _ := json.Marshal(fields)
		req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
	}
	return serve(h, req)
}

// token runs authenticate and returns the single-use token.
func token(t testing.TB, h http.Handler, form bool) string {
	t.Helper()
	rec := post(h, "/g/aaa/authenticate", map[string]string{"username": user, "password": password}, form)
	if rec.Code != http.StatusOK {
		t.Fatalf("authenticate: %d %s", rec.Code, rec.Body)
	}
	var out struct{ Token string }
	if err := json.NewDecoder(rec.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("authenticate answer: %v %q", err, out.Token)
	}
	return out.Token
}

// authorize trades a token for a session key, failing on any other answer.
func authorize(t testing.TB, h http.Handler, tok string, form bool) string {
	t.Helper()
	rec := post(h, "/g/aaa/authorize", map[string]string{"token": tok}, form)
	if rec.Code != http.StatusOK {
		t.Fatalf("authorize: %d %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "auth_key" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatal("authorize set no auth_key cookie")
	return ""
}

// login runs the two-step login with JSON and returns the session key.
func login(t testing.TB, h http.Handler) string {
	t.Helper()
	return authorize(t, h, token(t, h, false), false)
}

// imageURL is the path and query of an image call.
func imageURL(op string, esn preview.ESN, ts string) string {
	return "/asset/" + op + "/image.jpeg?" + url.Values{"id": {string(esn)}, "timestamp": {ts}, "asset_class": {"pre"}}.Encode()
}

// frameTS reads a header such as x-ee-timestamp into a time; the zero
// time for "unknown".
func frameTS(t testing.TB, rec *httptest.ResponseRecorder, header string) time.Time {
	t.Helper()
	return headerTS(t, rec.Header(), header)
}

func headerTS(t testing.TB, h http.Header, header string) time.Time {
	t.Helper()
	v := h.Get(header)
	if v == "unknown" {
		return time.Time{}
	}
	if !strings.HasPrefix(v, "preview-") {
		t.Fatalf("%s = %q, want preview-YYYYMMDDhhmmss.mmm", header, v)
	}
	ts, err := preview.ParseHeaderTimestamp(v)
	if err != nil {
		t.Fatalf("%s: %v", header, err)
	}
	return ts.Time()
}

// wantCode fails unless rec answered code.
func wantCode(t testing.TB, rec *httptest.ResponseRecorder, code int) {
	t.Helper()
	if rec.Code != code {
		t.Fatalf("status %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), code)
	}
}

// stamp formats t as a request timestamp.
func stamp(t time.Time) string { return preview.FormatTimestamp(t).String() }

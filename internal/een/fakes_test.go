package een_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// rewrite sends every request to the test server, recording where the
// client meant it to go.
type rewrite struct {
	to  string
	rt  http.RoundTripper
	mu  sync.Mutex
	got []string
}

func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.got = append(r.got, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
	r.mu.Unlock()
	to, _ := url.Parse(r.to)
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = to.Scheme, to.Host, ""
	return r.rt.RoundTrip(out)
}

func (r *rewrite) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// fake is a minimal EEN for answers the simulator never gives: it logs in
// anyone and serves image calls with the test's handler.
type fake struct {
	srv            *httptest.Server
	authorizeCalls atomic.Int64
}

// fakeAnswers are what the fake's login calls answer; nil fields take
// a plain token and brand c001.
type fakeAnswers struct {
	auth, user map[string]any
	image      http.HandlerFunc
}

func newFake(t *testing.T, a fakeAnswers) *fake {
	f := &fake{}
	if a.auth == nil {
		a.auth = map[string]any{"token": "tok"}
	}
	if a.user == nil {
		a.user = map[string]any{"active_brand_subdomain": "c001"}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /g/aaa/authenticate", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(a.auth)
	})
	mux.HandleFunc("POST /g/aaa/authorize", func(w http.ResponseWriter, r *http.Request) {
		f.authorizeCalls.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "auth_key", Value: "c001~fa4e5e55104e7e57"})
		json.NewEncoder(w).Encode(a.user)
	})
	if a.image != nil {
		mux.HandleFunc("GET /asset/{op}/image.jpeg", a.image)
	}
	f.srv = httptest.NewServer(recordKeys(mux))
	t.Cleanup(f.srv.Close)
	return f
}

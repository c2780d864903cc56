package eenv3_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
)

// jpeg is a minimal body that passes the JPEG check.
var jpeg = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00 test image")

// fakeTokens is the grant manager as the Client sees it: Token gives the
// current set, Rejected the next one.
type fakeTokens struct {
	mu       sync.Mutex
	sets     []eenv3.TokenSet // sets[0] is current; Rejected moves on
	err      error            // Token's and Rejected's failure
	rejected []string         // access tokens reported stale
}

func newTokens(sets ...eenv3.TokenSet) *fakeTokens {
	for _, s := range sets {
		secrets.secret(s.AccessToken)
	}
	return &fakeTokens{sets: sets}
}

func (f *fakeTokens) Token(context.Context) (eenv3.TokenSet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return eenv3.TokenSet{}, f.err
	}
	return f.sets[0], nil
}

func (f *fakeTokens) Rejected(_ context.Context, stale eenv3.TokenSet) (eenv3.TokenSet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected = append(f.rejected, stale.AccessToken)
	if f.err != nil {
		return eenv3.TokenSet{}, f.err
	}
	if len(f.sets) > 1 && f.sets[0].AccessToken == stale.AccessToken {
		f.sets = f.sets[1:]
	}
	return f.sets[0], nil
}

func (f *fakeTokens) stale() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.rejected...)
}

func (f *fakeTokens) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// fakeAPI is EEN's API host: it takes the access tokens in valid and
// answers liveImage with a JPEG unless the test's handler answers.
type fakeAPI struct {
	srv   *httptest.Server
	valid map[string]bool

	mu    sync.Mutex
	calls []*http.Request
}

func newFakeAPI(t *testing.T, valid []string, handlers map[string]http.HandlerFunc) *fakeAPI {
	f := &fakeAPI{valid: map[string]bool{}}
	for _, v := range valid {
		f.valid[v] = true
	}
	mux := http.NewServeMux()
	const live = "GET /api/v3.0/media/liveImage.jpeg"
	if handlers[live] == nil {
		mux.HandleFunc(live, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("X-Een-Timestamp", "2026-11-30T13:04:09.754+00:00")
			w.Write(jpeg)
		})
	}
	for pattern, h := range handlers {
		mux.HandleFunc(pattern, h)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Clone(context.Background()))
		f.mu.Unlock()
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || !f.valid[tok] {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"code":401,"status":"unauthenticated","message":"bad token"}`))
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.calls...)
}

// newClient is a Client of base (the configured BaseURL), changed by mod.
func newClient(t *testing.T, base string, tokens eenv3.Tokens, mod func(*eenv3.Config)) *eenv3.Client {
	t.Helper()
	cfg := config("")
	cfg.BaseURL = base
	if mod != nil {
		mod(&cfg)
	}
	c, err := eenv3.New(cfg, tokens)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// set is a token set with a fresh access token.
func set() eenv3.TokenSet {
	return eenv3.TokenSet{AccessToken: newSecret("at-"), RefreshToken: newSecret("rt-")}
}

// esnQuery checks the liveImage query of r.
func esnQuery(r *http.Request, esn preview.ESN) bool {
	return r.URL.Query().Encode() == url.Values{"deviceId": {string(esn)}, "type": {"preview"}}.Encode()
}

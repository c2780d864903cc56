package eenv3_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// fakeAuth is EEN's OAuth2 side as the tests need it: it checks the
// client's Basic credentials and form, consents on its own, rotates
// refresh tokens, and lets a test answer instead.
type fakeAuth struct {
	srv      *httptest.Server
	redirect string // the whitelisted redirect URI

	mu      sync.Mutex
	codes   map[string]bool // codes not yet used
	refresh map[string]bool // refresh tokens not yet used
	forms   []url.Values    // token requests received
	via     []connUse       // the connection of each
	deny    bool            // the person refuses consent
	// answer, when set, answers token requests instead.
	answer http.HandlerFunc
}

func newFakeAuth(t *testing.T, redirect string) *fakeAuth {
	f := &fakeAuth{redirect: redirect, codes: map[string]bool{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/authorize", f.authorize)
	mux.HandleFunc("POST /oauth2/token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// newSecret returns a random token with a prefix, recorded as a secret.
func newSecret(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	s := prefix + hex.EncodeToString(b)
	secrets.secret(s)
	return s
}

// grant makes a refresh token the fake takes.
func (f *fakeAuth) grant() string {
	rt := newSecret("rt-")
	f.mu.Lock()
	f.refresh[rt] = true
	f.mu.Unlock()
	return rt
}

// newCode makes an authorization code the fake takes.
func (f *fakeAuth) newCode() string {
	code := newSecret("code-")
	f.mu.Lock()
	f.codes[code] = true
	f.mu.Unlock()
	return code
}

// authorize consents at once, as the simulator's automatic consent does.
func (f *fakeAuth) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != clientID || q.Get("response_type") != "code" || q.Get("scope") != "vms.all" || q.Get("redirect_uri") != f.redirect {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	f.mu.Lock()
	if f.deny {
		back.Set("error", "access_denied")
	} else {
		code := newSecret("code-")
		f.codes[code] = true
		back.Set("code", code)
	}
	f.mu.Unlock()
	http.Redirect(w, r, f.redirect+"?"+back.Encode(), http.StatusFound)
}

func (f *fakeAuth) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.via = append(f.via, connUse{addr: r.RemoteAddr, close: r.Close})
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	user, pass, ok := r.BasicAuth()
	id, _ := url.QueryUnescape(user)
	secret, _ := url.QueryUnescape(pass)
	if !ok || id != clientID || secret != clientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if !f.spend(r.PostForm) {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	json.NewEncoder(w).Encode(f.issue())
}

// spend takes the code or refresh token of form, once.
func (f *fakeAuth) spend(form url.Values) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch form.Get("grant_type") {
	case "authorization_code":
		code := form.Get("code")
		ok := f.codes[code] && form.Get("redirect_uri") == f.redirect
		delete(f.codes, code)
		return ok
	case "refresh_token":
		rt := form.Get("refresh_token")
		ok := f.refresh[rt] && form.Get("scope") == "vms.all"
		delete(f.refresh, rt)
		return ok
	}
	return false
}

// issue makes a new token set.
func (f *fakeAuth) issue() map[string]any {
	return map[string]any{
		"access_token":  newSecret("at-"),
		"token_type":    "Bearer",
		"expires_in":    3600,
		"refresh_token": f.grant(),
		"scope":         "vms.all",
		"httpsBaseUrl":  map[string]any{"hostname": "api.c001.eagleeyenetworks.com", "port": 443},
	}
}

// requests returns the token requests received.
func (f *fakeAuth) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

// connUse is the connection a token request came on.
type connUse struct {
	addr  string
	close bool // it asked for the connection to be closed after it
}

func (f *fakeAuth) conns() []connUse {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]connUse(nil), f.via...)
}

func (f *fakeAuth) setAnswer(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = h
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "details " + code})
}

// config is a valid Config for an auth server at authURL.
func config(authURL string) eenv3.Config {
	return eenv3.Config{AuthURL: authURL, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "http://127.0.0.1:3333/cb"}
}

func newAuth(t *testing.T, cfg eenv3.Config) *eenv3.Auth {
	t.Helper()
	a, err := eenv3.NewAuth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.CloseIdleConnections)
	return a
}

// breakable is a connection whose writes fail, writing nothing, once it
// is broken.
type breakable struct {
	net.Conn
	broken atomic.Bool
}

func (b *breakable) Write(p []byte) (int, error) {
	if b.broken.Load() {
		return 0, errors.New("broken on purpose")
	}
	return b.Conn.Write(p)
}

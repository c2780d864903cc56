package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// tokenGate stands between the fetchers and the simulator's sign-in and
// token endpoint (EEN_AUTH_URL): it notes when each token request came,
// keeps every token and code that passed (the secrets to look for), and
// can swallow one refresh's answer after the simulator rotated the token:
// the refresh token is spent and its successor lost with the answer, as
// when the refresher dies while EEN answers.
type tokenGate struct {
	URL    string
	sim    string
	client *http.Client

	mu       sync.Mutex
	calls    []time.Time // POST /oauth2/token, when each came
	secrets  map[string]bool
	swallow  chan struct{} // non-nil: swallow the next refresh's answer, then close it
	swallows sync.WaitGroup
}

func newTokenGate(t *testing.T, sim string) *tokenGate {
	g := &tokenGate{sim: sim, secrets: make(map[string]bool),
		client: &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = srv.URL
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		g.swallows.Wait()
		g.client.CloseIdleConnections()
	})
	return g
}

func (g *tokenGate) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var swallowed chan struct{}
	if r.URL.Path == "/oauth2/token" {
		form, _ := url.ParseQuery(string(body))
		g.mu.Lock()
		g.calls = append(g.calls, time.Now())
		g.keep(form.Get("code"), form.Get("refresh_token"))
		if form.Get("grant_type") == "refresh_token" {
			swallowed, g.swallow = g.swallow, nil
		}
		g.mu.Unlock()
	}
	resp, answer, err := g.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if swallowed != nil {
		g.swallows.Add(1)
		defer g.swallows.Done()
		close(swallowed)
		select { // until the fetcher is killed: its answer never comes
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		panic(http.ErrAbortHandler)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

// forward asks the simulator, which answers in full even if the fetcher
// dies meanwhile, and keeps the secrets of its answer.
func (g *tokenGate) forward(r *http.Request, body []byte) (*http.Response, []byte, error) {
	req, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, g.sim+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	g.note(resp, answer)
	return resp, answer, err
}

// note keeps the tokens of a token answer and the code of a redirect.
func (g *tokenGate) note(resp *http.Response, answer []byte) {
	var set struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	json.Unmarshal(answer, &set)
	var code string
	if loc, err := url.Parse(resp.Header.Get("Location")); err == nil {
		code = loc.Query().Get("code")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keep(set.Access, set.Refresh, code)
}

// keep adds secrets; mu held.
func (g *tokenGate) keep(secrets ...string) {
	for _, s := range secrets {
		if s != "" {
			g.secrets[s] = true
		}
	}
}

// swallowNext makes the gate swallow the next refresh's answer; the
// channel is closed once the simulator has rotated the token.
func (g *tokenGate) swallowNext() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.swallow = make(chan struct{})
	return g.swallow
}

// callsSince counts the token requests that came after t.
func (g *tokenGate) callsSince(t time.Time) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, at := range g.calls {
		if at.After(t) {
			n++
		}
	}
	return n
}

// seen returns every token and code that passed the gate.
func (g *tokenGate) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.secrets))
	for s := range g.secrets {
		out = append(out, s)
	}
	return out
}

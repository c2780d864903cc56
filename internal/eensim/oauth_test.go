package eensim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAuthorizeRedirectsWithACode(t *testing.T) {
	s := newSim(t, v3(func(c *Config) { c.RedirectURIs = []string{redirectURI, "http://127.0.0.1:4444/cb?x=1"} }))
	h := s.Handler()
	u := location(t, callAuthorize(h))
	if got := u.Scheme + "://" + u.Host + u.Path; got != redirectURI {
		t.Errorf("redirected to %s, want %s", got, redirectURI)
	}
	if q := u.Query(); q.Get("code") == "" || q.Get("state") != "st-42" || q.Get("error") != "" {
		t.Errorf("redirect query %v, want a code and the state", q)
	}
	// A registered URI's own query stays; no state, none sent back.
	u = location(t, callAuthorize(h, "redirect_uri", "http://127.0.0.1:4444/cb?x=1", "state", ""))
	if q := u.Query(); q.Get("x") != "1" || q.Get("code") == "" || q.Has("state") || u.Path != "/cb" {
		t.Errorf("redirect %s, want /cb?x=1&code=…", u)
	}
	if got := s.Stats().OAuth.CodesIssued; got != 2 {
		t.Errorf("codes issued = %d, want 2", got)
	}
}

// TestAuthorizeRefusesBadClientOrRedirect: never a redirect to a URI that
// is not registered exactly, whatever it looks like.
func TestAuthorizeRefusesBadClientOrRedirect(t *testing.T) {
	h := newSim(t, v3(nil)).Handler()
	for _, kv := range [][]string{
		{"client_id", "someone-else"},
		{"client_id", ""},
		{"redirect_uri", ""},
		{"redirect_uri", redirectURI + "/"},
		{"redirect_uri", "http://localhost:3333"},
		{"redirect_uri", "https://127.0.0.1:3333"},
		{"redirect_uri", "http://127.0.0.1:3334"},
		{"redirect_uri", "HTTP://127.0.0.1:3333"},
		{"redirect_uri", redirectURI + "?x=1"},
		{"redirect_uri", "http://evil.example/"},
	} {
		rec := callAuthorize(h, kv...)
		wantCode(t, rec, http.StatusBadRequest)
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Errorf("%v: redirected to %q", kv, loc)
		}
		if kv[1] != "" && strings.Contains(rec.Body.String(), kv[1]) {
			t.Errorf("%v: the page echoes the value: %q", kv, rec.Body)
		}
	}
	// No client configured: nothing is a known client.
	wantCode(t, callAuthorize(newSim(t, nil).Handler()), http.StatusBadRequest)
}

func TestAuthorizeErrorsGoBackToTheClient(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{[]string{"response_type", "token"}, "unsupported_response_type"},
		{[]string{"scope", ""}, "invalid_scope"},
		{[]string{"scope", "vms.read"}, "invalid_scope"},
	} {
		q := location(t, callAuthorize(h, tc.kv...)).Query()
		if q.Get("error") != tc.want || q.Get("code") != "" || q.Get("state") != "st-42" {
			t.Errorf("%v: redirect query %v, want error=%s and the state", tc.kv, q, tc.want)
		}
	}
	denied := newSim(t, v3(func(c *Config) { c.Faults.DenyConsent = true }))
	q := location(t, callAuthorize(denied.Handler())).Query()
	if q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != "st-42" {
		t.Errorf("denied consent: redirect query %v", q)
	}
	if st := denied.Stats().OAuth; st.ConsentsDenied != 1 || st.CodesIssued != 0 {
		t.Errorf("denied consent counted %+v", st)
	}
}

func TestCodeExchange(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	code := newCodeFor(t, h)
	rec := exchange(h, code)
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	a := tokensOf(t, rec)
	if a.TokenType != "Bearer" || a.ExpiresIn != 3600 || a.Scope != "vms.all" || a.BaseURL.Hostname != "127.0.0.1" || a.BaseURL.Port != 8443 {
		t.Errorf("token answer %+v", a)
	}
	wantCode(t, bearer(h, a.AccessToken, "/api/v3.0/clientSettings"), http.StatusOK)
	// Single use.
	if e := oauthError(t, exchange(h, code), http.StatusBadRequest); e != "invalid_grant" {
		t.Errorf("a used code: %s, want invalid_grant", e)
	}
	if st := s.Stats().OAuth; st.CodeExchanges != 1 || st.TokenErrors["invalid_grant"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestCodeExchangeFailures(t *testing.T) {
	s, clk := newClockSim(t, v3(nil))
	h := s.Handler()
	form := func(code, redirect string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	}
	// A wrong redirect spends the code: the right one fails after it.
	code := newCodeFor(t, h)
	if e := oauthError(t, callToken(h, clientID, clientSecret, form(code, redirectURI+"/")), http.StatusBadRequest); e != "invalid_grant" {
		t.Errorf("wrong redirect: %s", e)
	}
	if e := oauthError(t, exchange(h, code), http.StatusBadRequest); e != "invalid_grant" {
		t.Errorf("after a wrong redirect: %s", e)
	}
	// A wrong client is refused before the code is looked at.
	code = newCodeFor(t, h)
	for _, c := range [][2]string{{clientID, "wrong"}, {"other", clientSecret}, {clientID, ""}, {"", ""}} {
		rec := callToken(h, c[0], c[1], form(code, redirectURI))
		if e := oauthError(t, rec, http.StatusUnauthorized); e != "invalid_client" {
			t.Errorf("client %q: %s", c[0], e)
		}
	}
	// The secret form-encoded, as RFC 6749 2.3.1 has it, is good too.
	tokensOf(t, callToken(h, clientID, url.QueryEscape(clientSecret), form(code, redirectURI)))
	// A code lives 60 s.
	code = newCodeFor(t, h)
	clk.Advance(codeTTL)
	if e := oauthError(t, exchange(h, code), http.StatusBadRequest); e != "invalid_grant" {
		t.Errorf("expired code: %s", e)
	}
	for _, f := range []url.Values{{"code": {"x"}}, form("", redirectURI), {"grant_type": {"password"}}} {
		if e := oauthError(t, callToken(h, clientID, clientSecret, f), http.StatusBadRequest); e != "invalid_request" && e != "unsupported_grant_type" {
			t.Errorf("%v: %s", f, e)
		}
	}
	if st := s.Stats().OAuth; st.CodeExchanges != 1 || st.TokenErrors["invalid_client"] != 4 || st.TokenErrors["unsupported_grant_type"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRefreshRotates: each refresh spends the token presented and gives a
// new one; access tokens already given stay good until they expire.
func TestRefreshRotates(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	a := signIn(t, h)
	seen := map[string]bool{a.RefreshToken: true, a.AccessToken: true}
	olds := []string{a.AccessToken}
	for range 3 {
		b := tokensOf(t, refresh(h, a.RefreshToken))
		if seen[b.RefreshToken] || seen[b.AccessToken] {
			t.Fatalf("a token came back: %+v", b)
		}
		seen[b.RefreshToken], seen[b.AccessToken] = true, true
		olds = append(olds, b.AccessToken)
		a = b
	}
	for _, tok := range olds {
		wantCode(t, bearer(h, tok, "/api/v3.0/clientSettings"), http.StatusOK)
	}
	// Without scope too.
	tokensOf(t, callToken(h, clientID, clientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a.RefreshToken}}))
	if st := s.Stats().OAuth; st.Refreshes != 4 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestRefreshReuseRevokesTheGrant: a spent refresh token presented again
// ends every token of its grant, and only of its grant.
func TestRefreshReuseRevokesTheGrant(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	other := signIn(t, h)
	a0 := signIn(t, h)
	a1 := tokensOf(t, refresh(h, a0.RefreshToken))
	a2 := tokensOf(t, refresh(h, a1.RefreshToken))
	if e := oauthError(t, refresh(h, a0.RefreshToken), http.StatusBadRequest); e != "invalid_grant" {
		t.Errorf("reuse: %s", e)
	}
	for _, tok := range []string{a0.AccessToken, a1.AccessToken, a2.AccessToken} {
		wantCode(t, bearer(h, tok, "/api/v3.0/clientSettings"), http.StatusUnauthorized)
	}
	for _, rt := range []string{a2.RefreshToken, a1.RefreshToken} {
		if e := oauthError(t, refresh(h, rt), http.StatusBadRequest); e != "invalid_grant" {
			t.Errorf("a token of the revoked grant: %s", e)
		}
	}
	wantCode(t, bearer(h, other.AccessToken, "/api/v3.0/clientSettings"), http.StatusOK)
	tokensOf(t, refresh(h, other.RefreshToken))
	st := s.Stats().OAuth
	if st.RefreshReuses != 1 || st.GrantsRevoked != 1 || st.Refreshes != 3 || st.TokenErrors["invalid_grant"] != 3 || st.Unauthorized != 3 {
		t.Errorf("stats %+v, want 1 reuse, 1 grant revoked, 3 refreshes, 3 invalid_grant, 3 unauthorized", st)
	}
}

func TestAccessTokenExpires(t *testing.T) {
	s, clk := newClockSim(t, v3(func(c *Config) { c.AccessTokenTTL = 2 * time.Second }))
	h := s.Handler()
	a := signIn(t, h)
	if a.ExpiresIn != 2 {
		t.Errorf("expires_in = %d, want 2", a.ExpiresIn)
	}
	clk.Advance(2*time.Second - time.Millisecond)
	wantCode(t, bearer(h, a.AccessToken, "/api/v3.0/clientSettings"), http.StatusOK)
	clk.Advance(time.Millisecond)
	wantCode(t, bearer(h, a.AccessToken, "/api/v3.0/clientSettings"), http.StatusUnauthorized)
	// The refresh token outlives it.
	b := tokensOf(t, refresh(h, a.RefreshToken))
	wantCode(t, bearer(h, b.AccessToken, "/api/v3.0/clientSettings"), http.StatusOK)
}

func TestRevokeAndExpireNow(t *testing.T) {
	s, clk := newClockSim(t, v3(func(c *Config) { c.Faults.ExpireEvery = time.Minute }))
	h := s.Handler()
	a := signIn(t, h)
	clk.Advance(time.Minute) // ExpireEvery
	wantCode(t, bearer(h, a.AccessToken, "/api/v3.0/clientSettings"), http.StatusUnauthorized)
	a = tokensOf(t, refresh(h, a.RefreshToken))
	wantCode(t, serve(h, httptest.NewRequest(http.MethodPost, "/_sim/expire-tokens", nil)), http.StatusNoContent)
	wantCode(t, bearer(h, a.AccessToken, "/api/v3.0/clientSettings"), http.StatusUnauthorized)
	a = tokensOf(t, refresh(h, a.RefreshToken))
	b := signIn(t, h)
	wantCode(t, serve(h, httptest.NewRequest(http.MethodPost, "/_sim/revoke", nil)), http.StatusNoContent)
	for _, x := range []tokenAnswer{a, b} {
		wantCode(t, bearer(h, x.AccessToken, "/api/v3.0/clientSettings"), http.StatusUnauthorized)
		if e := oauthError(t, refresh(h, x.RefreshToken), http.StatusBadRequest); e != "invalid_grant" {
			t.Errorf("after revoke: %s", e)
		}
	}
	if n := s.RevokeGrants(); n != 0 {
		t.Errorf("RevokeGrants found %d grants after /_sim/revoke", n)
	}
	if st := s.Stats().OAuth; st.GrantsRevoked != 2 || st.RefreshReuses != 0 {
		t.Errorf("stats %+v", st)
	}
}

package eensim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
)

// oauthAuthorize serves GET /oauth2/authorize with automatic consent. A
// bad client id or redirect URI gets a plain 400 page, never a redirect
// (RFC 6749 4.1.2.1): the redirect could lead anywhere.
func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	s.stats.count("oauth2/authorize", "")
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	switch {
	case !s.v3On() || q.Get("client_id") != s.cfg.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case !slices.Contains(s.cfg.RedirectURIs, redirect):
		http.Error(w, "redirect_uri is not registered for this client (compared exactly)", http.StatusBadRequest)
		return
	}
	back := url.Values{}
	switch {
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
	case !hasScope(q.Get("scope")):
		back.Set("error", "invalid_scope")
	case s.cfg.Faults.DenyConsent:
		back.Set("error", "access_denied")
		s.stats.add(func(o *OAuthStats) { o.ConsentsDenied++ })
	default:
		code, ok := s.newCode(redirect)
		if !ok {
			back.Set("error", "temporarily_unavailable")
			break
		}
		back.Set("code", code)
		s.stats.add(func(o *OAuthStats) { o.CodesIssued++ })
	}
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, withQuery(redirect, back), http.StatusFound)
}

// withQuery adds v to the query of the registered (so valid) URL u.
func withQuery(u string, v url.Values) string {
	p, _ := url.Parse(u)
	q := p.Query()
	for k := range v {
		q.Set(k, v.Get(k))
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// hasScope reports whether the space-separated scope asks for vms.all.
func hasScope(scope string) bool { return slices.Contains(strings.Fields(scope), "vms.all") }

// v3On reports whether a client is configured.
func (s *Server) v3On() bool { return s.cfg.ClientID != "" && s.cfg.ClientSecret != "" }

// oauthToken serves POST /oauth2/token: the authorization-code and
// refresh-token grants.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	s.stats.count("oauth2/token", "")
	if chance(s.cfg.Faults.TokenUnavailable) {
		s.tokenError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
		return
	}
	if !s.clientOK(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="eensim"`)
		s.tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if r.ParseForm() != nil {
		s.tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	var t tokens
	var fault string
	switch f := r.PostForm; f.Get("grant_type") {
	case "authorization_code":
		t, fault = s.exchangeCode(f)
	case "refresh_token":
		t, fault = s.refreshGrant(f)
	case "":
		fault = "invalid_request"
	default:
		fault = "unsupported_grant_type"
	}
	if fault != "" {
		s.tokenError(w, http.StatusBadRequest, fault)
		return
	}
	// The delay comes after the rotation: a client that dies in it has
	// lost the new tokens and holds a spent refresh token, as when a real
	// answer is lost in flight.
	if backoff.Sleep(r.Context(), s.cfg.Faults.TokenDelay) == nil {
		s.writeTokens(w, r, t)
	}
}

// clientOK checks HTTP Basic client_id:client_secret in constant time,
// taking them as sent or form-decoded (RFC 6749 2.3.1).
func (s *Server) clientOK(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if !ok || !s.v3On() {
		return false
	}
	same := func(got, want string) bool {
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
			return true
		}
		dec, err := url.QueryUnescape(got)
		return err == nil && subtle.ConstantTimeCompare([]byte(dec), []byte(want)) == 1
	}
	idOK, secretOK := same(id, s.cfg.ClientID), same(secret, s.cfg.ClientSecret)
	return idOK && secretOK
}

func (s *Server) exchangeCode(f url.Values) (tokens, string) {
	code, redirect := f.Get("code"), f.Get("redirect_uri")
	if code == "" || redirect == "" {
		return tokens{}, "invalid_request"
	}
	if !s.redeemCode(code, redirect) {
		return tokens{}, "invalid_grant"
	}
	t, evicted := s.newGrant()
	s.stats.add(func(o *OAuthStats) {
		o.CodeExchanges++
		if evicted {
			o.GrantsRevoked++
		}
	})
	return t, ""
}

func (s *Server) refreshGrant(f url.Values) (tokens, string) {
	tok, scope := f.Get("refresh_token"), f.Get("scope")
	switch {
	case tok == "":
		return tokens{}, "invalid_request"
	case scope != "" && !hasScope(scope):
		return tokens{}, "invalid_scope"
	}
	t, outcome := s.rotate(tok)
	switch outcome {
	case reused:
		s.stats.add(func(o *OAuthStats) { o.RefreshReuses++; o.GrantsRevoked++ })
		return tokens{}, "invalid_grant"
	case unknownToken:
		return tokens{}, "invalid_grant"
	}
	s.stats.add(func(o *OAuthStats) { o.Refreshes++ })
	return t, ""
}

func (s *Server) writeTokens(w http.ResponseWriter, r *http.Request, t tokens) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, map[string]any{
		"access_token":  t.access,
		"token_type":    "Bearer",
		"expires_in":    int64(s.cfg.AccessTokenTTL / time.Second),
		"refresh_token": t.refresh,
		"scope":         "vms.all",
		"httpsBaseUrl":  s.baseURL(r),
	})
}

// tokenError answers an OAuth2 error and counts it by its code.
func (s *Server) tokenError(w http.ResponseWriter, status int, code string) {
	s.stats.add(func(o *OAuthStats) { o.TokenErrors[code]++ })
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

package eensim

import (
	"maps"
	"net/http"
	"slices"
	"time"
)

// Bounds of the v3 state, so that no client, however wrong, makes it grow
// without end.
const (
	codeTTL   = 60 * time.Second
	maxCodes  = 1024 // live authorization codes
	maxGrants = 64   // a new grant beyond this revokes the oldest
	maxAccess = 16   // access tokens kept per grant, the newest
	maxSpent  = 256  // spent refresh tokens remembered per grant, to detect reuse
)

type authCode struct {
	redirect string
	exp      time.Time
}

// grant is what one consent gave: a family of tokens that a reused
// refresh token revokes as a whole.
type grant struct {
	refresh string   // the live refresh token
	spent   []string // its spent predecessors, oldest first
	access  []string // its access tokens, oldest first
}

// tokens is what the token endpoint hands out.
type tokens struct{ access, refresh string }

// oauth is the v3 state, guarded by Server.mu.
type oauth struct {
	codes         map[string]authCode
	grants        []*grant             // oldest first
	refreshTokens map[string]*grant    // live and spent refresh tokens → their grant
	accessTokens  map[string]time.Time // → expiry
}

func newOAuth() oauth {
	return oauth{codes: make(map[string]authCode), refreshTokens: make(map[string]*grant), accessTokens: make(map[string]time.Time)}
}

// newCode issues a single-use authorization code for redirect; false when
// too many are live.
func (s *Server) newCode(redirect string) (string, bool) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.codes) >= maxCodes/2 {
		maps.DeleteFunc(s.codes, func(_ string, c authCode) bool { return !now.Before(c.exp) })
	}
	if len(s.codes) >= maxCodes {
		return "", false
	}
	code := randomHex(16)
	s.codes[code] = authCode{redirect: redirect, exp: now.Add(codeTTL)}
	return code, true
}

// redeemCode spends code, valid or not; true when it was live and issued
// for redirect.
func (s *Server) redeemCode(code, redirect string) bool {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	delete(s.codes, code)
	return ok && now.Before(c.exp) && c.redirect == redirect
}

// newGrant starts a grant and returns its first tokens; the oldest grant
// goes when there are too many (true).
func (s *Server) newGrant() (tokens, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	evicted := len(s.grants) >= maxGrants
	if evicted {
		s.revoke(s.grants[0])
	}
	g := &grant{}
	s.grants = append(s.grants, g)
	return s.issue(g), evicted
}

// refreshOutcome tells how rotate went.
type refreshOutcome int

const (
	rotated refreshOutcome = iota
	unknownToken
	reused // a spent refresh token: its grant is revoked now
)

// rotate spends the refresh token tok and returns its successor; a spent
// one revokes its whole grant (OAuth 2.1 reuse detection).
func (s *Server) rotate(tok string) (tokens, refreshOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refreshTokens[tok]
	switch {
	case !ok:
		return tokens{}, unknownToken
	case tok != g.refresh:
		s.revoke(g)
		return tokens{}, reused
	}
	return s.issue(g), rotated
}

// issue gives g a new refresh token and a new access token, spending its
// refresh token and forgetting what falls beyond the bounds; mu held.
func (s *Server) issue(g *grant) tokens {
	if g.refresh != "" {
		g.spent = append(g.spent, g.refresh)
		if len(g.spent) > maxSpent {
			delete(s.refreshTokens, g.spent[0])
			g.spent = slices.Delete(g.spent, 0, 1)
		}
	}
	t := tokens{access: randomHex(32), refresh: randomHex(32)}
	g.refresh = t.refresh
	s.refreshTokens[t.refresh] = g
	g.access = append(g.access, t.access)
	if len(g.access) > maxAccess {
		delete(s.accessTokens, g.access[0])
		g.access = slices.Delete(g.access, 0, 1)
	}
	s.accessTokens[t.access] = s.cfg.Now().Add(s.cfg.AccessTokenTTL)
	return t
}

// revoke ends g and every token of it; mu held.
func (s *Server) revoke(g *grant) {
	for _, tok := range g.access {
		delete(s.accessTokens, tok)
	}
	for _, tok := range g.spent {
		delete(s.refreshTokens, tok)
	}
	delete(s.refreshTokens, g.refresh)
	s.grants = slices.DeleteFunc(s.grants, func(x *grant) bool { return x == g })
}

// accessOK reports whether tok is a live access token.
func (s *Server) accessOK(tok string) bool {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDue(now)
	exp, ok := s.accessTokens[tok]
	if ok && !now.Before(exp) {
		delete(s.accessTokens, tok)
		ok = false
	}
	return ok
}

// expireDue ends every session and access token when Faults.ExpireEvery
// has passed since it last did; mu held.
func (s *Server) expireDue(now time.Time) {
	if ev := s.cfg.Faults.ExpireEvery; ev > 0 && now.Sub(s.swept) >= ev {
		clear(s.sessions)
		clear(s.accessTokens)
		s.swept = now
	}
}

// RevokeGrants ends every v3 grant now, with all its tokens, as EEN does
// when a grant's time is up or the account owner withdraws consent. It
// returns how many there were.
func (s *Server) RevokeGrants() int {
	s.mu.Lock()
	n := len(s.grants)
	for len(s.grants) > 0 {
		s.revoke(s.grants[0])
	}
	s.mu.Unlock()
	s.stats.add(func(o *OAuthStats) { o.GrantsRevoked += int64(n) })
	return n
}

// ExpireAccessTokens ends every v3 access token now (refresh tokens stay
// good): every API call answers 401 until its client refreshes.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.accessTokens)
}

func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	s.RevokeGrants()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveExpireTokens(w http.ResponseWriter, r *http.Request) {
	s.ExpireAccessTokens()
	w.WriteHeader(http.StatusNoContent)
}

package eensim

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
)

// Stats counts requests per endpoint and camera, answers per status, and
// what the v3 OAuth2 grants went through.
//
// Endpoints: v1 "authenticate", "authorize", "login" (a successful
// authorize), "prev", "next", "asset", "after", "list"; v3
// "oauth2/authorize", "oauth2/token", "clientSettings", "cameras",
// "liveImage" (by camera, as v1 image calls).
type Stats struct {
	Requests map[string]map[string]int64 `json:"requests"` // endpoint → camera ("" for calls of no camera) → count
	Status   map[string]int64            `json:"status"`   // HTTP status of image calls (v1 and liveImage) and failed API calls → count
	OAuth    OAuthStats                  `json:"oauth"`
}

// OAuthStats counts the v3 sign-in and token life.
type OAuthStats struct {
	CodesIssued    int64            `json:"codes_issued"`    // authorize answered with a code (consent given)
	ConsentsDenied int64            `json:"consents_denied"` // authorize answered access_denied (Faults.DenyConsent)
	CodeExchanges  int64            `json:"code_exchanges"`  // codes traded for a new grant
	Refreshes      int64            `json:"refreshes"`       // refresh tokens rotated
	RefreshReuses  int64            `json:"refresh_reuses"`  // spent refresh tokens presented again (each revoked its grant)
	GrantsRevoked  int64            `json:"grants_revoked"`  // grants ended: by reuse, RevokeGrants, or beyond the cap of live grants
	TokenErrors    map[string]int64 `json:"token_errors"`    // token-endpoint error answers by OAuth2 error code
	Unauthorized   int64            `json:"unauthorized"`    // v3 API calls answered 401 (injected ones too)
}

// Count returns the requests to endpoint for one camera.
func (s Stats) Count(endpoint, esn string) int64 { return s.Requests[endpoint][esn] }

// Total returns the requests to endpoint over all cameras.
func (s Stats) Total(endpoint string) int64 {
	var n int64
	for _, v := range s.Requests[endpoint] {
		n += v
	}
	return n
}

type stats struct {
	mu       sync.Mutex
	requests map[string]map[string]int64
	statuses map[string]int64
	oauth    OAuthStats
}

func newStats() *stats {
	return &stats{requests: make(map[string]map[string]int64), statuses: make(map[string]int64),
		oauth: OAuthStats{TokenErrors: make(map[string]int64)}}
}

// add changes the OAuth counters.
func (s *stats) add(f func(*OAuthStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.oauth)
}

func (s *stats) count(endpoint, esn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.requests[endpoint]
	if m == nil {
		m = make(map[string]int64)
		s.requests[endpoint] = m
	}
	m[esn]++
}

func (s *stats) status(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[strconv.Itoa(code)]++
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Requests: make(map[string]map[string]int64), Status: maps.Clone(s.statuses), OAuth: s.oauth}
	out.OAuth.TokenErrors = maps.Clone(s.oauth.TokenErrors)
	for k, v := range s.requests {
		out.Requests[k] = maps.Clone(v)
	}
	return out
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.Stats())
}

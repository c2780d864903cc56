// Package eensim simulates the Eagle Eye Networks APIs that camrelay uses,
// both from one handler so one simulator serves v1 and v3 tests alike:
//   - v1: login, sessions and preview images (prev, next, asset, after, list);
//   - v3: the OAuth2 authorization-code grant (automatic consent, rotating
//     refresh tokens with reuse detection that revokes the whole grant),
//     clientSettings, the paged camera list and liveImage;
//
// with real JPEG frames, fault injection and request counters (/_sim/stats)
// for tests and demos. Tokens, codes and secrets are never logged nor echoed.
package eensim

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// Camera is a simulated camera.
type Camera struct {
	ESN      preview.ESN
	Name     string
	Interval time.Duration // preview interval, 250 ms to 16 s
}

// Faults injects upstream trouble into image calls. Rates are shares in
// [0, 1] of image requests.
type Faults struct {
	Unavailable float64       // answered 503
	RateLimited float64       // answered 429 with Retry-After
	RetryAfter  time.Duration // the Retry-After of a 429, rounded up to whole seconds; default 1 s
	Slow        float64       // answered after SlowDelay
	SlowDelay   time.Duration
	Redirect    float64       // answered 301 to another "archiver" (v1 only)
	ExpireEvery time.Duration // all sessions and v3 access tokens end this often

	// v3. Unavailable, RateLimited and Slow apply to liveImage too.
	Unauthorized     float64       // share of v3 API calls answered 401 although the token is valid
	TokenUnavailable float64       // share of token-endpoint calls answered 503, rotating nothing
	TokenDelay       time.Duration // the token endpoint answers this late, after rotating
	DenyConsent      bool          // authorize redirects with error=access_denied
}

func (f Faults) validate() error {
	for name, p := range map[string]float64{"unavailable": f.Unavailable, "rate-limited": f.RateLimited, "slow": f.Slow,
		"redirect": f.Redirect, "unauthorized": f.Unauthorized, "token-unavailable": f.TokenUnavailable} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("eensim: the %s rate %v is not a share between 0 and 1", name, p)
		}
	}
	if f.RetryAfter < 0 || f.SlowDelay < 0 || f.ExpireEvery < 0 || f.TokenDelay < 0 {
		return errors.New("eensim: fault durations must not be negative")
	}
	return nil
}

// Config sets up a simulator.
type Config struct {
	Username   string
	Password   string
	APIKey     string // when set, every call must carry it
	KeyHeader  string // header of the API key, default "Authentication"
	Cameras    []Camera
	Denied     []preview.ESN // cameras that exist but the user may not see
	SessionTTL time.Duration // inactivity timeout of a session; default 1 h
	Faults     Faults
	Renderer   Renderer
	Now        func() time.Time // default time.Now

	// v3: off unless ClientID and ClientSecret are set.
	ClientID        string
	ClientSecret    string
	RedirectURIs    []string      // compared exactly; default ["http://127.0.0.1:3333"]
	AccessTokenTTL  time.Duration // at least 1 s; default 1 h
	APIHost         string        // httpsBaseUrl as "host" or "host:port"; default the request's Host
	CameraPageSize  int           // default and largest pageSize of the camera list; default 100
	TimestampLayout string        // Go layout of X-Een-Timestamp; default TimestampEEN
}

// TimestampEEN is the form of X-Een-Timestamp in EEN's docs:
// 2026-11-30T13:04:09.754+00:00. TimestampZ ends in Z instead.
const (
	TimestampEEN = "2006-01-02T15:04:05.000-07:00"
	TimestampZ   = "2006-01-02T15:04:05.000Z07:00"
)

// Renderer draws the JPEG of a camera's frame at t.
type Renderer interface {
	Frame(esn, name string, t time.Time) []byte
}

// Server is the simulator; its Handler serves the API.
type Server struct {
	cfg     Config
	cameras map[preview.ESN]*camera
	denied  map[preview.ESN]bool
	stats   *stats
	mux     *http.ServeMux

	mu       sync.Mutex
	tokens   map[string]time.Time // single-use login tokens → expiry
	sessions map[string]time.Time // auth_key → expiry
	swept    time.Time            // when Faults.ExpireEvery last ended every session and access token
	oauth                         // v3 codes, grants and tokens, under mu
}

// New validates cfg and builds a simulator.
func New(cfg Config) (*Server, error) {
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, time.Hour)
	cfg.KeyHeader = cmp.Or(cfg.KeyHeader, "Authentication")
	cfg.Faults.RetryAfter = cmp.Or(cfg.Faults.RetryAfter, time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("eensim: a username and password are required")
	}
	if cfg.Renderer == nil {
		return nil, errors.New("eensim: a renderer is required")
	}
	if err := cfg.Faults.validate(); err != nil {
		return nil, err
	}
	if err := cfg.v3Defaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		cameras:  make(map[preview.ESN]*camera),
		denied:   make(map[preview.ESN]bool),
		stats:    newStats(),
		tokens:   make(map[string]time.Time),
		sessions: make(map[string]time.Time),
		swept:    cfg.Now(),
		oauth:    newOAuth(),
	}
	if err := s.addCameras(cfg); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// addCameras adds the cameras of cfg and marks the denied ones.
func (s *Server) addCameras(cfg Config) error {
	for _, c := range cfg.Cameras {
		if err := s.addCamera(c); err != nil {
			return err
		}
	}
	for _, id := range cfg.Denied {
		esn, err := preview.ParseESN(string(id))
		if err != nil {
			return fmt.Errorf("eensim: denied camera: %w", err)
		}
		s.denied[esn] = true
	}
	return nil
}

// addCamera checks a camera and adds it under its normalised ESN.
func (s *Server) addCamera(c Camera) error {
	esn, err := preview.ParseESN(string(c.ESN))
	switch {
	case err != nil:
		return fmt.Errorf("eensim: camera %q: %w", c.ESN, err)
	case s.cameras[esn] != nil:
		return fmt.Errorf("eensim: camera %s is listed twice", esn)
	case c.Interval < 250*time.Millisecond || c.Interval > 16*time.Second:
		return fmt.Errorf("eensim: camera %s: preview interval %s is outside 250ms..16s", esn, c.Interval)
	case c.Interval%time.Millisecond != 0:
		// Timestamps have milliseconds: frame times must be whole ones.
		return fmt.Errorf("eensim: camera %s: preview interval %s is not whole milliseconds", esn, c.Interval)
	}
	c.ESN = esn
	s.cameras[esn] = newCamera(c, phaseOf(esn, c.Interval))
	return nil
}

// Handler returns the HTTP handler of the simulated API.
func (s *Server) Handler() http.Handler { return s.mux }

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ExpireSessions ends every session at once, as EEN does when an account's
// inactivity timeout passes.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// phaseOf spreads cameras over their interval so they do not all tick at
// the same instant.
func phaseOf(esn preview.ESN, interval time.Duration) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(esn))
	return time.Duration(h.Sum32()%uint32(interval.Milliseconds())) * time.Millisecond
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /g/aaa/authenticate", s.authenticate)
	m.HandleFunc("POST /g/aaa/authorize", s.authorize)
	m.HandleFunc("POST /g/aaa/two_factor_authenticate", s.twoFactor)
	m.HandleFunc("GET /g/aaa/isauth", s.isAuth)
	m.HandleFunc("POST /g/aaa/logout", s.logout)
	m.HandleFunc("GET /asset/{op}/image.jpeg", s.image)
	m.HandleFunc("GET /asset/list/image", s.list)
	m.HandleFunc("GET /oauth2/authorize", s.oauthAuthorize)
	m.HandleFunc("POST /oauth2/token", s.oauthToken)
	m.HandleFunc("GET /api/v3.0/clientSettings", s.clientSettings)
	m.HandleFunc("GET /api/v3.0/cameras", s.cameraList)
	m.HandleFunc("GET /api/v3.0/media/liveImage.jpeg", s.liveImage)
	m.HandleFunc("GET /_sim/stats", s.serveStats)
	m.HandleFunc("POST /_sim/revoke", s.serveRevoke)
	m.HandleFunc("POST /_sim/expire-tokens", s.serveExpireTokens)
	s.mux = m
}

// chance reports true with probability p.
func chance(p float64) bool { return p > 0 && rand.Float64() < p }

// Package eensim simulates the Eagle Eye Networks v1 API that camrelay
// uses: login, sessions and preview images with real JPEG frames, plus
// fault injection and request counters for tests and demos.
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
	Redirect    float64       // answered 301 to another "archiver"
	ExpireEvery time.Duration // all sessions end this often
}

func (f Faults) validate() error {
	for name, p := range map[string]float64{"unavailable": f.Unavailable, "rate-limited": f.RateLimited, "slow": f.Slow, "redirect": f.Redirect} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("eensim: the %s rate %v is not a share between 0 and 1", name, p)
		}
	}
	if f.RetryAfter < 0 || f.SlowDelay < 0 || f.ExpireEvery < 0 {
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
}

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
	swept    time.Time            // when Faults.ExpireEvery last ended every session
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
	s := &Server{
		cfg:      cfg,
		cameras:  make(map[preview.ESN]*camera),
		denied:   make(map[preview.ESN]bool),
		stats:    newStats(),
		tokens:   make(map[string]time.Time),
		sessions: make(map[string]time.Time),
		swept:    cfg.Now(),
	}
	for _, c := range cfg.Cameras {
		if err := s.addCamera(c); err != nil {
			return nil, err
		}
	}
	for _, id := range cfg.Denied {
		esn, err := preview.ParseESN(string(id))
		if err != nil {
			return nil, fmt.Errorf("eensim: denied camera: %w", err)
		}
		s.denied[esn] = true
	}
	s.routes()
	return s, nil
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
	m.HandleFunc("GET /_sim/stats", s.serveStats)
	s.mux = m
}

// chance reports true with probability p.
func chance(p float64) bool { return p > 0 && rand.Float64() < p }

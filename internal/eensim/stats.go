package eensim

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
)

// Stats counts requests per endpoint and camera, and answers per status.
type Stats struct {
	Requests map[string]map[string]int64 `json:"requests"` // endpoint → camera ("" for login calls) → count
	Status   map[string]int64            `json:"status"`   // HTTP status of image and list calls → count
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
}

func newStats() *stats {
	return &stats{requests: make(map[string]map[string]int64), statuses: make(map[string]int64)}
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
	out := Stats{Requests: make(map[string]map[string]int64), Status: maps.Clone(s.statuses)}
	for k, v := range s.requests {
		out.Requests[k] = maps.Clone(v)
	}
	return out
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.Stats())
}

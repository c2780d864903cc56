package eensim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

const tokenTTL = 30 * time.Second

// readFields takes JSON or form fields, as EEN does.
func readFields(r *http.Request) map[string]string {
	out := make(map[string]string)
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if json.NewDecoder(r.Body).Decode(&m) == nil {
			for k, v := range m {
				if s, ok := v.(string); ok {
					out[k] = s
				}
			}
		}
		return out
	}
	if r.ParseForm() == nil {
		for k := range r.PostForm {
			out[k] = r.PostForm.Get(k)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) {
	s.stats.count("authenticate", "")
	if !s.apiKeyOK(r) {
		http.Error(w, "missing or wrong API key", http.StatusForbidden)
		return
	}
	f := readFields(r)
	switch {
	case f["username"] == "" || f["password"] == "":
		http.Error(w, "username and password are required", http.StatusBadRequest)
		return
	case f["username"] != s.cfg.Username || f["password"] != s.cfg.Password:
		http.Error(w, "invalid credentials", http.StatusUnauthorized)
		return
	}
	token := randomHex(16)
	now := s.cfg.Now()
	s.mu.Lock()
	sweep(s.tokens, now, 64)
	s.tokens[token] = now.Add(tokenTTL)
	s.mu.Unlock()
	writeJSON(w, map[string]string{"token": token})
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	s.stats.count("authorize", "")
	if !s.apiKeyOK(r) {
		http.Error(w, "missing or wrong API key", http.StatusForbidden)
		return
	}
	token := readFields(r)["token"]
	now := s.cfg.Now()
	s.mu.Lock()
	exp, ok := s.tokens[token]
	delete(s.tokens, token) // single use, valid or not
	var key string
	if ok && now.Before(exp) {
		key = "c001~" + randomHex(16)
		sweep(s.sessions, now, 1024)
		s.sessions[key] = now.Add(s.cfg.SessionTTL)
	}
	s.mu.Unlock()
	if key == "" {
		http.Error(w, "invalid or used token", http.StatusUnauthorized)
		return
	}
	s.stats.count("login", "")
	http.SetCookie(w, &http.Cookie{Name: "auth_key", Value: key, Path: "/", HttpOnly: true})
	writeJSON(w, map[string]any{
		"user_id":                "sim00001",
		"first_name":             "Preview",
		"last_name":              "Proxy",
		"active_brand_subdomain": "c001",
		"is_view_preview_video":  1,
		"camera_access":          s.cameraAccess(),
	})
}

func (s *Server) cameraAccess() [][]string {
	var out [][]string
	for esn := range s.cameras {
		if !s.denied[esn] {
			out = append(out, []string{string(esn), "R"})
		}
	}
	return out
}

func (s *Server) twoFactor(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "two-factor login is not enabled for this user", http.StatusBadRequest)
}

func (s *Server) isAuth(w http.ResponseWriter, r *http.Request) {
	switch {
	case !s.apiKeyOK(r):
		http.Error(w, "missing or wrong API key", http.StatusForbidden)
	case !s.sessionOK(r):
		http.Error(w, "session invalid", http.StatusUnauthorized)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// access answers the API key and session checks of an image or list
// call: 0 when both pass, else the status to answer.
func (s *Server) access(r *http.Request) (int, string) {
	switch {
	case !s.apiKeyOK(r):
		return http.StatusForbidden, "missing or wrong API key"
	case !s.sessionOK(r):
		return http.StatusUnauthorized, "session invalid"
	}
	return 0, ""
}

// sweep drops expired entries once m holds more than limit, so keys that
// are never used again do not pile up.
func sweep(m map[string]time.Time, now time.Time, limit int) {
	if len(m) <= limit {
		return
	}
	for k, exp := range m {
		if !now.Before(exp) {
			delete(m, k)
		}
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if key := sessionKey(r); key != "" {
		s.mu.Lock()
		delete(s.sessions, key)
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// sessionKey reads the auth_key cookie or the A= parameter.
func sessionKey(r *http.Request) string {
	if c, err := r.Cookie("auth_key"); err == nil {
		return c.Value
	}
	return r.URL.Query().Get("A")
}

// sessionOK reports whether the request carries a live session, and
// extends the session: the timeout counts inactivity.
func (s *Server) sessionOK(r *http.Request) bool {
	key := sessionKey(r)
	now := s.cfg.Now()
	s.mu.Lock()
	s.expireDue(now)
	exp, ok := s.sessions[key]
	if ok && now.Before(exp) {
		s.sessions[key] = now.Add(s.cfg.SessionTTL)
	} else {
		delete(s.sessions, key)
		ok = false
	}
	s.mu.Unlock()
	return ok
}

// apiKeyOK reports whether the request carries the API key, if one is set.
func (s *Server) apiKeyOK(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	got := strings.TrimSuffix(r.Header.Get(s.cfg.KeyHeader), ":")
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.APIKey)) == 1
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

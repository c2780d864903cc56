package eensim

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

func TestLoginJSONAndForm(t *testing.T) {
	for _, form := range []bool{false, true} {
		h := newSim(t, nil).Handler()
		rec := post(h, "/g/aaa/authorize", map[string]string{"token": token(t, h, form)}, form)
		wantCode(t, rec, http.StatusOK)
		var u struct {
			Subdomain string     `json:"active_brand_subdomain"`
			UserID    string     `json:"user_id"`
			Access    [][]string `json:"camera_access"`
		}
		if err := json.NewDecoder(rec.Body).Decode(&u); err != nil {
			t.Fatal(err)
		}
		if u.Subdomain != "c001" || u.UserID == "" {
			t.Errorf("form=%v: user %+v", form, u)
		}
		for _, a := range u.Access {
			if a[0] == string(camDeny) {
				t.Errorf("camera_access lists the denied camera: %v", u.Access)
			}
		}
		if len(u.Access) != 3 {
			t.Errorf("camera_access = %v, want the 3 visible cameras", u.Access)
		}
		var key string
		for _, c := range rec.Result().Cookies() {
			if c.Name == "auth_key" {
				key = c.Value
			}
		}
		if !strings.HasPrefix(key, "c001~") || len(key) != len("c001~")+32 {
			t.Errorf("auth_key %q does not look like c001~<32 hex>", key)
		}
		wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusOK)
	}
}

func TestAuthenticateFailures(t *testing.T) {
	h := newSim(t, nil).Handler()
	for _, tc := range []struct {
		fields map[string]string
		code   int
	}{
		{map[string]string{"username": user, "password": "wrong"}, http.StatusUnauthorized},
		{map[string]string{"username": "someone@else", "password": password}, http.StatusUnauthorized},
		{map[string]string{"username": user}, http.StatusBadRequest},
		{map[string]string{}, http.StatusBadRequest},
	} {
		for _, form := range []bool{false, true} {
			rec := post(h, "/g/aaa/authenticate", tc.fields, form)
			if rec.Code != tc.code {
				t.Errorf("%v form=%v: %d, want %d", tc.fields, form, rec.Code, tc.code)
			}
		}
	}
	wantCode(t, post(h, "/g/aaa/two_factor_authenticate", nil, false), http.StatusBadRequest)
}

func TestTokenIsSingleUseAndExpires(t *testing.T) {
	s, clk := newClockSim(t, nil)
	h := s.Handler()
	tok := token(t, h, false)
	authorize(t, h, tok, false)
	wantCode(t, post(h, "/g/aaa/authorize", map[string]string{"token": tok}, false), http.StatusUnauthorized)
	wantCode(t, post(h, "/g/aaa/authorize", map[string]string{"token": "nope"}, false), http.StatusUnauthorized)

	old := token(t, h, false)
	clk.Advance(30 * time.Second)
	wantCode(t, post(h, "/g/aaa/authorize", map[string]string{"token": old}, true), http.StatusUnauthorized)
	authorize(t, h, token(t, h, false), false) // a fresh token still works
	if got := s.Stats().Total("login"); got != 2 {
		t.Errorf("logins = %d, want 2", got)
	}
}

func TestSessionCookieOrQueryParameter(t *testing.T) {
	h := newSim(t, nil).Handler()
	key := login(t, h)
	wantCode(t, get(h, "", imageURL("prev", camGate, "now")), http.StatusUnauthorized)
	wantCode(t, get(h, "c001~00000000000000000000000000000000", imageURL("prev", camGate, "now")), http.StatusUnauthorized)
	wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusOK)
	wantCode(t, get(h, "", imageURL("prev", camGate, "now")+"&A="+url.QueryEscape(key)), http.StatusOK)
	wantCode(t, get(h, key, "/g/aaa/isauth"), http.StatusOK)
	wantCode(t, get(h, "", "/g/aaa/isauth?A="+url.QueryEscape(key)), http.StatusOK)
	req := httptestRequest(http.MethodPost, "/g/aaa/logout", key)
	wantCode(t, serve(h, req), http.StatusNoContent)
	wantCode(t, get(h, key, "/g/aaa/isauth"), http.StatusUnauthorized)
	wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusUnauthorized)
}

func httptestRequest(method, target, key string) *http.Request {
	req, _ := http.NewRequest(method, target, nil)
	req.AddCookie(&http.Cookie{Name: "auth_key", Value: key})
	return req
}

func TestSessionTTLCountsInactivity(t *testing.T) {
	s, clk := newClockSim(t, func(c *Config) { c.SessionTTL = time.Minute })
	h := s.Handler()
	key := login(t, h)
	for range 3 { // each call extends the session
		clk.Advance(59 * time.Second)
		wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusOK)
	}
	clk.Advance(time.Minute)
	wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusUnauthorized)
	wantCode(t, get(h, key, "/g/aaa/isauth"), http.StatusUnauthorized)
	wantCode(t, get(h, login(t, h), imageURL("prev", camGate, "now")), http.StatusOK)
}

func TestExpireEveryAndExpireSessions(t *testing.T) {
	s, clk := newClockSim(t, func(c *Config) { c.Faults.ExpireEvery = 10 * time.Minute })
	h := s.Handler()
	key := login(t, h)
	clk.Advance(9 * time.Minute)
	wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusOK)
	clk.Advance(time.Minute)
	wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusUnauthorized)
	key = login(t, h)
	clk.Advance(5 * time.Minute)
	wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusOK)

	s.ExpireSessions()
	wantCode(t, get(h, key, imageURL("prev", camGate, "now")), http.StatusUnauthorized)
	if got := s.Stats().Status["401"]; got != 2 {
		t.Errorf("401s counted = %d, want 2", got)
	}
}

func TestAPIKey(t *testing.T) {
	for _, header := range []string{"", "Authorization"} {
		s := newSim(t, func(c *Config) { c.APIKey, c.KeyHeader = "k-123", header })
		h := s.Handler()
		header = cmp.Or(header, "Authentication")
		call := func(method, target, body, key, apiKey string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, target, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.AddCookie(&http.Cookie{Name: "auth_key", Value: key})
			}
			if apiKey != "" {
				req.Header.Set(header, apiKey)
			}
			return serve(h, req)
		}
		creds := `{"username":"` + user + `","password":"` + password + `"}`
		wantCode(t, call(http.MethodPost, "/g/aaa/authenticate", creds, "", ""), http.StatusForbidden)
		wantCode(t, call(http.MethodPost, "/g/aaa/authenticate", creds, "", "wrong:"), http.StatusForbidden)
		rec := call(http.MethodPost, "/g/aaa/authenticate", creds, "", "k-123:")
		wantCode(t, rec, http.StatusOK)
		var out struct{ Token string }
		json.NewDecoder(rec.Body).Decode(&out)
		wantCode(t, call(http.MethodPost, "/g/aaa/authorize", `{"token":"`+out.Token+`"}`, "", ""), http.StatusForbidden)
		rec = call(http.MethodPost, "/g/aaa/authorize", `{"token":"`+out.Token+`"}`, "", "k-123") // the ':' is optional
		wantCode(t, rec, http.StatusOK)
		key := rec.Result().Cookies()[0].Value

		wantCode(t, call(http.MethodGet, imageURL("prev", camGate, "now"), "", key, ""), http.StatusForbidden)
		wantCode(t, call(http.MethodGet, imageURL("prev", camGate, "now"), "", key, "k-123:"), http.StatusOK)
		if got := s.Stats().Status["403"]; got != 1 {
			t.Errorf("403s of image calls counted %d, want 1", got)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no user":         func(c *Config) { c.Username = "" },
		"no password":     func(c *Config) { c.Password = "" },
		"no renderer":     func(c *Config) { c.Renderer = nil },
		"fast interval":   func(c *Config) { c.Cameras[0].Interval = 100 * time.Millisecond },
		"slow interval":   func(c *Config) { c.Cameras[0].Interval = 17 * time.Second },
		"sub-millisecond": func(c *Config) { c.Cameras[0].Interval = time.Second / 3 },
		"bad esn":         func(c *Config) { c.Cameras[0].ESN = "1006073" },
		"duplicate":       func(c *Config) { c.Cameras[1].ESN = "1006073B" },
		"bad denied":      func(c *Config) { c.Denied = []preview.ESN{"xyz"} },
		"rate over 1":     func(c *Config) { c.Faults.Unavailable = 1.5 },
		"negative rate":   func(c *Config) { c.Faults.Redirect = -0.1 },
		"NaN rate":        func(c *Config) { c.Faults.Slow = math.NaN() },
		"negative delay":  func(c *Config) { c.Faults.SlowDelay = -time.Second },
	} {
		cfg := testConfig()
		mod(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	// Upper-case ids are normalised, like everywhere else.
	s := newSim(t, func(c *Config) { c.Cameras[0].ESN = "1006073B" })
	wantCode(t, get(s.Handler(), login(t, s.Handler()), imageURL("prev", "1006073B", "now")), http.StatusOK)
}

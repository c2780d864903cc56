package eensim

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults Faults
		code   int
		header string
		value  string
	}{
		{"unavailable", Faults{Unavailable: 1}, http.StatusServiceUnavailable, "", ""},
		{"rate limited", Faults{RateLimited: 1, RetryAfter: 2 * time.Second}, http.StatusTooManyRequests, "Retry-After", "2"},
		{"rate limited, default wait", Faults{RateLimited: 1}, http.StatusTooManyRequests, "Retry-After", "1"},
		{"rate limited, rounded up", Faults{RateLimited: 1, RetryAfter: 1500 * time.Millisecond}, http.StatusTooManyRequests, "Retry-After", "2"},
		{"redirect", Faults{Redirect: 1}, http.StatusMovedPermanently, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, func(c *Config) { c.Faults = tc.faults })
			h := s.Handler()
			key := login(t, h)
			for range 3 {
				rec := get(h, key, imageURL("prev", camGate, "now"))
				wantCode(t, rec, tc.code)
				if tc.header != "" && rec.Header().Get(tc.header) != tc.value {
					t.Errorf("%s = %q, want %q", tc.header, rec.Header().Get(tc.header), tc.value)
				}
			}
			if got := s.Stats().Status[strconv.Itoa(tc.code)]; got != 3 {
				t.Errorf("status %d counted %d times, want 3", tc.code, got)
			}
			// Faults need a session: an unauthorized call is still a 401.
			wantCode(t, get(h, "", imageURL("prev", camGate, "now")), http.StatusUnauthorized)
		})
	}
}

func TestRedirectKeepsTheQueryAndIsFollowable(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Faults.Redirect = 1 })
	h := s.Handler()
	key := login(t, h)
	rec := get(h, key, imageURL("prev", camGate, "now"))
	wantCode(t, rec, http.StatusMovedPermanently)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Path != "/asset/prev/image.jpeg" || loc.Query().Get("id") != string(camGate) || loc.Query().Get("archiver") == "" {
		t.Fatalf("Location %q: %v", rec.Header().Get("Location"), err)
	}
	wantCode(t, get(h, key, loc.String()), http.StatusOK)
	if got := s.Stats().Count("prev", string(camGate)); got != 2 {
		t.Errorf("prev requests = %d, want 2 (the 301 and the followed one)", got)
	}
}

func TestSlowFaultAnswersAfterTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, func(c *Config) { c.Faults.Slow, c.Faults.SlowDelay = 1, 5*time.Second })
		h := s.Handler()
		key := login(t, h)
		start := time.Now()
		rec := get(h, key, imageURL("prev", camGate, "now"))
		wantCode(t, rec, http.StatusOK)
		if waited := time.Since(start); waited != 5*time.Second {
			t.Errorf("slow answer after %s, want 5s", waited)
		}
	})
}

func TestStatsJSON(t *testing.T) {
	s := newSim(t, nil)
	h := s.Handler()
	key := login(t, h)
	post(h, "/g/aaa/authenticate", map[string]string{"username": user, "password": "bad"}, false)
	for range 2 {
		get(h, key, imageURL("prev", camGate, "now"))
	}
	get(h, key, imageURL("asset", camGate, "20250304050607.000"))
	get(h, key, imageURL("prev", camFast, "now"))
	get(h, key, imageURL("prev", camDeny, "now"))
	get(h, key, imageURL("prev", "xyz", "now"))
	get(h, "", imageURL("after", camGate, "now"))

	rec := get(h, "", "/_sim/stats")
	wantCode(t, rec, http.StatusOK)
	var st Stats
	if err := json.NewDecoder(rec.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	wantRequests := map[string]map[string]int64{
		"authenticate": {"": 2},
		"authorize":    {"": 1},
		"login":        {"": 1},
		"prev":         {string(camGate): 2, string(camFast): 1, string(camDeny): 1, "": 1},
		"asset":        {string(camGate): 1},
		"after":        {string(camGate): 1},
	}
	for ep, m := range wantRequests {
		if !maps.Equal(st.Requests[ep], m) {
			t.Errorf("requests[%s] = %v, want %v", ep, st.Requests[ep], m)
		}
	}
	wantStatus := map[string]int64{"200": 3, "404": 1, "403": 1, "400": 1, "401": 1}
	if !maps.Equal(st.Status, wantStatus) {
		t.Errorf("status = %v, want %v", st.Status, wantStatus)
	}
	if st.Total("prev") != 5 || st.Count("prev", string(camGate)) != 2 || s.Stats().Total("login") != 1 {
		t.Errorf("Total/Count disagree with the JSON: %+v", st)
	}
}

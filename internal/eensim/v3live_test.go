package eensim

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestLiveImageErrors(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	tok := signIn(t, h).AccessToken
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"deviceId=10000001&type=preview", http.StatusNotFound},
		{"deviceId=" + string(camDeny) + "&type=preview", http.StatusForbidden},
		{"deviceId=xyz&type=preview", http.StatusBadRequest},
		{"type=preview", http.StatusBadRequest},
		{"deviceId=" + string(camGate), http.StatusBadRequest},
		{"deviceId=" + string(camGate) + "&type=main", http.StatusBadRequest},
	} {
		apiError(t, bearer(h, tok, "/api/v3.0/media/liveImage.jpeg?"+tc.query), tc.code)
	}
	apiError(t, bearer(h, "", liveURL(camGate)), http.StatusUnauthorized)
	st := s.Stats()
	if st.Count("liveImage", "10000001") != 1 || st.Count("liveImage", string(camDeny)) != 1 || st.Total("liveImage") != 7 {
		t.Errorf("liveImage requests %v", st.Requests["liveImage"])
	}
	if st.Status["400"] != 4 || st.Status["404"] != 1 || st.Status["403"] != 1 || st.Status["401"] != 1 || st.OAuth.Unauthorized != 1 {
		t.Errorf("status %v, unauthorized %d", st.Status, st.OAuth.Unauthorized)
	}
}

func TestLiveImageFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults Faults
		code   int
		header string
		value  string
	}{
		{"unavailable", Faults{Unavailable: 1}, http.StatusServiceUnavailable, "", ""},
		{"rate limited", Faults{RateLimited: 1, RetryAfter: 2 * time.Second}, http.StatusTooManyRequests, "Retry-After", "2"},
		{"401 storm", Faults{Unauthorized: 1}, http.StatusUnauthorized, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, v3(func(c *Config) { c.Faults = tc.faults }))
			h := s.Handler()
			tok := signIn(t, h).AccessToken
			for range 3 {
				rec := bearer(h, tok, liveURL(camGate))
				apiError(t, rec, tc.code)
				if tc.header != "" && rec.Header().Get(tc.header) != tc.value {
					t.Errorf("%s = %q, want %q", tc.header, rec.Header().Get(tc.header), tc.value)
				}
			}
			if tc.code == http.StatusUnauthorized && s.Stats().OAuth.Unauthorized != 3 {
				t.Errorf("unauthorized = %d, want 3", s.Stats().OAuth.Unauthorized)
			}
		})
	}
}

// TestLiveImageIgnoresV1Faults: the v1 archiver redirect does not exist in
// v3; slow answers do.
func TestLiveImageIgnoresV1Faults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, v3(func(c *Config) { c.Faults = Faults{Redirect: 1, Slow: 1, SlowDelay: 5 * time.Second} }))
		h := s.Handler()
		tok := signIn(t, h).AccessToken
		start := time.Now()
		rec := bearer(h, tok, liveURL(camGate))
		wantCode(t, rec, http.StatusOK)
		if waited := time.Since(start); waited < 5*time.Second || waited > 6*time.Second {
			t.Errorf("slow answer after %s, want 5s and the wait for the next frame", waited)
		}
	})
}

// TestV3OverTheNetwork runs the whole v3 flow through a real server as a
// client does: authorize without following the redirect, exchange, the
// base URL from clientSettings, then liveImage on the real clock.
func TestV3OverTheNetwork(t *testing.T) {
	s := newSim(t, v3(nil))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(srv.URL + "/oauth2/authorize?" + authorizeQuery().Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirectURI}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	var a tokenAnswer
	if err := doJSON(hc, req, &a); err != nil {
		t.Fatal(err)
	}
	if host := srv.Listener.Addr().String(); net.JoinHostPort(a.BaseURL.Hostname, strconv.Itoa(a.BaseURL.Port)) != host {
		t.Errorf("httpsBaseUrl %+v, want the server's %s", a.BaseURL, host)
	}
	last := time.Time{}
	for range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+liveURL(camFast), nil)
		req.Header.Set("Authorization", "Bearer "+a.AccessToken)
		resp, err := hc.Do(req)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		at, err := time.Parse(time.RFC3339Nano, resp.Header.Get("X-Een-Timestamp"))
		if err != nil || resp.StatusCode != http.StatusOK || time.Now().Before(at) || !at.After(last) {
			t.Fatalf("liveImage %d at %s (%v) after %s, now %s", resp.StatusCode, at, err, last, time.Now())
		}
		last = at
	}
}

func doJSON(hc *http.Client, req *http.Request, v any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

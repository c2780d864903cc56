package eensim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestV3ConfigChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"id without secret", func(c *Config) { c.ClientID = "x" }, "both a client id and a client secret"},
		{"secret without id", func(c *Config) { c.ClientSecret = "x" }, "both a client id and a client secret"},
		{"relative redirect", v3(func(c *Config) { c.RedirectURIs = []string{"/cb"} }), "not an absolute http or https URL"},
		{"redirect with a fragment", v3(func(c *Config) { c.RedirectURIs = []string{"http://127.0.0.1:3333/#x"} }), "fragment"},
		{"other scheme", v3(func(c *Config) { c.RedirectURIs = []string{"ftp://127.0.0.1/"} }), "not an absolute http or https URL"},
		{"short token life", v3(func(c *Config) { c.AccessTokenTTL = 500 * time.Millisecond }), "under 1s"},
		{"page size", v3(func(c *Config) { c.CameraPageSize = -1 }), "page size"},
		{"API host", v3(func(c *Config) { c.APIHost = "host:99999" }), "API host"},
		{"API host with a path", v3(func(c *Config) { c.APIHost = "host/x" }), "API host"},
		{"401 share", v3(func(c *Config) { c.Faults.Unauthorized = 2 }), "unauthorized rate"},
		{"token 503 share", v3(func(c *Config) { c.Faults.TokenUnavailable = -0.1 }), "token-unavailable rate"},
		{"token delay", v3(func(c *Config) { c.Faults.TokenDelay = -time.Second }), "must not be negative"},
	} {
		cfg := testConfig()
		tc.mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	s := newSim(t, v3(nil))
	if c := s.cfg; !slices.Equal(c.RedirectURIs, []string{DefaultRedirectURI}) || c.AccessTokenTTL != time.Hour || c.CameraPageSize != 100 || c.TimestampLayout != TimestampEEN {
		t.Errorf("defaults %v %s %d %q", c.RedirectURIs, c.AccessTokenTTL, c.CameraPageSize, c.TimestampLayout)
	}
}

// TestV3StatsJSON pins the JSON names that other packages' tests read.
func TestV3StatsJSON(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	a := signIn(t, h)
	b := tokensOf(t, refresh(h, a.RefreshToken))
	refresh(h, a.RefreshToken) // reuse
	callToken(h, clientID, "wrong", nil)
	bearer(h, b.AccessToken, liveURL(camGate)) // 401: the reuse revoked b
	bearer(h, "", "/api/v3.0/cameras")

	rec := get(h, "", "/_sim/stats")
	wantCode(t, rec, http.StatusOK)
	var raw struct {
		Requests map[string]map[string]int64
		OAuth    map[string]json.RawMessage
	}
	if err := json.NewDecoder(strings.NewReader(rec.Body.String())).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"codes_issued": "1", "consents_denied": "0", "code_exchanges": "1", "refreshes": "1",
		"refresh_reuses": "1", "grants_revoked": "1", "unauthorized": "2",
		"token_errors": `{"invalid_client":1,"invalid_grant":1}`}
	for k, v := range want {
		if got := string(raw.OAuth[k]); got != v {
			t.Errorf("oauth.%s = %s, want %s", k, got, v)
		}
	}
	for ep, n := range map[string]int64{"oauth2/authorize": 1, "oauth2/token": 4, "liveImage": 1, "cameras": 1} {
		if got := raw.Requests[ep]; len(got) != 1 || (got[""] != n && got[string(camGate)] != n) {
			t.Errorf("requests[%s] = %v, want %d", ep, got, n)
		}
	}
	var st Stats
	json.NewDecoder(strings.NewReader(rec.Body.String())).Decode(&st)
	if st.OAuth.RefreshReuses != 1 || st.OAuth.TokenErrors["invalid_grant"] != 1 || st.Count("liveImage", string(camGate)) != 1 {
		t.Errorf("decoded stats %+v", st.OAuth)
	}
}

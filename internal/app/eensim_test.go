package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
)

// TestSimV3Settings: the defaults let a client sign in with no setting at
// all, and each v3 setting reaches the simulator.
func TestSimV3Settings(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600)
	for _, tc := range []struct {
		name  string
		vars  map[string]string
		check func(simConfig) bool
	}{
		{"defaults", nil, func(c simConfig) bool {
			return c.ClientID == "camrelay-demo" && c.ClientSecret == "demo-client-secret" && c.RedirectURIs[0] == "http://127.0.0.1:3333" &&
				c.AccessTokenTTL == time.Hour && c.CameraPageSize == 100 && !c.Faults.DenyConsent && c.TimestampLayout == ""
		}},
		{"set", map[string]string{"EEN_CLIENT_ID": "app", "EEN_CLIENT_SECRET_FILE": secretFile, "EEN_REDIRECT_URL": "http://127.0.0.1:9/cb",
			"EENSIM_ACCESS_TOKEN_TTL": "2s", "EENSIM_API_HOST": "api.c001.example:8443", "EENSIM_PAGE_SIZE": "3", "EENSIM_CONSENT": "deny",
			"EENSIM_TIMESTAMP_FORM": "z", "EENSIM_UNAUTHORIZED_RATE": "0.1", "EENSIM_TOKEN_FAIL_RATE": "0.2", "EENSIM_TOKEN_DELAY": "3s"},
			func(c simConfig) bool {
				f := c.Faults
				return c.ClientID == "app" && c.ClientSecret == "from-a-file" && c.RedirectURIs[0] == "http://127.0.0.1:9/cb" &&
					c.AccessTokenTTL == 2*time.Second && c.APIHost == "api.c001.example:8443" && c.CameraPageSize == 3 &&
					f.DenyConsent && c.TimestampLayout == eensim.TimestampZ && f.Unauthorized == 0.1 && f.TokenUnavailable == 0.2 && f.TokenDelay == 3*time.Second
			}},
	} {
		c, err := parseSimConfig(Env{Getenv: envOf(tc.vars), Stderr: &bytes.Buffer{}})
		if err != nil || !tc.check(c) {
			t.Errorf("%s: %v\n%+v", tc.name, err, c)
		}
	}
}

// TestSimV3DefaultsSignIn: the defaults make a working v3 simulator; sign
// in as a client would.
func TestSimV3DefaultsSignIn(t *testing.T) {
	c, _ := parseSimConfig(Env{Getenv: envOf(nil), Stderr: &bytes.Buffer{}})
	sim, err := newSimulator(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"client_id": {"camrelay-demo"}, "response_type": {"code"}, "scope": {"vms.all"}, "redirect_uri": {"http://127.0.0.1:3333"}}
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth2/authorize?"+q.Encode(), nil))
	loc, _ := url.Parse(rec.Header().Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:3333"}}
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("camrelay-demo", "demo-client-secret")
	rec = httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || sim.Stats().OAuth.CodeExchanges != 1 {
		t.Errorf("sign-in with the defaults: %d %s", rec.Code, rec.Body)
	}
}

// TestSimV3BadSettings: one line naming the setting each.
func TestSimV3BadSettings(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"EEN_REDIRECT_URL": "127.0.0.1:3333"}, `eensim: EEN_REDIRECT_URL: redirect URI "127.0.0.1:3333" is not an absolute http or https URL`},
		{map[string]string{"EENSIM_ACCESS_TOKEN_TTL": "500ms"}, "eensim: EENSIM_ACCESS_TOKEN_TTL: 500ms is under 1s (expires_in counts whole seconds)"},
		{map[string]string{"EENSIM_API_HOST": "h:0"}, `eensim: EENSIM_API_HOST: "h:0" has no valid port`},
		{map[string]string{"EENSIM_CONSENT": "yes"}, `eensim: EENSIM_CONSENT: "yes" is neither allow nor deny`},
		{map[string]string{"EENSIM_TIMESTAMP_FORM": "+0000"}, `eensim: EENSIM_TIMESTAMP_FORM: "+0000" is neither offset nor z`},
		{map[string]string{"EEN_CLIENT_SECRET": "a", "EEN_CLIENT_SECRET_FILE": "/nonexistent"}, "eensim: EEN_CLIENT_SECRET and EEN_CLIENT_SECRET_FILE are both set: set only one"},
	} {
		code, lines := runExit(t, simProg, tc.vars)
		if code != 2 || len(lines) != 2 || lines[0] != tc.want {
			t.Errorf("%v: exit %d:\n%s\nwant exit 2 and first line:\n%s", tc.vars, code, strings.Join(lines, "\n"), tc.want)
		}
	}
}

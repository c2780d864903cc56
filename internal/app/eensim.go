package app

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/settings"
)

// DemoCameras are the simulator's cameras when none are set.
const DemoCameras = "1006073b=Construction site,10060a2c=Ski slope@500ms,100b4f17=Shop front,1009c3de=Harbour@2s"

// simAbout is what eensim -h says of it.
const simAbout = `eensim simulates the Eagle Eye Networks APIs that camrelay uses, v1 and v3 on one port,
with real JPEG frames (640x360) showing each camera's id and the frame time.

v1: POST /g/aaa/authenticate and /g/aaa/authorize (JSON or form; single-use 30 s tokens;
auth_key cookie), GET /g/aaa/isauth, POST /g/aaa/logout,
GET /asset/{prev,next,asset,after}/image.jpeg?id=ESN&timestamp=now|YYYYMMDDhhmmss.mmm
(next long-polls until the camera's next frame), GET /asset/list/image.
v3: GET /oauth2/authorize (consent is automatic: a redirect with a code), POST /oauth2/token
(HTTP Basic client id and secret; authorization_code and refresh_token grants; refresh tokens
rotate, and a reused one revokes its whole grant), GET /api/v3.0/clientSettings,
GET /api/v3.0/cameras (paged), GET /api/v3.0/media/liveImage.jpeg?deviceId=ESN&type=preview
(waits for the camera's next frame).
GET /_sim/stats: request counts per endpoint and camera, answers per status, token counters;
POST /_sim/revoke ends every v3 grant, POST /_sim/expire-tokens every v3 access token.`

// simConfig is the simulator's configuration.
type simConfig struct {
	Addr     string
	Cameras  string
	Interval time.Duration
	Deny     string
	Redirect string // EEN_REDIRECT_URL: the one registered redirect URI
	Consent  string // allow | deny
	TSForm   string // offset | z
	eensim.Config
}

func parseSimConfig(env Env) (simConfig, error) {
	var c simConfig
	s := settings.New("eensim", env.Getenv, env.Stderr)
	s.Describe(simAbout)
	s.Addr(&c.Addr, "addr", "EENSIM_ADDR", defaultSimAddr, "listen address")
	s.String(&c.Cameras, "cameras", "CAMERAS", DemoCameras, "cameras: "+preview.CamerasSyntax+" (interval 250ms..16s; the grammar is in README.md, Settings)")
	s.Duration(&c.Interval, "interval", "EENSIM_INTERVAL", time.Second, "preview interval of cameras without their own")
	s.String(&c.Deny, "deny", "EENSIM_DENY", "", "cameras that exist but the user may not see (403): esn,...")
	s.String(&c.Username, "username", "EEN_USERNAME", "demo@example.com", "the login user name")
	s.Secret(&c.Password, "password", "EEN_PASSWORD", "the login password (default demo-password)")
	s.Secret(&c.APIKey, "api-key", "EEN_API_KEY", "require this API key on every call")
	s.String(&c.KeyHeader, "api-key-header", "EEN_API_KEY_HEADER", "Authentication", "header carrying the API key")
	s.Duration(&c.SessionTTL, "session-ttl", "EENSIM_SESSION_TTL", time.Hour, "a session ends after this long unused (401 after)")
	s.Float(&c.Faults.Unavailable, "fail-rate", "EENSIM_FAIL_RATE", 0, "share of image calls answered 503")
	s.Float(&c.Faults.RateLimited, "ratelimit-rate", "EENSIM_RATELIMIT_RATE", 0, "share of image calls answered 429 with Retry-After")
	s.Duration(&c.Faults.RetryAfter, "retry-after", "EENSIM_RETRY_AFTER", time.Second, "the Retry-After of injected 429s")
	s.Float(&c.Faults.Slow, "slow-rate", "EENSIM_SLOW_RATE", 0, "share of image calls answered late")
	s.Duration(&c.Faults.SlowDelay, "slow-delay", "EENSIM_SLOW_DELAY", 5*time.Second, "how late a slow answer is")
	s.Float(&c.Faults.Redirect, "redirect-rate", "EENSIM_REDIRECT_RATE", 0, "share of image calls answered 301 (moved to another archiver)")
	s.OptionalDuration(&c.Faults.ExpireEvery, "expire-every", "EENSIM_EXPIRE_EVERY", "end every session and v3 access token this often")
	bindSimV3(s, &c)
	err := parse(s, env.Args, func() {
		checkSimV3(s, &c)
		err := preview.CheckInterval(c.Interval)
		s.Check(err == nil, "EENSIM_INTERVAL: %v", err)
		cams, err := parseSimCameras(c.Cameras, c.Interval)
		s.Check(err == nil, "CAMERAS: %v", err)
		c.Config.Cameras = cams
		for id := range strings.SplitSeq(c.Deny, ",") {
			if id = strings.TrimSpace(id); id != "" {
				esn, err := preview.ParseESN(id)
				s.Check(err == nil, "EENSIM_DENY: %v", err)
				c.Denied = append(c.Denied, esn)
			}
		}
	})
	c.Password = cmp.Or(c.Password, "demo-password")
	c.ClientSecret = cmp.Or(c.ClientSecret, "demo-client-secret")
	return c, err
}

// bindSimV3 binds the v3 settings: the client's names are the fetcher's,
// so one set of variables configures both.
func bindSimV3(s *settings.Set, c *simConfig) {
	s.String(&c.ClientID, "client-id", "EEN_CLIENT_ID", "camrelay-demo", "the v3 OAuth2 client id")
	s.Secret(&c.ClientSecret, "client-secret", "EEN_CLIENT_SECRET", "the v3 OAuth2 client secret (default demo-client-secret)")
	s.String(&c.Redirect, "redirect-url", "EEN_REDIRECT_URL", eensim.DefaultRedirectURI, "the v3 redirect URI the client registered (compared exactly)")
	s.Duration(&c.AccessTokenTTL, "access-token-ttl", "EENSIM_ACCESS_TOKEN_TTL", time.Hour, "life of a v3 access token (at least 1s)")
	s.String(&c.APIHost, "api-host", "EENSIM_API_HOST", "", "httpsBaseUrl of token answers, host or host:port (default: the Host asked)")
	s.Int(&c.CameraPageSize, "page-size", "EENSIM_PAGE_SIZE", 100, "default and largest page of the v3 camera list")
	s.String(&c.TSForm, "timestamp-form", "EENSIM_TIMESTAMP_FORM", "offset", "X-Een-Timestamp ends in +00:00 (offset) or Z (z)")
	s.String(&c.Consent, "consent", "EENSIM_CONSENT", "allow", "v3 authorize: allow, or deny (redirect with error=access_denied)")
	s.Float(&c.Faults.Unauthorized, "unauthorized-rate", "EENSIM_UNAUTHORIZED_RATE", 0, "share of v3 API calls answered 401 with a valid token")
	s.Float(&c.Faults.TokenUnavailable, "token-fail-rate", "EENSIM_TOKEN_FAIL_RATE", 0, "share of token calls answered 503 (nothing rotated)")
	s.OptionalDuration(&c.Faults.TokenDelay, "token-delay", "EENSIM_TOKEN_DELAY", "the token endpoint answers this late, after rotating")
}

// checkSimV3 checks the v3 settings, one line per bad one.
func checkSimV3(s *settings.Set, c *simConfig) {
	err := eensim.CheckRedirectURI(c.Redirect)
	s.Check(err == nil, "EEN_REDIRECT_URL: %v", err)
	c.RedirectURIs = []string{c.Redirect}
	s.Check(c.AccessTokenTTL >= time.Second, "EENSIM_ACCESS_TOKEN_TTL: %s is under 1s (expires_in counts whole seconds)", c.AccessTokenTTL)
	if c.APIHost != "" {
		err := eensim.CheckAPIHost(c.APIHost)
		s.Check(err == nil, "EENSIM_API_HOST: %v", err)
	}
	s.Check(c.Consent == "allow" || c.Consent == "deny", "EENSIM_CONSENT: %q is neither allow nor deny", c.Consent)
	c.Faults.DenyConsent = c.Consent == "deny"
	s.Check(c.TSForm == "offset" || c.TSForm == "z", "EENSIM_TIMESTAMP_FORM: %q is neither offset nor z", c.TSForm)
	if c.TSForm == "z" {
		c.TimestampLayout = eensim.TimestampZ
	}
}

// parseSimCameras reads CAMERAS with the fetcher's parser; a camera
// without its own "@interval" gets def.
func parseSimCameras(list string, def time.Duration) ([]eensim.Camera, error) {
	cams, err := preview.ParseCameras(list)
	if err != nil {
		return nil, err
	}
	out := make([]eensim.Camera, len(cams))
	for i, c := range cams {
		out[i] = eensim.Camera{ESN: c.ESN, Name: c.Name, Interval: cmp.Or(c.Interval, def)}
	}
	return out, nil
}

// newSimulator builds the simulator with the frame renderer.
func newSimulator(cfg eensim.Config) (*eensim.Server, error) {
	r, err := framegen.New(640, 360)
	if err != nil {
		return nil, err
	}
	cfg.Renderer = r
	return eensim.New(cfg)
}

// RunSim is the eensim program: an EEN API simulator, v1 and v3.
func RunSim(ctx context.Context, env Env) error {
	c, err := parseSimConfig(env)
	if err != nil {
		return err
	}
	sim, err := newSimulator(c.Config)
	if err != nil {
		return err
	}
	ln, err := listen(env, "eensim", c.Addr)
	if err != nil {
		return fmt.Errorf("EENSIM_ADDR: %w", err)
	}
	fmt.Fprintf(env.Stdout, "eensim: EEN API simulator (v1 and v3) with %d cameras on %s (stats at /_sim/stats; v3 client %s, redirect %s)\n",
		len(c.Config.Cameras), httpURL(ln.Addr()), c.ClientID, c.Redirect)
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	return serve(ctx, srv, ln)
}

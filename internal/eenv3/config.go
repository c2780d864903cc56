package eenv3

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/een"
)

// Defaults of Config, as EEN's v3 documentation names them.
const (
	DefaultAuthURL     = "https://auth.eagleeyenetworks.com"
	DefaultRedirectURL = "http://127.0.0.1:3333"
	// DefaultAPIURL answers clientSettings when a token answer names no
	// account host and no BaseURL is configured.
	DefaultAPIURL = "https://api.eagleeyenetworks.com"
)

// Config is what Auth and Client need: one for the whole v3 upstream.
// Zero values take the defaults.
type Config struct {
	AuthURL      string // default DefaultAuthURL
	ClientID     string
	ClientSecret string // a credential: never logged, never in an error
	// RedirectURL is sent as redirect_uri exactly as written: EEN compares
	// it with the whitelisted one string for string.
	RedirectURL string // default DefaultRedirectURL
	// BaseURL, when set, is where every API call goes, whatever host the
	// token answer names (the simulator, tests, a proxy).
	BaseURL       string
	MaxImageBytes int64         // default 8 MiB
	PollTimeout   time.Duration // how long one API request may take (liveImage waits for the next image); default 30 s
	HTTPClient    *http.Client  // default: one with sane timeouts
}

// withDefaults returns cfg with the zero values filled in.
func (cfg Config) withDefaults() Config {
	cfg.AuthURL = strings.TrimRight(cmp.Or(cfg.AuthURL, DefaultAuthURL), "/")
	cfg.RedirectURL = cmp.Or(cfg.RedirectURL, DefaultRedirectURL)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.MaxImageBytes = cmp.Or(cfg.MaxImageBytes, 8<<20)
	cfg.PollTimeout = cmp.Or(cfg.PollTimeout, 30*time.Second)
	return cfg
}

// Validate checks cfg after defaults, with one clear error for the first
// bad value. It never quotes the secret.
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	if err := checkURL("auth URL", cfg.AuthURL); err != nil {
		return err
	}
	if err := checkURL("redirect URL", cfg.RedirectURL); err != nil {
		return err
	}
	if cfg.BaseURL != "" {
		if err := checkURL("base URL", cfg.BaseURL); err != nil {
			return err
		}
	}
	switch {
	case cfg.ClientID == "":
		return errors.New("een v3: the client id is required")
	case cfg.ClientSecret == "":
		return errors.New("een v3: the client secret is required")
	case cfg.MaxImageBytes < 0:
		return fmt.Errorf("een v3: the image size limit %d is negative", cfg.MaxImageBytes)
	case cfg.PollTimeout < 0:
		return fmt.Errorf("een v3: the poll timeout %s is negative", cfg.PollTimeout)
	}
	return nil
}

// checkURL accepts an absolute http(s) URL with a host, no user info and
// no fragment (RFC 6749 §3.1.2 forbids one in a redirect URI).
func checkURL(what, raw string) error {
	if strings.Contains(raw, "@") {
		// Refuse before quoting: user info may hold a password.
		return fmt.Errorf("een v3: %s must not hold a user name or password", what)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("een v3: %s %q is not an http(s) URL with a host", what, raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("een v3: %s %q must not have a #fragment", what, raw)
	}
	return nil
}

// httpClient is a copy of hc (or of a default one) that never follows a
// redirect: a token or code must not go anywhere it was not sent, and a
// redirected POST would be the token request sent again.
func httpClient(hc *http.Client) *http.Client {
	if hc == nil {
		hc = &http.Client{Transport: een.NewTransport()}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

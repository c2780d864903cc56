// Package een is a client for the Eagle Eye Networks v1 API as camrelay
// uses it: the two-step login, one shared session, and preview images.
package een

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultBaseURL is EEN's login host.
const DefaultBaseURL = "https://login.eagleeyenetworks.com"

// Config is what a Client needs. Zero values take the documented defaults.
type Config struct {
	BaseURL       string // default DefaultBaseURL
	Username      string
	Password      string
	APIKey        string        // sent only when set
	APIKeyHeader  string        // default "Authentication"
	MaxImageBytes int64         // default 8 MiB
	PollTimeout   time.Duration // how long a blocking next may wait; default 30 s
	HTTPClient    *http.Client  // default: one with sane timeouts
	// LoginRetry is how long no login is tried after EEN refused one; it
	// doubles at each refusal, up to 5 min. Default 2 s.
	LoginRetry time.Duration
}

// Client talks to EEN with one session shared by every caller. It is safe
// for concurrent use; a 401 seen by many callers at once causes one login.
type Client struct {
	cfg      Config
	hc       *http.Client
	override bool // base URL overridden: never switch to the brand host

	mu      sync.RWMutex
	host    string // where API calls go: the base or the brand host
	session string // the auth_key

	logins atomic.Int64
	group  singleflight.Group
	gate   *loginGate
}

// New checks cfg and returns a client; it does not log in yet.
func New(cfg Config) (*Client, error) {
	cfg.BaseURL = strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultBaseURL), "/")
	cfg.APIKeyHeader = cmp.Or(cfg.APIKeyHeader, "Authentication")
	cfg.MaxImageBytes = cmp.Or(cfg.MaxImageBytes, 8<<20)
	cfg.PollTimeout = cmp.Or(cfg.PollTimeout, 30*time.Second)
	cfg.LoginRetry = cmp.Or(cfg.LoginRetry, 2*time.Second)
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("een: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("een: username and password are required")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: NewTransport()}
	}
	// Redirects are followed by hand so the session goes along only to EEN's
	// own hosts (net/http drops the cookie on a cross-host redirect).
	hcCopy := *hc
	hcCopy.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		cfg:      cfg,
		hc:       &hcCopy,
		override: cfg.BaseURL != DefaultBaseURL,
		host:     cfg.BaseURL,
		gate:     newLoginGate(cfg.LoginRetry),
	}, nil
}

// NewTransport is the transport of a client for EEN's API when none is
// given: sane timeouts, and one long-poll per camera, so a connection per
// camera is kept idle between calls instead of dialling again each time.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   8192,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// CloseIdleConnections closes the connections kept for the next call. A
// stopping fetcher calls it: a connection dialled but never used keeps the
// server's graceful shutdown waiting for seconds.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Logins returns how many logins this client has made.
func (c *Client) Logins() int64 { return c.logins.Load() }

// LoginRefused returns EEN's refusal of the last login that was refused
// (it matches ErrLoginRefused), or nil when none was or a login succeeded
// since. It holds no credential: safe to log and show.
func (c *Client) LoginRefused() error { return c.gate.last() }

// Host returns where API calls currently go.
func (c *Client) Host() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.host
}

func (c *Client) currentSession() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.session
}

// ensureSession logs in unless a session newer than stale exists. Callers
// that saw a 401 with session stale share one login (single-flight); after
// a refused login they get the refusal until the gate lets one through.
func (c *Client) ensureSession(ctx context.Context, stale string) error {
	if s := c.currentSession(); s != "" && s != stale {
		return nil
	}
	if err := c.gate.check(time.Now()); err != nil {
		return err
	}
	ch := c.group.DoChan("login", func() (any, error) {
		if s := c.currentSession(); s != "" && s != stale {
			return nil, nil
		}
		if err := c.gate.check(time.Now()); err != nil {
			return nil, err
		}
		// The login belongs to every waiter, not just the first caller.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return nil, c.gate.record(c.login(lctx), time.Now())
	})
	// A waiter whose context ends stops waiting; the login goes on for
	// the others.
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return fmt.Errorf("een login: %w", context.Cause(ctx))
	}
}

// Login authenticates and authorizes now, replacing any session.
func (c *Client) Login(ctx context.Context) error {
	return c.ensureSession(ctx, c.currentSession())
}

// newRequest builds a request to EEN with the API key header when set.
func (c *Client) newRequest(ctx context.Context, method, rawURL string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.APIKey != "" {
		req.Header.Set(c.cfg.APIKeyHeader, c.cfg.APIKey+":")
	}
	req.Header.Set("User-Agent", "camrelay")
	return req, nil
}

// postJSON posts v and decodes a JSON answer into out; it returns the
// response's cookies for authorize.
func (c *Client) postJSON(ctx context.Context, op, path string, v, out any) ([]*http.Cookie, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, c.cfg.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("een %s: %w", op, redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &StatusError{Op: op, Code: resp.StatusCode, Wait: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return nil, fmt.Errorf("een %s: bad answer: %w", op, err)
	}
	return resp.Cookies(), nil
}

// redactURLError drops the URL from a transport error: it names only the
// path and query, but keep errors free of anything request-specific.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

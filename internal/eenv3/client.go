package eenv3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/preview"
)

// Tokens gives the Client its access tokens: the grant manager, which
// shares one token set between fetchers, implements it.
type Tokens interface {
	// Token returns a current token set.
	Token(ctx context.Context) (TokenSet, error)
	// Rejected says EEN answered 401 to stale's access token; it returns a
	// newer set, refreshing (once in the cluster) if no newer one exists.
	Rejected(ctx context.Context, stale TokenSet) (TokenSet, error)
}

// Client calls EEN's v3 API with the tokens Tokens gives it. It is safe
// for concurrent use.
type Client struct {
	cfg    Config
	hc     *http.Client
	tokens Tokens

	settings singleflight.Group
	mu       sync.Mutex
	settled  string // the base URL clientSettings named, once known
}

// New checks cfg and returns a client that takes its tokens from tokens.
func New(cfg Config, tokens Tokens) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tokens == nil {
		return nil, errors.New("een v3: a token source is required")
	}
	cfg = cfg.withDefaults()
	return &Client{cfg: cfg, hc: httpClient(cfg.HTTPClient), tokens: tokens}, nil
}

// CloseIdleConnections closes the connections kept for the next call. A
// stopping fetcher calls it: a connection dialled but never used keeps the
// server's graceful shutdown waiting for seconds.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// call is one API GET: what to ask, and how to read a 200 answer.
type call struct {
	op     string // "liveImage", "cameras", "clientSettings"
	path   string
	query  url.Values
	accept string
	// cause, when set, is what running past the poll timeout means.
	cause error
	// host returns where the call goes for a set; default Client.base.
	host func(context.Context, TokenSet) (string, error)
	read func(*http.Response) error
}

// do makes the call with the current access token, and once more with a
// newer one if EEN answers 401. An answer other than 200 is an
// *een.StatusError.
func (c *Client) do(ctx context.Context, k call) error {
	set, err := c.tokens.Token(ctx)
	if err != nil {
		return tokenErr(k.op, err)
	}
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, k, set)
		if een.StatusCode(err) != http.StatusUnauthorized || attempt > 0 {
			return err
		}
		if set, err = c.tokens.Rejected(ctx, set); err != nil {
			return tokenErr(k.op, err)
		}
	}
}

// tokenErr wraps a token source's failure. A lost grant or refused
// client matches preview.ErrLoginRefused too: the fetcher reports that
// once for the process, not once per camera.
func tokenErr(op string, err error) error {
	if errors.Is(err, ErrSignInNeeded) || errors.Is(err, ErrClientRejected) {
		return fmt.Errorf("een v3 %s: %w: %w", op, preview.ErrLoginRefused, err)
	}
	return fmt.Errorf("een v3 %s: access token: %w", op, err)
}

// once sends the call with set's access token and reads the answer.
func (c *Client) once(ctx context.Context, k call, set TokenSet) error {
	host := c.base
	if k.host != nil {
		host = k.host
	}
	base, err := host(ctx, set)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeoutCause(ctx, c.cfg.PollTimeout, k.cause)
	defer cancel()
	err = c.get(rctx, base, k, set.AccessToken)
	if err != nil && ctx.Err() == nil && k.cause != nil && errors.Is(context.Cause(rctx), k.cause) {
		return k.cause
	}
	return err
}

// get sends one GET to base and hands a 200 answer to k.read.
func (c *Client) get(ctx context.Context, base string, k call, access string) error {
	target := base + k.path
	if len(k.query) > 0 {
		target += "?" + k.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("een v3 %s: %w", k.op, redactURLError(err))
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Accept", k.accept)
	req.Header.Set("User-Agent", "camrelay")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("een v3 %s: %w", k.op, redactURLError(err))
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return &een.StatusError{Op: "v3 " + k.op, Code: resp.StatusCode, Wait: een.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return k.read(resp)
}

// base is where API calls go: the configured BaseURL, else the host the
// token answer named, else the one clientSettings names (asked once).
func (c *Client) base(ctx context.Context, set TokenSet) (string, error) {
	if c.cfg.BaseURL != "" {
		return c.cfg.BaseURL, nil
	}
	if set.BaseURL != "" {
		return set.BaseURL, nil
	}
	if b := c.settledBase(); b != "" {
		return b, nil
	}
	ch := c.settings.DoChan("base", func() (any, error) {
		// The answer serves every waiter, not only the first.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.PollTimeout)
		defer cancel()
		b, err := c.clientSettings(sctx, DefaultAPIURL, set.AccessToken)
		if err == nil {
			c.mu.Lock()
			c.settled = b
			c.mu.Unlock()
		}
		return b, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("een v3 clientSettings: %w", context.Cause(ctx))
	}
}

func (c *Client) settledBase() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settled
}

package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/settings"
)

// connectConfig is what "fetcher connect" reads: the fetcher's Redis and
// v3 client settings, and where and how long to wait for the sign-in.
type connectConfig struct {
	sharedConfig
	API     string
	V3      eenv3.Config
	Listen  string
	Timeout time.Duration
}

func parseConnectConfig(env Env) (connectConfig, error) {
	var c connectConfig
	s := settings.New("fetcher connect", env.Getenv, env.Stderr)
	s.Describe(`fetcher connect signs camrelay in to Eagle Eye Networks API v3 once: it prints a URL to
open in a browser, waits for EEN's redirect (or its address pasted here), and stores the token
set in Redis, where every fetcher takes it from. It reads the fetchers' settings.`)
	bindShared(s, &c.sharedConfig, defaultRedisURL, "Redis the fetchers use: the token set is stored there")
	bindV3(s, &c.API, &c.V3)
	s.Addr(&c.Listen, "listen", "EEN_CONNECT_LISTEN", "", "where to listen for EEN's redirect (default: the redirect URL's host and port; in a container 0.0.0.0:3333, published on the host's 127.0.0.1:3333)")
	s.Duration(&c.Timeout, "timeout", "EEN_CONNECT_TIMEOUT", eenv3.DefaultConnectTimeout, "how long to wait for the sign-in")
	err := parse(s, env.Args, func() {
		checkLogLevel(s, c.LogLevel)
		switch {
		case !checkAPI(s, c.API):
		case c.API != apiV3:
			s.Check(false, "EEN_API is %s: connect signs in to EEN API v3 (set EEN_API=v3)", c.API)
		default:
			checkV3(s, c.V3)
		}
	})
	return c, err
}

// RunConnect is "fetcher connect": the one sign-in of a v3 cluster.
func RunConnect(ctx context.Context, env Env) error {
	c, err := parseConnectConfig(env)
	if err != nil {
		return err
	}
	_, rdb, err := openRedis(env.Stderr, c.sharedConfig)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := redisstore.New(rdb, c.KeyPrefix)
	// Before anyone signs in: a token set that cannot be stored is lost.
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.Ping(pctx); err != nil {
		return fmt.Errorf("connect: Redis (REDIS_URL) does not answer: %v; nothing was asked of EEN", err)
	}
	auth, err := eenv3.NewAuth(c.V3)
	if err != nil {
		return badConfig(err)
	}
	defer auth.CloseIdleConnections()
	ln, err := connectListener(env, c)
	if err != nil {
		return err
	}
	opt := eenv3.ConnectOptions{Out: env.Stdout, Paste: env.Stdin, Timeout: c.Timeout, Listener: ln}
	set, err := connectAndStore(ctx, auth, store, opt)
	if err != nil {
		return connectFailure(err, c.Timeout)
	}
	fmt.Fprintf(env.Stdout, "Connected to EEN API v3%s: the token set is stored in Redis, and the fetchers use it within seconds.\n", apiHost(set))
	return nil
}

// connectListener listens where EEN's redirect comes: EEN_CONNECT_LISTEN,
// or the redirect URL's host and port. An https redirect URL (a proxy in
// front) needs EEN_CONNECT_LISTEN: Connect says so.
func connectListener(env Env, c connectConfig) (net.Listener, error) {
	if c.Listen != "" {
		ln, err := listen(env, "connect", c.Listen)
		if err != nil {
			return nil, fmt.Errorf("EEN_CONNECT_LISTEN: %w", err)
		}
		return ln, nil
	}
	u, err := url.Parse(c.V3.RedirectURL)
	if err != nil || u.Scheme != "http" {
		return nil, nil
	}
	ln, err := listen(env, "connect", net.JoinHostPort(u.Hostname(), cmp.Or(u.Port(), "80")))
	if err != nil {
		return nil, fmt.Errorf("EEN_REDIRECT_URL: %w (set EEN_CONNECT_LISTEN to listen elsewhere)", err)
	}
	return ln, nil
}

// connectAndStore runs the sign-in and stores the token set as a new
// grant, which running fetchers take up at their next look.
func connectAndStore(ctx context.Context, auth *eenv3.Auth, store *redisstore.Store, opt eenv3.ConnectOptions) (eenv3.TokenSet, error) {
	set, err := auth.Connect(ctx, opt)
	if err != nil {
		return eenv3.TokenSet{}, err
	}
	issued := time.Now()
	bo := backoff.Backoff{Min: 200 * time.Millisecond, Max: 5 * time.Second}
	giveUp := time.Now().Add(30 * time.Second)
	for {
		_, err := store.PutToken(ctx, set, issued)
		if err == nil {
			return set, nil
		}
		if time.Now().After(giveUp) || backoff.Sleep(ctx, bo.Next()) != nil {
			return eenv3.TokenSet{}, fmt.Errorf("%w: %v", errNotStored, err)
		}
	}
}

var errNotStored = errors.New("EEN signed camrelay in, but storing the token set in Redis failed")

// connectFailure is one clear line for each way a sign-in fails; none
// holds a secret (eenv3's errors never do).
func connectFailure(err error, timeout time.Duration) error {
	msg := strings.TrimPrefix(err.Error(), "een v3: ")
	switch {
	case errors.Is(err, errNotStored):
		return fmt.Errorf("connect: %v: run fetcher connect again", err)
	case errors.Is(err, eenv3.ErrConnectTimeout):
		return fmt.Errorf("connect: no sign-in answer within %s: nothing stored; run fetcher connect again (EEN_CONNECT_TIMEOUT sets the limit)", timeout)
	case errors.Is(err, eenv3.ErrStateMismatch):
		return errors.New("connect: the answer is not this sign-in's (its state does not match: an older link, or another sign-in's): nothing stored; run fetcher connect again and use the new link")
	case errors.Is(err, eenv3.ErrDenied):
		return fmt.Errorf("connect: %s: nothing stored", msg)
	case errors.Is(err, eenv3.ErrClientRejected):
		return errors.New("connect: EEN refused the client id or secret: check EEN_CLIENT_ID and EEN_CLIENT_SECRET; nothing stored")
	case errors.Is(err, context.Canceled):
		return errors.New("connect: interrupted: nothing stored")
	}
	return fmt.Errorf("connect: %s", msg)
}

// apiHost names the account's API host, when the sign-in named one.
func apiHost(set eenv3.TokenSet) string {
	if set.BaseURL == "" {
		return ""
	}
	return " (account API host " + strings.TrimPrefix(set.BaseURL, "https://") + ")"
}

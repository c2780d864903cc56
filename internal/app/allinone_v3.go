package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// The simulator's v3 client inside the all-in-one: it never leaves the
// process.
const (
	simClientID     = "camrelay-all-in-one"
	simClientSecret = "all-in-one-simulated-client-secret"
)

// simV3Client gives the simulator a v3 client whose redirect URL is a
// listener on a free loopback port, and returns that listener.
func simV3Client(env Env, cfg *eensim.Config) (net.Listener, error) {
	ln, err := listen(env, "connect", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.ClientID, cfg.ClientSecret = simClientID, simClientSecret
	cfg.RedirectURIs = []string{"http://" + ln.Addr().String()}
	return ln, nil
}

// ensureGrant gives the all-in-one's v3 fetcher a grant: on the simulator
// by signing in with no person (simIn is the redirect listener); on EEN,
// when Redis holds no usable token set and EEN_REFRESH_TOKEN is unset, by
// the sign-in "fetcher connect" runs.
func ensureGrant(ctx context.Context, env Env, c allConfig, store *redisstore.Store, simIn net.Listener, embedded bool, log *slog.Logger) error {
	auth, err := eenv3.NewAuth(c.V3)
	if err != nil {
		return badConfig(err)
	}
	defer auth.CloseIdleConnections()
	if simIn != nil {
		if _, err := connectAndStore(ctx, auth, store, eenv3.ConnectOptions{Listener: simIn, Timeout: 30 * time.Second, Visit: follow}); err != nil {
			return connectFailure(err, 30*time.Second)
		}
		log.Info("camrelay: signed in to the simulated EEN v3")
		return nil
	}
	if embedded {
		log.Warn("camrelay: the EEN v3 grant is kept in the embedded Redis and lasts only as long as this process: set REDIS_URL to keep it")
	}
	if c.RefreshToken != "" {
		return nil // the fetcher seeds it
	}
	if rec, err := store.ReadToken(ctx); err != nil || rec.Gen != 0 && rec.Lost == "" {
		return nil // a grant, or Redis trouble the fetcher reports
	}
	log.Info("camrelay: no EEN v3 grant in Redis: sign in now (or set EEN_REFRESH_TOKEN)")
	ln, err := connectListener(env, connectConfig{V3: c.V3})
	if err != nil {
		return err
	}
	if _, err := connectAndStore(ctx, auth, store, eenv3.ConnectOptions{Out: env.Stdout, Paste: env.Stdin, Listener: ln}); err != nil {
		return connectFailure(err, eenv3.DefaultConnectTimeout)
	}
	return nil
}

// follow is a browser for the simulator's automatic consent: it follows
// the authorization URL to the redirect listener. The listener's page
// does not matter: Connect knows the outcome.
func follow(ctx context.Context, authorizeURL string) error {
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return err
}

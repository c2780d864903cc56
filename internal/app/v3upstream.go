package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// Readiness kinds of a v3 fetcher, logged by the grant manager itself.
const (
	kindGrant  = "grant"
	kindClient = "client"
)

// v3Upstream is EEN's v3 API: the cluster's shared token set (the grant
// manager), the API client, and the camera names from the account.
type v3Upstream struct {
	*eenv3.Client
	auth  *eenv3.Auth
	grant *grantTokens
	seed  string      // EEN_REFRESH_TOKEN, "" when unset
	names *nameSource // nil when CAMERAS names every camera
	log   *slog.Logger
}

// newV3Upstream builds the v3 client over a grant manager; env's test
// seams shape the manager.
func newV3Upstream(env Env, c fetcherConfig, id string, store *redisstore.Store, log *slog.Logger, reg prometheus.Registerer) (upstream, fetcher.Store, error) {
	auth, err := eenv3.NewAuth(c.V3)
	if err != nil {
		return nil, nil, badConfig(err)
	}
	gc := grant.Config{Store: store, Refresh: auth.Refresh, Owner: id, Log: log, Registerer: reg, Hooks: env.GrantHooks}
	if env.GrantConfig != nil {
		env.GrantConfig(&gc)
	}
	m, err := grant.New(gc)
	if err != nil {
		return nil, nil, err
	}
	tokens := &grantTokens{m: m}
	client, err := eenv3.New(c.V3, tokens)
	if err != nil {
		return nil, nil, badConfig(err)
	}
	registerRefused(reg, "1 while EEN refuses this fetcher's v3 client id or secret.",
		func() bool { return errors.Is(m.Lost(), eenv3.ErrClientRejected) })
	u := &v3Upstream{Client: client, auth: auth, grant: tokens, seed: c.RefreshToken, log: log}
	var sink fetcher.Store = store
	if n := newNameSource(client, c.Cameras, store, log); n != nil {
		u.names, sink = n, namedStore{store, n}
	}
	return u, sink, nil
}

// Login checks that a usable access token is at hand.
func (u *v3Upstream) Login(ctx context.Context) error {
	_, err := u.grant.Token(ctx)
	return refusedErr(err)
}

// LoginRefused is non-nil while this fetcher cannot fetch for want of the
// grant or of its client's acceptance: the fetcher then stands aside.
// While the access token in hand still works, a lost grant does not stop
// it (readiness says so meanwhile): frames flow until it expires.
func (u *v3Upstream) LoginRefused() error {
	err := u.grant.m.Lost()
	if err == nil || time.Now().UnixNano() < u.grant.expiry.Load() {
		return nil
	}
	return refusedErr(err)
}

// refusedErr makes a lost grant or a refused client a refused login, as
// the fetcher knows it.
func refusedErr(err error) error {
	if errors.Is(err, eenv3.ErrSignInNeeded) || errors.Is(err, eenv3.ErrClientRejected) {
		return fmt.Errorf("%w: %w", preview.ErrLoginRefused, err)
	}
	return err
}

func (u *v3Upstream) refusal() (kind, reason string) {
	switch err := u.grant.m.Lost(); {
	case errors.Is(err, eenv3.ErrSignInNeeded):
		return kindGrant, "EEN v3 sign-in needed: run fetcher connect"
	case errors.Is(err, eenv3.ErrClientRejected):
		return kindClient, "EEN v3 refused the client id or secret: check EEN_CLIENT_ID and EEN_CLIENT_SECRET"
	}
	return "", ""
}

// run seeds the grant from EEN_REFRESH_TOKEN if set, then keeps the token
// set current; beside it, the camera names are kept up to date.
func (u *v3Upstream) run(ctx context.Context) {
	var wg sync.WaitGroup
	if u.names != nil {
		wg.Go(func() { u.names.loop(ctx) })
	}
	wg.Go(func() {
		u.seedGrant(ctx)
		u.grant.m.Run(ctx)
	})
	wg.Wait()
}

// seedGrant offers EEN_REFRESH_TOKEN to Redis, which takes it only when it
// holds no usable set and never took this token before, retrying while
// Redis does not answer.
func (u *v3Upstream) seedGrant(ctx context.Context) {
	if u.seed == "" {
		return
	}
	bo := backoff.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}
	seeded := false
	for {
		res, err := u.grant.m.Seed(ctx, u.seed)
		seeded = seeded || res == redisstore.Seeded
		if err == nil {
			u.noteSeed(res, seeded)
			return
		}
		if backoff.Sleep(ctx, bo.Next()) != nil {
			return
		}
	}
}

// noteSeed says what became of EEN_REFRESH_TOKEN (the grant manager says
// it was seeded).
func (u *v3Upstream) noteSeed(res redisstore.SeedResult, seeded bool) {
	switch {
	case seeded:
	case res == redisstore.SetPresent:
		u.log.Info("fetcher: Redis holds an EEN v3 token set: EEN_REFRESH_TOKEN not needed")
	case res == redisstore.SeedUsed:
		u.log.Info("fetcher: EEN_REFRESH_TOKEN was used once already and is never presented again: it can be removed")
	}
}

// CloseIdleConnections closes the API's and the token endpoint's.
func (u *v3Upstream) CloseIdleConnections() {
	u.Client.CloseIdleConnections()
	u.auth.CloseIdleConnections()
}

// grantTokens gives the v3 client the grant manager's tokens, and notes
// when the newest access token handed out expires.
type grantTokens struct {
	m      *grant.Manager
	expiry atomic.Int64 // Unix ns
}

func (g *grantTokens) Token(ctx context.Context) (eenv3.TokenSet, error) {
	return g.note(g.m.Token(ctx))
}

func (g *grantTokens) Rejected(ctx context.Context, stale eenv3.TokenSet) (eenv3.TokenSet, error) {
	set, err := g.note(g.m.Rejected(ctx, stale))
	if errors.Is(err, eenv3.ErrSignInNeeded) {
		// EEN refused the token in hand and no other will come: it is
		// of no use any more, whatever its expiry says.
		g.expiry.Store(0)
	}
	return set, err
}

func (g *grantTokens) note(set eenv3.TokenSet, err error) (eenv3.TokenSet, error) {
	if err == nil {
		g.expiry.Store(set.Expiry.UnixNano())
	}
	return set, err
}

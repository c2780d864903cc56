package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// upstream is a fetcher's EEN client, v1 or v3: where images come from,
// the login the fetcher checks, why readiness is refused, and what runs
// beside the fetcher.
type upstream interface {
	fetcher.Source
	fetcher.Credentials
	upstreamState
	// run runs what the client needs beside the fetcher until ctx ends.
	run(ctx context.Context)
	CloseIdleConnections()
}

// newUpstream builds the client EEN_API names, with its metrics on reg,
// and the store the fetcher publishes its cameras through.
func newUpstream(env Env, c fetcherConfig, id string, store *redisstore.Store, log *slog.Logger, reg prometheus.Registerer) (upstream, fetcher.Store, error) {
	if c.API == apiV3 {
		return newV3Upstream(env, c, id, store, log, reg)
	}
	client, err := een.New(c.EEN)
	if err != nil {
		return nil, nil, badConfig(err)
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "camrelay_een_logins_total", Help: "Logins to EEN (one per session; re-login after a 401).",
	}, func() float64 { return float64(client.Logins()) }))
	registerRefused(reg, "1 while EEN refuses the login (wrong password or API key, user locked or pending).",
		func() bool { return client.LoginRefused() != nil })
	return v1Upstream{client}, store, nil
}

// registerRefused registers camrelay_een_login_refused.
func registerRefused(reg prometheus.Registerer, help string, refused func() bool) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "camrelay_een_login_refused", Help: help},
		func() float64 {
			if refused() {
				return 1
			}
			return 0
		}))
}

// v1Upstream is EEN's v1 API: a user name and password, one session.
type v1Upstream struct{ *een.Client }

func (u v1Upstream) refusal() (kind, reason string) {
	if err := u.LoginRefused(); err != nil {
		// EEN's refusal is a status code: no credential in it.
		return "login", fmt.Sprintf("EEN refused the login (%v)", err)
	}
	return "", ""
}

func (v1Upstream) run(context.Context) {}

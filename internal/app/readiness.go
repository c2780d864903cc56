package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/redisstore"
)

// upstreamState is what readiness asks of the EEN client: why EEN does not
// let this fetcher fetch (kind names the cause for the log's change
// detection), or two empty strings. The reason never holds a credential.
type upstreamState interface {
	refusal() (kind, reason string)
}

// readiness is what a fetcher's /readyz answers: EEN accepts the login,
// Redis answers and takes its writes, and the cameras it leads store
// frames. Every check, a
// probe's or the loop's (every second, so the log does not depend on
// probes), keeps camrelay_fetcher_ready and logs a change of state once:
// ERROR when it stops being ready or the cause changes, INFO when it is
// ready again, however often the cause repeats underneath.
type readiness struct {
	store *redisstore.Store
	up    upstreamState
	f     *fetcher.Fetcher
	log   *slog.Logger
	ready prometheus.Gauge

	mu        sync.Mutex
	refusedAt time.Time // when a refused login was last seen
	was       string    // the kind of cause at the last check, "" when ready
	since     time.Time // when was began
	checks    uint64    // checks begun, numbering them
	noted     uint64    // the number of the check noted last
}

func newReadiness(store *redisstore.Store, up upstreamState, f *fetcher.Fetcher, log *slog.Logger, reg prometheus.Registerer) *readiness {
	r := &readiness{store: store, up: up, f: f, log: log, since: time.Now(),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{Name: "camrelay_fetcher_ready",
			Help: "1 while /readyz answers ready (checked every second)."})}
	reg.MustRegister(r.ready)
	return r
}

// check returns why the fetcher is not ready, or "" when it is. The
// reason never holds a credential.
func (r *readiness) check(ctx context.Context) string {
	seq, kind, reason := r.evaluate(ctx)
	if ctx.Err() == nil {
		r.note(seq, kind, reason)
	}
	return reason
}

// evaluate returns the check's number, the kind of cause and the reason,
// or two empty strings.
func (r *readiness) evaluate(ctx context.Context) (seq uint64, kind, reason string) {
	now := time.Now()
	r.mu.Lock()
	r.checks++
	seq = r.checks
	refusedKind, refused := r.up.refusal()
	if refusedKind != "" {
		r.refusedAt = now
	}
	// Frames could not flow while the login was refused: count from then.
	stalled := r.f.Stalled(now, r.refusedAt)
	r.mu.Unlock()
	if refusedKind != "" {
		return seq, refusedKind, refused
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := r.store.Ping(pctx); err != nil {
		return seq, "redis", "Redis not reachable"
	}
	if err := r.f.Unwritable(time.Now()); err != nil {
		return seq, "writes", err.Error()
	}
	if stalled != nil {
		return seq, "frames", stalled.Error()
	}
	return seq, "", ""
}

// note sets the gauge and logs a change of state. A probe's check and the
// loop's may overlap: one begun before the check noted last is stale, and
// noting it would log a change back and forth.
func (r *readiness) note(seq uint64, kind, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq < r.noted {
		return
	}
	r.noted = seq
	if kind == "" {
		r.ready.Set(1)
	} else {
		r.ready.Set(0)
	}
	if kind == r.was {
		return
	}
	switch {
	case kind == kindGrant || kind == kindClient:
		// The grant manager logs these itself, once: "EEN v3 sign-in
		// needed: run fetcher connect" is one line, not two.
	case kind != "":
		r.log.Error("fetcher: not ready", "reason", reason)
	default:
		r.log.Info("fetcher: ready again", "after", time.Since(r.since).Round(time.Millisecond))
	}
	r.was, r.since = kind, time.Now()
}

// run checks readiness every second until ctx ends.
func (r *readiness) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		r.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

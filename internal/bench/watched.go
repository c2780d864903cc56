package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// watchedSizes are the watched scenario's sizes: listed cameras, watched
// ones, SSE viewers of each, cold wake-ups timed, the measured windows,
// and the stack's WATCH_TTL and LOCK_TTL.
type watchedSizes struct {
	cams, watched, viewers, wakes int
	win, watchTTL, lockTTL        time.Duration
}

// watchedScenario runs fetchers with FETCH=watched over many listed
// cameras, few of them watched: upstream calls with none and with some
// watched, the Redis calls interest costs (the replicas' marks, the
// fetchers' reads of the marks), how fast a cold camera's still image
// comes, and how soon upstream calls stop once the last viewer leaves.
func watchedScenario(ctx context.Context, e *env) ([]Row, error) {
	z := watchedSizes{cams: e.sized(1000, 100), watched: e.sized(10, 4), viewers: e.sized(100, 10), wakes: e.sized(50, 10),
		win: e.window(10*time.Second, 2*time.Second), watchTTL: e.window(preview.DefaultWatchTTL, 2*time.Second),
		lockTTL: e.window(5*time.Second, 4*time.Second)}
	const interval = time.Second
	s, err := e.startStack(ctx, "watched", z.cams, interval, z.lockTTL)
	if err != nil {
		return nil, err
	}
	defer s.close()
	w := &watchedRun{s: s, e: e, z: z, interval: interval}
	if err := w.start(ctx); err != nil {
		return nil, err
	}
	var f watchedFigures
	if f.idle, err = w.asleepWindow(ctx); err != nil {
		return nil, err
	}
	var vs *viewers
	if f.busy, vs, err = w.watchedWindow(ctx); err != nil {
		return nil, err
	}
	var lastCall time.Time
	if f.stop, lastCall, err = w.timeToSleep(ctx, vs); err != nil {
		return nil, err
	}
	if f.wakes, f.failed, err = w.wakeUps(ctx); err != nil {
		return nil, err
	}
	f.afterWin = time.Since(lastCall)
	if f.after, err = w.callsSinceAsleep(ctx); err != nil {
		return nil, err
	}
	return w.rows(f), nil
}

// watchedFigures is what the scenario measured: the windows with no
// viewer and with viewers, the time from the last viewer to the last
// upstream call, the watched cameras' calls in afterWin after that (the
// wait for them to be asleep, and the wake-ups), and the wake-ups.
type watchedFigures struct {
	idle     idleFigures
	busy     busyFigures
	stop     time.Duration
	after    int64
	afterWin time.Duration
	wakes    []time.Duration
	failed   int
}

// watchedRun is one run of the watched scenario: its stack and what it
// needs between steps.
type watchedRun struct {
	s        *stack
	e        *env
	z        watchedSizes
	interval time.Duration
	admins   []string              // the replicas' admin host:port, for their metrics
	slept    map[preview.ESN]int64 // the watched cameras' upstream calls once asleep
}

// start adds 2 fetchers (FETCH=watched) and 2 replicas, and waits until
// every camera is asleep on both fetchers and listed by both replicas.
func (w *watchedRun) start(ctx context.Context) error {
	s, ttl := w.s, w.z.watchTTL.String()
	if _, err := s.AddFetchers(ctx, 2, map[string]string{"FETCH": "watched", "WATCH_TTL": ttl}); err != nil {
		return err
	}
	for range 2 {
		admin, err := testbed.FreeAddr()
		if err != nil {
			return err
		}
		streams := strconv.Itoa(w.z.watched*w.z.viewers + 100)
		if _, err := s.AddWeb(ctx, map[string]string{"WATCH_TTL": ttl, "ADMIN_ADDR": admin,
			"MAX_STREAMS": streams, "MAX_STREAMS_PER_CLIENT": streams}); err != nil {
			return err
		}
		w.admins = append(w.admins, admin)
	}
	// Settled too (each camera assigned once, by fetchers that know each
	// other): the reads of marks a new assignment brings are over.
	return testbed.Wait(ctx, time.Minute, "every camera asleep, assigned once and listed", func() bool {
		return w.asleep(ctx, s.cams, true) && s.listed(ctx)
	})
}

// asleep reports whether every fetcher has each of esns asleep, unled,
// and with assigned, whether each is assigned to one fetcher that every
// fetcher knows of.
func (w *watchedRun) asleep(ctx context.Context, esns []preview.ESN, assigned bool) bool {
	owners := make(map[preview.ESN]int)
	for _, p := range w.s.Fetchers {
		st := status(ctx, p)
		for _, esn := range esns {
			c, ok := st[esn]
			if !ok || c.State != "asleep" || c.Leading || assigned && c.Followers != len(w.s.Fetchers) {
				return false
			}
			if c.Assigned {
				owners[esn]++
			}
		}
	}
	for _, esn := range esns {
		if assigned && owners[esn] != 1 {
			return false
		}
	}
	return true
}

// idleFigures is what the window with no viewer measured, per second.
type idleFigures struct{ calls, pttl, redis float64 }

// asleepWindow measures, with no viewer, the upstream calls and the
// Redis calls (all, and the fetchers' PTTL reads of the watch marks).
func (w *watchedRun) asleepWindow(ctx context.Context) (idleFigures, error) {
	c0, err := w.sample(ctx)
	if err != nil {
		return idleFigures{}, err
	}
	if err := pause(ctx, w.z.win); err != nil { // the measured window
		return idleFigures{}, err
	}
	c1, err := w.sample(ctx)
	if err != nil {
		return idleFigures{}, err
	}
	secs := c1.at.Sub(c0.at).Seconds()
	f := idleFigures{calls: float64(sum(c1.calls)-sum(c0.calls)) / secs,
		pttl: float64(c1.redis["pttl"]-c0.redis["pttl"]) / secs, redis: float64(sum(c1.redis)-sum(c0.redis)) / secs}
	w.e.log("watched: nobody watching: %.1f upstream calls/s; Redis %.1f calls/s, %.1f of them PTTL", f.calls, f.redis, f.pttl)
	return f, nil
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sum[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// listed reports whether every replica lists every camera.
func (s *stack) listed(ctx context.Context) bool {
	for _, p := range s.Webs {
		var list []struct{}
		if err := testbed.GetJSON(ctx, "http://"+p.Addr("web")+"/api/cameras", &list); err != nil || len(list) != len(s.cams) {
			return false
		}
	}
	return true
}

// rows turns the measurements into the table's rows.
func (w *watchedRun) rows(f watchedFigures) []Row {
	z := w.z
	rate := 1 / w.interval.Seconds()
	want := float64(z.watched) * rate
	every := max(min(z.watchTTL/3, 5*time.Second), 100*time.Millisecond) // the replicas' mark interval (httpserver)
	check := max(min(z.watchTTL/4, 5*time.Second), 100*time.Millisecond) // the fetchers' reads of sleeping cameras' marks (fetcher)
	p99 := percentile(f.wakes, 99)
	return []Row{
		{Figure: fmt.Sprintf("upstream calls/s, %s cameras listed, none watched", num(float64(z.cams))),
			Camrelay: fmt.Sprintf("%.1f", f.idle.calls), Target: "0", Met: met(f.idle.calls == 0)},
		{Figure: fmt.Sprintf("upstream calls/s, %d watched by %d SSE viewers each on 2 replicas (the other %s)",
			z.watched, z.viewers, num(float64(z.cams-z.watched))),
			Camrelay: fmt.Sprintf("%.1f (%.1f)", f.busy.calls, f.busy.others),
			Target:   fmt.Sprintf("≈ %d × %.0f frame/s = %.0f (0); FETCH=always: %s", z.watched, rate, want, num(float64(z.cams)*rate)),
			Met:      met(f.busy.others == 0 && f.busy.calls <= 1.15*want && f.busy.calls >= 0.85*want)},
		{Figure: fmt.Sprintf("interest marks/s from 2 replicas (each 1 EVALSHA + 1 SET), %s viewers", num(float64(z.watched*z.viewers))),
			Camrelay: fmt.Sprintf("%.2f", f.busy.marks),
			Target:   fmt.Sprintf("≈ %d cameras × 2 ÷ %s = %.1f", z.watched, every.Round(time.Millisecond), float64(2*z.watched)/every.Seconds())},
		{Figure: fmt.Sprintf("fetchers' watch-mark reads (PTTL)/s, %s cameras asleep; all Redis calls/s", num(float64(z.cams))),
			Camrelay: fmt.Sprintf("%.0f; %.0f", f.idle.pttl, f.idle.redis),
			Target:   fmt.Sprintf("≈ %s ÷ %s = %.0f", num(float64(z.cams)), check, float64(z.cams)/check.Seconds())},
		{Figure: fmt.Sprintf("cold camera: still request → its first image, p50 / p99 (%d wake-ups, %d not 200)", len(f.wakes), f.failed),
			Camrelay: ms(percentile(f.wakes, 50)) + " / " + ms(p99), Target: "p99 ≤ 1.5 s", Met: met(p99 <= 1500*time.Millisecond && f.failed == 0)},
		{Figure: fmt.Sprintf("last viewer leaves → last upstream call (WATCH_TTL %s, LOCK_TTL %s); calls in the %.0f s after it",
			z.watchTTL, z.lockTTL, f.afterWin.Seconds()),
			Camrelay: fmt.Sprintf("%.1f s; %d", f.stop.Seconds(), f.after), Target: fmt.Sprintf("≤ %s; 0", z.watchTTL+z.lockTTL),
			Met: met(f.stop <= z.watchTTL+z.lockTTL && f.after == 0)},
	}
}

package fetcher

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// Reasons a lead ends, as the cause of its context.
var (
	errHandover = errors.New("camera reassigned to another fetcher")
	errExpired  = errors.New("lock not refreshed in time")
	errAside    = errors.New("EEN refuses the login: stepping aside")
)

// cameraLoop competes for the camera's lock and follows it while leading.
// The fetcher the camera is assigned to takes it as soon as the lock is
// free; any other fetcher takes it only if it stays free for a whole lock
// TTL (its owner is not taking it), so cameras never stay orphaned. A
// camera followed only while watched is left alone while it sleeps.
func (f *Fetcher) cameraLoop(ctx context.Context, cam preview.Camera) {
	c := &campaign{f: f, cam: cam,
		errs:      backoff.Backoff{Min: 100 * time.Millisecond, Max: f.cfg.LockTTL},
		waitOwned: backoff.Backoff{Min: 100 * time.Millisecond, Max: f.cfg.LockTTL / 2}}
	for ctx.Err() == nil {
		follow, woke := f.interest.get(cam.ESN)
		if !follow {
			c.freeBefore = false
			f.sleep(ctx, woke)
			continue
		}
		c.step(ctx, woke)
	}
}

// campaign is one camera's competition for its lock.
type campaign struct {
	f               *Fetcher
	cam             preview.Camera
	errs, waitOwned backoff.Backoff
	freeBefore      bool // not ours, and its lock was free a lock TTL ago
	failing         bool // lock calls fail: reported once, not at each retry
}

// step takes the lock and leads when the camera is ours (or orphaned),
// else waits for the next look: the view changing, the camera falling
// asleep (woke is closed) or the lock's state.
func (c *campaign) step(ctx context.Context, woke <-chan struct{}) {
	f := c.f
	mine, known, aside, changed := f.view.get(c.cam.ESN)
	c.freeBefore = c.freeBefore && !aside
	if mine || c.freeBefore {
		lease, err := f.locks.Obtain(ctx, c.cam.ESN, f.cfg.LockTTL)
		switch {
		case err == nil:
			c.errs.Reset()
			c.waitOwned.Reset()
			c.failing, c.freeBefore = false, false
			f.lead(ctx, c.cam, lease)
			return
		case !errors.Is(err, preview.ErrLockLost):
			c.failed(ctx, err)
			return
		}
	}
	left, err := f.locks.TTL(ctx, c.cam.ESN)
	if err != nil {
		c.failed(ctx, err)
		return
	}
	c.errs.Reset()
	c.failing = false
	// Ours but held by another: its holder hands it over or dies soon;
	// look again no later than the moment its lock expires.
	wait := min(c.waitOwned.Next(), left+20*time.Millisecond)
	if !mine {
		c.waitOwned.Reset()
		c.freeBefore = known && !aside && left == 0 && f.markLive(ctx, c.cam)
		wait = backoff.Jitter(f.cfg.LockTTL)
	}
	select {
	case <-ctx.Done():
	case <-changed:
		c.waitOwned.Reset()
	case <-woke: // asleep now
	case <-time.After(wait):
	}
}

// failed reports a failed lock call and backs off.
func (c *campaign) failed(ctx context.Context, err error) {
	c.f.lockError(ctx, c.cam.ESN, err, &c.failing)
	backoff.Sleep(ctx, c.errs.Next())
}

// lockError reports the first failed lock call of a streak; the retries
// that follow (every camera's, at each backoff step, while Redis is down)
// go to debug, so an outage is not a flood of warnings.
func (f *Fetcher) lockError(ctx context.Context, esn preview.ESN, err error, failing *bool) {
	switch {
	case ctx.Err() != nil:
	case *failing:
		f.log.Debug("fetcher: camera lock call failed again", "camera", esn, "err", err)
	default:
		*failing = true
		f.log.Warn("fetcher: camera lock calls failing; retrying with backoff", "camera", esn, "err", err)
	}
}

// lead follows the camera for as long as the lease holds and the camera
// stays assigned here, then releases the lock.
func (f *Fetcher) lead(ctx context.Context, cam preview.Camera, lease preview.Lease) {
	f.log.Info("fetcher: leading camera", "camera", cam.ESN)
	f.setLeading(cam.ESN, true)
	if cam.Watched {
		f.metrics.wakeups.WithLabelValues(string(cam.ESN)).Inc()
	}
	f.TestSignals.LeadGained.Signal(cam.ESN)
	leadCtx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { f.keepLease(leadCtx, cancel, lease) })
	wg.Go(func() { f.watchAssignment(leadCtx, cancel, cam.ESN) })
	if cam.Watched {
		wg.Go(func() { f.keepWatched(leadCtx, cancel, cam.ESN) })
	}
	f.follow(leadCtx, cam, lease.Fence())
	cancel(nil)
	wg.Wait()
	f.setLeading(cam.ESN, false)
	// Release even when ctx is done (shutdown), so a peer takes over now.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer rcancel()
	if err := lease.Release(rctx); err != nil {
		f.log.Warn("fetcher: releasing camera lock failed", "camera", cam.ESN, "err", err)
	}
	cause := context.Cause(leadCtx)
	f.log.Info("fetcher: stopped leading camera", "camera", cam.ESN, "cause", cause)
	if errors.Is(cause, errHandover) {
		f.metrics.handovers.Inc()
	}
	f.TestSignals.LeadLost.Signal(LeadLost{ESN: cam.ESN, Cause: cause})
}

func (f *Fetcher) setLeading(esn preview.ESN, on bool) {
	f.update(esn, func(s *CameraState) {
		s.Leading, s.LeadingSince = on, time.Time{}
		if on {
			s.LeadingSince = time.Now()
		}
	})
	v := 0.0
	if on {
		v = 1
	}
	f.metrics.leading.WithLabelValues(string(esn)).Set(v)
}

// keepLease refreshes the lease every third of its TTL. The lead is
// trusted only until the last successful refresh + TTL − a margin: past
// that, or when the lock is gone, the lead ends at once.
func (f *Fetcher) keepLease(ctx context.Context, cancel context.CancelCauseFunc, lease preview.Lease) {
	ttl := f.cfg.LockTTL
	margin := ttl / 5
	watchdog := time.AfterFunc(ttl-margin, func() { cancel(errExpired) })
	defer watchdog.Stop()
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		rctx, rcancel := context.WithTimeout(ctx, ttl/3)
		err := lease.Refresh(rctx, ttl)
		rcancel()
		switch {
		case errors.Is(err, preview.ErrLockLost):
			cancel(preview.ErrLockLost)
			return
		case err != nil:
			f.metrics.refreshFailures.Inc()
			continue // the watchdog ends the lead if this lasts
		}
		watchdog.Reset(time.Until(start.Add(ttl - margin)))
	}
}

// watchAssignment ends the lead when the camera is assigned to another
// fetcher, at the pace of the handover limiter, or at once when this
// fetcher stands aside (it cannot fetch).
func (f *Fetcher) watchAssignment(ctx context.Context, cancel context.CancelCauseFunc, esn preview.ESN) {
	for {
		mine, known, aside, changed := f.view.get(esn)
		if aside {
			cancel(errAside)
			return
		}
		if known && !mine {
			if f.pace.wait(ctx) != nil {
				return
			}
			if mine, _, _, _ := f.view.get(esn); !mine {
				cancel(errHandover)
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

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
	errs := backoff.Backoff{Min: 100 * time.Millisecond, Max: f.cfg.LockTTL}
	waitOwned := backoff.Backoff{Min: 100 * time.Millisecond, Max: f.cfg.LockTTL / 2}
	freeBefore := false
	failing := false // lock calls fail: reported once, not at each retry
	for ctx.Err() == nil {
		follow, woke := f.interest.get(cam.ESN)
		if !follow {
			freeBefore = false
			f.sleep(ctx, woke)
			continue
		}
		mine, known, aside, changed := f.view.get(cam.ESN)
		freeBefore = freeBefore && !aside
		if mine || freeBefore {
			lease, err := f.locks.Obtain(ctx, cam.ESN, f.cfg.LockTTL)
			switch {
			case err == nil:
				errs.Reset()
				failing = false
				waitOwned.Reset()
				freeBefore = false
				f.lead(ctx, cam, lease)
				continue
			case !errors.Is(err, preview.ErrLockLost):
				f.lockError(ctx, cam.ESN, err, &failing)
				backoff.Sleep(ctx, errs.Next())
				continue
			}
		}
		left, err := f.locks.TTL(ctx, cam.ESN)
		if err != nil {
			f.lockError(ctx, cam.ESN, err, &failing)
			backoff.Sleep(ctx, errs.Next())
			continue
		}
		errs.Reset()
		failing = false
		// Ours but held by another: its holder hands it over or dies soon;
		// look again no later than the moment its lock expires.
		wait := min(waitOwned.Next(), left+20*time.Millisecond)
		if !mine {
			waitOwned.Reset()
			freeBefore = known && !aside && left == 0 && f.markLive(ctx, cam)
			wait = backoff.Jitter(f.cfg.LockTTL)
		}
		select {
		case <-ctx.Done():
		case <-changed:
			waitOwned.Reset()
		case <-woke: // asleep now
		case <-time.After(wait):
		}
	}
}

// sleep waits, taking no lock and calling no upstream, until someone
// watches the camera (woke is closed) or ctx ends.
func (f *Fetcher) sleep(ctx context.Context, woke <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-woke:
	}
}

// markLive reads the watch mark of a camera followed only while watched,
// before this fetcher takes it though it is not its owner: a belief that
// it is watched may be as old as a check period, and a sleeping camera's
// lock is free for good reason. Pinned cameras need no mark.
func (f *Fetcher) markLive(ctx context.Context, cam preview.Camera) bool {
	if !cam.Watched {
		return true
	}
	seq := f.interest.seq(cam.ESN)
	ttls, err := f.store.WatchTTLs(ctx, []preview.ESN{cam.ESN})
	if err != nil {
		return false // look again at the next poll
	}
	f.setWatched(cam.ESN, seq, ttls[0] > 0)
	return ttls[0] > 0
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

package fetcher

import (
	"context"
	"errors"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// cameraLoop competes for the camera's lock and follows it while leading.
func (f *Fetcher) cameraLoop(ctx context.Context, cam preview.Camera) {
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: f.cfg.LockTTL}
	for ctx.Err() == nil {
		lease, err := f.locks.Obtain(ctx, cam.ESN, f.cfg.LockTTL)
		switch {
		case errors.Is(err, preview.ErrLockLost):
			// Another fetcher leads; look again well within its lock's TTL.
			backoff.Sleep(ctx, backoff.Jitter(f.cfg.LockTTL/3))
			continue
		case err != nil:
			if ctx.Err() == nil {
				f.log.Warn("fetcher: taking camera lock failed", "camera", cam.ESN, "err", err)
			}
			backoff.Sleep(ctx, bo.Next())
			continue
		}
		bo.Reset()
		f.lead(ctx, cam, lease)
	}
}

// lead follows the camera for as long as the lease holds, then releases it.
func (f *Fetcher) lead(ctx context.Context, cam preview.Camera, lease preview.Lease) {
	f.log.Info("fetcher: leading camera", "camera", cam.ESN)
	f.update(cam.ESN, func(s *CameraState) { s.Leading = true })
	leadCtx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.keepLease(leadCtx, cancel, lease)
	}()
	f.follow(leadCtx, cam, lease.Fence())
	cancel(nil)
	<-done
	f.update(cam.ESN, func(s *CameraState) { s.Leading = false })
	// Release even when ctx is done (shutdown), so a peer takes over now.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer rcancel()
	if err := lease.Release(rctx); err != nil {
		f.log.Warn("fetcher: releasing camera lock failed", "camera", cam.ESN, "err", err)
	}
	f.log.Info("fetcher: stopped leading camera", "camera", cam.ESN, "cause", context.Cause(leadCtx))
}

// keepLease refreshes the lease every third of its TTL. The lead is
// trusted only until the last successful refresh + TTL − a margin: past
// that, or when the lock is gone, the lead ends at once.
func (f *Fetcher) keepLease(ctx context.Context, cancel context.CancelCauseFunc, lease preview.Lease) {
	ttl := f.cfg.LockTTL
	margin := ttl / 5
	watchdog := time.AfterFunc(ttl-margin, func() { cancel(errors.New("lock not refreshed in time")) })
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
			// Keep trying; the watchdog ends the lead if this lasts.
			continue
		}
		watchdog.Reset(time.Until(start.Add(ttl - margin)))
	}
}

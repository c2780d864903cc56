package fetcher

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// ErrAsleep ends a lead when nobody watches the camera any more.
var ErrAsleep = errors.New("nobody watches the camera: going to sleep")

// checkEvery is how often the watch marks of cameras not led here are
// read, in case a wake notice was lost (pub/sub does not queue): a quarter
// of WATCH_TTL, between 100 ms and 5 s.
func (f *Fetcher) checkEvery() time.Duration {
	return min(max(f.cfg.WatchTTL/4, 100*time.Millisecond), 5*time.Second)
}

// wakeLoop hears the wake notices web replicas publish when someone starts
// watching a camera, so that it is followed at once; after each
// (re)subscription it has the marks read, for the notices it missed.
func (f *Fetcher) wakeLoop(ctx context.Context) {
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: f.cfg.LockTTL}
	for ctx.Err() == nil {
		var up atomic.Bool
		err := f.store.Wakes(ctx, f.noticed, func() {
			up.Store(true)
			select {
			case f.recheck <- struct{}{}:
			default:
			}
		})
		if ctx.Err() != nil {
			return
		}
		f.log.Warn("fetcher: wake notices ended; subscribing again", "err", err)
		if up.Load() {
			// It worked until now: a new failure (a Redis failover, say)
			// starts from the shortest wait, not where the last outage left it.
			bo.Reset()
		}
		backoff.Sleep(ctx, bo.Next())
	}
}

// noticed takes a wake notice. It runs on the subscription's reader and
// does not block.
func (f *Fetcher) noticed(esn preview.ESN) {
	if f.interest.notice(esn) {
		f.showState(esn)
		f.TestSignals.Woken.Signal(esn)
	}
}

// marksLoop reads the watch marks of the cameras this fetcher would wake
// (assigned here, or believed watched) and does not lead: every
// checkEvery, after each (re)subscription to the wake notices, and when
// the assignment changes (a failed-over camera wakes on its new owner).
func (f *Fetcher) marksLoop(ctx context.Context) {
	t := time.NewTicker(f.checkEvery())
	defer t.Stop()
	failing := false
	for {
		changed := f.view.changes()
		f.checkMarks(ctx, &failing)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.recheck:
		case <-changed:
		}
	}
}

// checkMarks reads the marks of the cameras marksLoop watches, in one
// pipeline, and wakes or puts to sleep those whose mark says otherwise.
func (f *Fetcher) checkMarks(ctx context.Context, failing *bool) {
	esns, seqs := f.toCheck()
	if len(esns) > 0 {
		cctx, cancel := context.WithTimeout(ctx, f.checkEvery())
		ttls, err := f.store.WatchTTLs(cctx, esns)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			if !*failing {
				f.log.Warn("fetcher: reading watch marks failed; retrying", "err", err)
			}
			*failing = true
			return
		case err != nil:
			return
		}
		*failing = false
		for i, esn := range esns {
			f.setWatched(esn, seqs[i], ttls[i] > 0)
		}
	}
	f.TestSignals.MarksChecked.Signal(len(esns))
}

// toCheck lists the cameras whose marks checkMarks reads, with their
// counts of wake notices.
func (f *Fetcher) toCheck() ([]preview.ESN, []uint64) {
	var esns []preview.ESN
	var seqs []uint64
	for _, c := range f.cfg.Cameras {
		if !c.Watched {
			continue
		}
		seq := f.interest.seq(c.ESN)
		mine, _, _, _ := f.view.get(c.ESN)
		watched, _ := f.interest.get(c.ESN)
		f.mu.Lock()
		leading := f.state[c.ESN].Leading
		f.mu.Unlock()
		if !leading && (mine || watched) {
			esns, seqs = append(esns, c.ESN), append(seqs, seq)
		}
	}
	return esns, seqs
}

// setWatched records a read of the camera's mark.
func (f *Fetcher) setWatched(esn preview.ESN, seq uint64, watched bool) {
	if !f.interest.set(esn, seq, watched) {
		return
	}
	f.showState(esn)
	if watched {
		f.TestSignals.Woken.Signal(esn)
	}
}

// keepWatched ends the lead of a camera followed only while watched once
// its mark is gone, reading it at each third of the lock TTL (with the
// lock's refresh), never per frame. A failed read changes nothing: the
// lock's refresh deals with Redis trouble.
func (f *Fetcher) keepWatched(ctx context.Context, cancel context.CancelCauseFunc, esn preview.ESN) {
	tick := time.NewTicker(f.cfg.LockTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		seq := f.interest.seq(esn)
		rctx, rcancel := context.WithTimeout(ctx, f.cfg.LockTTL/3)
		ttls, err := f.store.WatchTTLs(rctx, []preview.ESN{esn})
		rcancel()
		if err != nil || ttls[0] > 0 {
			continue
		}
		f.setWatched(esn, seq, false)
		if follow, _ := f.interest.get(esn); !follow {
			cancel(ErrAsleep)
			return
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

// showState puts the camera's state in its status and metrics.
func (f *Fetcher) showState(esn preview.ESN) {
	state := f.interest.state(esn)
	f.update(esn, func(s *CameraState) { s.State = state })
	for _, s := range []string{StateWatched, StateAsleep, StatePinned} {
		if (s == StatePinned) == (state == StatePinned) {
			v := 0.0
			if s == state {
				v = 1
			}
			f.metrics.cameraState.WithLabelValues(string(esn), s).Set(v)
		}
	}
}

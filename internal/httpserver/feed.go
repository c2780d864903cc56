package httpserver

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/fanout"
	"github.com/camrelay/camrelay/internal/preview"
)

// Run keeps the replica's view of Redis current until ctx ends: the
// subscription, the allow-list, staleness, heartbeats and health. Redis
// is checked on its own goroutine, so an outage never delays the offline
// notices and heartbeats.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.watch(ctx) })
	wg.Go(func() { s.reloader(ctx) })
	wg.Go(func() { s.checker(ctx) })
	if s.interest != nil {
		wg.Go(func() { s.interest.run(ctx) })
	}
	sweep := time.NewTicker(500 * time.Millisecond)
	defer sweep.Stop()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Close() // streams end cleanly before the program does
			return nil
		case now := <-sweep.C:
			s.hub.Sweep(now)
		case <-beat.C:
			s.hub.Beat()
		}
	}
}

// checker checks Redis every RefreshInterval.
func (s *Server) checker(ctx context.Context) {
	t := time.NewTicker(s.cfg.RefreshInterval)
	defer t.Stop()
	for {
		s.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check reloads the allow-list, which doubles as the Redis health check.
// After a failed check the replica is not ready until Redis answers and
// state is re-read: frames published meanwhile were missed, and the
// subscription may not have noticed (a resubscription re-reads as well).
// An outage, from start-up too, is logged when it begins and when it
// ends, never per failed check.
func (s *Server) check(ctx context.Context) {
	err := s.refreshCameras(ctx)
	if ctx.Err() != nil {
		return // shutting down: not an outage
	}
	now := time.Now()
	since := s.downSince.Load()
	switch {
	case err != nil && since == 0:
		s.downSince.Store(now.UnixNano())
		s.redisUp.Store(false)
		s.log.Warn("web: Redis unreachable", "err", err)
		s.TestSignals.RedisLost.Signal(err)
		s.readyChanged()
	case err == nil && since != 0:
		s.downSince.Store(0)
		downFor := now.Sub(time.Unix(0, since))
		s.log.Info("web: Redis reachable again", "down_for", downFor.Round(100*time.Millisecond))
		s.TestSignals.RedisBack.Signal(downFor)
	}
	if err == nil && !s.redisUp.Swap(true) {
		s.readyChanged()
		s.requestReload()
	}
}

// redisDown reports whether the last Redis check failed: the outage
// logged by check, and the reason the replica gives while it lasts.
func (s *Server) redisDown() bool { return s.downSince.Load() != 0 }

// watch holds the one subscription of this replica, re-subscribing after
// any failure with backoff.
func (s *Server) watch(ctx context.Context) {
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for ctx.Err() == nil {
		var up atomic.Bool
		err := s.store.Watch(ctx, s.onEvent, func() { up.Store(true); s.onSubscribed() })
		s.subscribed.Store(false)
		s.readyChanged()
		if ctx.Err() != nil {
			return
		}
		if !s.redisDown() { // an outage is logged once, by check
			s.log.Warn("web: subscription ended", "err", err)
		}
		if up.Load() {
			// It worked until now: a new failure (a Redis failover, say)
			// starts from the shortest wait, not where the last outage left it.
			bo.Reset()
		}
		backoff.Sleep(ctx, bo.Next())
	}
}

func (s *Server) onEvent(ev preview.FrameEvent) {
	s.hub.Publish(fanout.Meta{ESN: ev.ESN, TS: ev.TS, ETag: ev.ETag, SeenAt: time.Now()})
}

// onSubscribed runs on the subscription's reader: it only asks the
// reloader to re-read what may have been missed.
func (s *Server) onSubscribed() {
	s.metrics.resubscribed.Inc()
	s.requestReload()
}

// requestReload asks the reloader for a re-read; requests made while one
// is pending are one request.
func (s *Server) requestReload() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// reloader re-reads every public camera's latest frame after each
// (re)subscription, then marks the replica ready.
func (s *Server) reloader(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.reload:
		}
		s.subscribed.Store(false)
		s.readyChanged()
		if err := s.reloadFrames(ctx); err != nil {
			if !s.redisDown() { // an outage is logged once, by check
				s.log.Warn("web: re-reading frames failed", "err", err)
			}
			s.requestReload() // try again
			backoff.Sleep(ctx, time.Second)
			continue
		}
		s.subscribed.Store(true)
		s.interest.remarkAll() // a Redis that restarted lost the watch keys too
		s.TestSignals.Subscribed.Signal(struct{}{})
		s.readyChanged()
	}
}

func (s *Server) reloadFrames(ctx context.Context) error {
	if err := s.refreshCameras(ctx); err != nil {
		return err
	}
	now := time.Now()
	for esn := range *s.cameras.Load() {
		f, err := s.store.FrameMeta(ctx, esn)
		if errors.Is(err, preview.ErrNoFrame) {
			continue // no frame: nothing to show
		}
		if err != nil {
			return err
		}
		seen := f.FetchedAt
		if seen.After(now) || seen.IsZero() {
			seen = now
		}
		s.hub.Publish(fanout.Meta{ESN: esn, TS: f.TS, ETag: f.ETag, SeenAt: seen})
	}
	return nil
}

// refreshCameras reloads the allow-list and records that Redis answered.
func (s *Server) refreshCameras(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	now := time.Now()
	cams, err := s.store.Cameras(cctx, s.cfg.AllowListMaxAge, now)
	if err != nil {
		return err
	}
	m := make(map[preview.ESN]preview.Camera, len(cams))
	for _, c := range cams {
		m[c.ESN] = c
	}
	s.cameras.Store(&m)
	s.lastPing.Store(now.UnixMilli())
	return nil
}

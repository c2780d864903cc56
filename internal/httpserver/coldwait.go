package httpserver

import (
	"context"
	"time"

	"github.com/camrelay/camrelay/internal/fanout"
	"github.com/camrelay/camrelay/internal/preview"
)

// onDemand reports whether the camera is followed only while someone
// watches it: without a fresh frame it is asleep or waking up, not
// offline.
func onDemand(cam preview.Camera) bool { return cam.Watched }

// isPublic reports whether esn is on the allow-list as last read.
func (s *Server) isPublic(esn preview.ESN) bool {
	m := s.cameras.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[esn]
	return ok
}

// asleep reports whether esn is a public camera followed only while
// watched, as the allow-list last said.
func (s *Server) asleep(esn preview.ESN) bool {
	m := s.cameras.Load()
	return m != nil && onDemand((*m)[esn])
}

// coldWaitFor reports whether a still-image request for cam, which has no
// fresh frame, should wait for one: the camera is waking up (the request
// marked it), unless waiting is off or Redis is down (no frame can come).
func (s *Server) coldWaitFor(cam preview.Camera) bool {
	return s.cfg.ColdWait > 0 && onDemand(cam) && !s.redisDown()
}

// awaitFrame waits up to ColdWait for a fresh frame of esn. The request's
// goroutine parks on the hub's notice of the camera's next frame, which
// every waiter shares: a waiter holds no Redis connection and no other
// goroutine, and MaxColdWaits bounds how many park at once. False when no
// frame came in time, the request ended, the replica is closing, or too
// many wait already.
func (s *Server) awaitFrame(ctx context.Context, esn preview.ESN) (fanout.Meta, bool) {
	if s.coldWaits.Add(1) > int64(s.cfg.MaxColdWaits) {
		s.coldWaits.Add(-1)
		s.metrics.coldWaits.WithLabelValues("full").Inc()
		return fanout.Meta{}, false
	}
	defer s.coldWaits.Add(-1)
	t := time.NewTimer(s.cfg.ColdWait)
	defer t.Stop()
	for parked := false; ; parked = true {
		next := s.hub.Next(esn) // before Current: a frame in between closes it
		if m, fresh := s.hub.Current(esn, time.Now()); fresh {
			s.metrics.coldWaits.WithLabelValues("served").Inc()
			return m, true
		}
		if next == nil {
			s.metrics.coldWaits.WithLabelValues("gone").Inc()
			return fanout.Meta{}, false
		}
		if !parked {
			s.TestSignals.ColdWaiting.Signal(esn)
		}
		select {
		case <-next: // a newer frame, or closing: look again
		case <-t.C:
			s.metrics.coldWaits.WithLabelValues("timeout").Inc()
			return fanout.Meta{}, false
		case <-ctx.Done():
			s.metrics.coldWaits.WithLabelValues("gone").Inc()
			return fanout.Meta{}, false
		}
	}
}

package fetcher

import (
	"fmt"
	"slices"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// Stalled says why the cameras this fetcher leads count as stalled: none
// of them has stored a frame within FrameTTL. Each camera counts from the
// latest of its last stored frame, the start of its lead and since, so a
// fresh lead (or a login that has just come back: since) gets a whole
// FrameTTL to store its first frame. Nil when a camera it leads stores
// frames, or when it leads none: a fetcher that the others' leads leave
// idle is not stuck.
func (f *Fetcher) Stalled(now, since time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return stalled(f.state, now, since, f.cfg.FrameTTL)
}

func stalled(states map[preview.ESN]*CameraState, now, since time.Time, ttl time.Duration) error {
	leads, newest := 0, since
	for _, s := range states {
		if s.Leading {
			leads++
			newest = slices.MaxFunc([]time.Time{newest, s.LeadingSince, s.StoredAt}, time.Time.Compare)
		}
	}
	age := now.Sub(newest)
	if leads == 0 || age <= ttl {
		return nil
	}
	cams := "cameras"
	if leads == 1 {
		cams = "camera"
	}
	return fmt.Errorf("no frame stored for %s by the %d %s this fetcher leads", age.Round(time.Second), leads, cams)
}

// beatHealth is the heartbeat's streak of failures: since when, and the
// latest error; zero while it works.
type beatHealth struct {
	failingSince time.Time
	err          error
}

// noteBeat records a heartbeat's outcome.
func (f *Fetcher) noteBeat(err error, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err == nil:
		f.beats = beatHealth{}
	case f.beats.err == nil:
		f.beats = beatHealth{failingSince: now, err: err}
	default:
		f.beats.err = err
	}
}

// Unwritable says why Redis has refused this fetcher's heartbeat (a
// write) for longer than three beats, the time after which the others
// count it as gone; nil otherwise. Redis can answer PING and still refuse
// every write (out of memory under maxmemory, a read-only replica, a
// failing disk): then this fetcher leads and stores nothing, and leading
// nothing must not pass for being idle.
func (f *Fetcher) Unwritable(now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.beats.err == nil || now.Sub(f.beats.failingSince) <= 3*f.heartbeatEvery() {
		return nil
	}
	return fmt.Errorf("Redis has refused the heartbeat for %s: %w", now.Sub(f.beats.failingSince).Round(time.Second), f.beats.err)
}

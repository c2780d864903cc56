package fetcher

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// follow reads the camera as EEN recommends: prev(now) for an image at
// once, then next from the last timestamp, jumping to "now" when behind.
// It returns when ctx ends or a write finds the lock gone.
func (f *Fetcher) follow(ctx context.Context, cam preview.Camera, fence string) {
	bo := backoff.Backoff{Min: 250 * time.Millisecond, Max: 30 * time.Second}
	var last preview.Timestamp
	warned := false
	for first := true; ctx.Err() == nil; first = false {
		img, err := f.call(ctx, cam.ESN, first, last)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, preview.ErrPollTimeout) || first && statusCode(err) == 404:
			continue
		case err != nil:
			warned = f.upstreamFailed(cam.ESN, err, warned)
			backoff.Sleep(ctx, retryWait(&bo, err))
			continue
		}
		if warned {
			f.log.Info("fetcher: upstream answers again", "camera", cam.ESN)
		}
		warned = false
		bo.Reset()
		if errors.Is(f.save(ctx, cam.ESN, fence, img), preview.ErrLockLost) {
			return
		}
		last = img.TS
	}
}

// upstreamFailed counts err against the camera and warns at the first
// failure of a run, unless EEN refused the login: the process reports that
// once for all its cameras (readiness), not once per camera. It returns
// whether the run has been warned of.
func (f *Fetcher) upstreamFailed(esn preview.ESN, err error, warned bool) bool {
	f.noteError(esn, err)
	if warned || errors.Is(err, preview.ErrLoginRefused) {
		return warned
	}
	f.log.Warn("fetcher: upstream call failed, backing off", "camera", esn, "err", err)
	return true
}

// retryWait is the wait after a failed upstream call: the backoff, or
// longer when EEN or the client's login gate asks for it (a refused login
// waits for the gate, which grows to minutes). A wrong request or a
// missing right (400, 403) will not mend itself soon: the maximum,
// jittered like the rest.
func retryWait(bo *backoff.Backoff, err error) time.Duration {
	if !isRetryable(err) && !errors.Is(err, preview.ErrLoginRefused) {
		return backoff.Jitter(bo.Max)
	}
	return max(bo.Next(), retryAfter(err))
}

// call makes one upstream call, within the process-wide bound on calls in
// flight.
func (f *Fetcher) call(ctx context.Context, esn preview.ESN, first bool, last preview.Timestamp) (preview.Image, error) {
	select {
	case f.upstream <- struct{}{}:
		defer func() { <-f.upstream }()
	case <-ctx.Done():
		return preview.Image{}, ctx.Err()
	}
	if first {
		f.metrics.upstream.WithLabelValues("prev").Inc()
		return f.src.Prev(ctx, esn, "now")
	}
	f.metrics.upstream.WithLabelValues("next").Inc()
	return f.src.Next(ctx, esn, f.nextFrom(last))
}

// nextFrom is the timestamp to ask next for: the last one, or "now" when
// that is so far behind that catching up would show old pictures.
func (f *Fetcher) nextFrom(last preview.Timestamp) string {
	if last == "" || time.Since(last.Time()) > f.cfg.MaxBehind {
		return "now"
	}
	return string(last)
}

// save writes img through the fenced script.
func (f *Fetcher) save(ctx context.Context, esn preview.ESN, fence string, img preview.Image) error {
	now := time.Now()
	frame := preview.NewFrame(esn, img.TS, img.JPEG, now)
	err := f.store.SaveFrame(ctx, fence, frame, f.cfg.FrameTTL)
	switch {
	case err == nil:
		f.update(esn, func(s *CameraState) { s.Stored++; s.LastTS, s.StoredAt, s.LastError = img.TS, now, "" })
		f.metrics.stored.WithLabelValues(string(esn)).Inc()
		at := img.TS.Time()
		f.metrics.lastFrame.WithLabelValues(string(esn)).Set(float64(at.UnixMilli()) / 1000)
		f.metrics.frameDelay.Observe(now.Sub(at).Seconds())
		f.TestSignals.FrameStored.Signal(FrameStored{ESN: esn, TS: img.TS})
	case errors.Is(err, preview.ErrStale):
		// A newer frame is stored already (a previous leader's): fine.
		f.metrics.refused.WithLabelValues(string(esn), "not_newer").Inc()
	case errors.Is(err, preview.ErrLockLost):
		f.metrics.refused.WithLabelValues(string(esn), "lock_lost").Inc()
		f.log.Warn("fetcher: lock lost, frame not stored", "camera", esn)
	default:
		// Say it once per kind of failure, not at every frame.
		if repeated := f.noteError(esn, err); !repeated && ctx.Err() == nil {
			f.log.Warn("fetcher: storing frame failed", "camera", esn, "err", err)
		}
	}
	return err
}

// noteError counts err against the camera and reports whether the
// camera's last error was the same.
func (f *Fetcher) noteError(esn preview.ESN, err error) (repeated bool) {
	f.update(esn, func(s *CameraState) {
		repeated = s.LastError == err.Error()
		s.Errors++
		s.LastError = err.Error()
	})
	kind := "network"
	switch {
	case statusCode(err) != 0:
		kind = strconv.Itoa(statusCode(err))
	case errors.Is(err, preview.ErrNotJPEG) || errors.Is(err, preview.ErrTooLarge) || errors.Is(err, preview.ErrBadTimestamp):
		kind = "bad_image"
	}
	f.metrics.upstreamErrors.WithLabelValues(string(esn), kind).Inc()
	return repeated
}

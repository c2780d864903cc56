package fetcher

import (
	"context"
	"errors"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/preview"
)

// follow reads the camera as EEN recommends: prev(now) for an image at
// once, then next from the last timestamp, jumping to "now" when behind.
// It returns when ctx ends or a write finds the lock gone.
func (f *Fetcher) follow(ctx context.Context, cam preview.Camera, fence string) {
	bo := backoff.Backoff{Min: 250 * time.Millisecond, Max: 30 * time.Second}
	var last preview.Timestamp
	for first := true; ctx.Err() == nil; first = false {
		var img een.Image
		var err error
		if first {
			img, err = f.src.Prev(ctx, cam.ESN, "now")
		} else {
			img, err = f.src.Next(ctx, cam.ESN, f.nextFrom(last))
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, een.ErrPollTimeout) || first && een.StatusCode(err) == 404:
			continue
		case err != nil:
			f.noteError(cam.ESN, err)
			wait := max(bo.Next(), een.RetryAfter(err))
			if !isRetryable(err) {
				wait = bo.Max // a 403 or 400 will not mend itself soon
			}
			backoff.Sleep(ctx, wait)
			continue
		}
		bo.Reset()
		err = f.store(ctx, cam.ESN, fence, img)
		if errors.Is(err, preview.ErrLockLost) {
			return
		}
		last = img.TS
	}
}

// nextFrom is the timestamp to ask next for: the last one, or "now" when
// that is so far behind that catching up would show old pictures.
func (f *Fetcher) nextFrom(last preview.Timestamp) string {
	if last == "" || time.Since(last.Time()) > f.cfg.MaxBehind {
		return "now"
	}
	return string(last)
}

// store writes img through the fenced script.
func (f *Fetcher) store(ctx context.Context, esn preview.ESN, fence string, img een.Image) error {
	frame := preview.NewFrame(esn, img.TS, img.JPEG, time.Now())
	err := f.sink.SaveFrame(ctx, fence, frame, f.cfg.FrameTTL)
	switch {
	case err == nil:
		f.update(esn, func(s *CameraState) { s.Stored++; s.LastTS = img.TS })
	case errors.Is(err, preview.ErrStale):
		// A newer frame is stored already (a previous leader's): fine.
	case errors.Is(err, preview.ErrLockLost):
		f.log.Warn("fetcher: lock lost, frame not stored", "camera", esn)
	default:
		f.noteError(esn, err)
		if ctx.Err() == nil {
			f.log.Warn("fetcher: storing frame failed", "camera", esn, "err", err)
		}
	}
	return err
}

func (f *Fetcher) noteError(esn preview.ESN, err error) {
	f.update(esn, func(s *CameraState) { s.Errors++; s.LastError = err.Error() })
}

package preview

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Image is one preview image as the upstream returned it, before it is
// stored as a Frame.
type Image struct {
	TS   Timestamp
	JPEG []byte
}

// Frame is one stored preview image.
type Frame struct {
	ESN       ESN
	TS        Timestamp
	ETag      string // quoted strong validator, as sent in the ETag header
	JPEG      []byte
	FetchedAt time.Time // when the fetcher received it
}

// DefaultFrameTTL is how long a stored frame stays servable when
// FRAME_TTL is not set: fetchers store frames for it, replicas serve
// nothing older.
const DefaultFrameTTL = 15 * time.Second

// DefaultWatchTTL is how long a camera stays watched after a replica's
// last mark when WATCH_TTL is not set: web replicas mark with it, fetchers
// that follow only watched cameras let a camera sleep once it has passed.
const DefaultWatchTTL = 30 * time.Second

// NewFrame builds a frame and its ETag from the image bytes.
func NewFrame(esn ESN, ts Timestamp, jpeg []byte, fetched time.Time) Frame {
	return Frame{ESN: esn, TS: ts, ETag: etagOf(jpeg), JPEG: jpeg, FetchedAt: fetched}
}

// etagOf is the strong validator of an image: a short content hash, so
// every replica computes the same tag for the same bytes.
func etagOf(jpeg []byte) string {
	sum := sha256.Sum256(jpeg)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// FrameEvent is the pub/sub message published for each stored frame. It
// carries ids and times, never image bytes, so slow subscribers stay small.
type FrameEvent struct {
	ESN  ESN       `json:"esn"`
	TS   Timestamp `json:"ts"`
	ETag string    `json:"etag"`
	Size int       `json:"size"`
}

// IsJPEG reports whether b starts with the JPEG start-of-image marker.
func IsJPEG(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
}

// Errors shared by the parts; callers test them with errors.Is.
var (
	ErrBadESN       = errors.New("malformed camera id")
	ErrBadTimestamp = errors.New("malformed timestamp")
	ErrNotPublic    = errors.New("camera is not public")
	ErrNoFrame      = errors.New("no fresh frame")
	ErrNotJPEG      = errors.New("image is not a JPEG")
	ErrLockLost     = errors.New("camera lock lost")
	ErrStale        = errors.New("frame is not newer than the stored one")
)

// Errors an upstream client (een.Client) wraps, so the fetcher tells them
// apart with errors.Is whichever upstream it follows.
var (
	// ErrPollTimeout means a blocking call for the next image ran past the
	// poll timeout without one: ask again, it is not a fault.
	ErrPollTimeout = errors.New("no new image before the poll timeout")
	// ErrLoginRefused means the upstream refused the login for the user's
	// sake (wrong password, user locked, ...): it will not mend itself
	// until someone changes the credentials or the user.
	ErrLoginRefused = errors.New("login refused")
	// ErrTooLarge means an image body exceeded the configured cap.
	ErrTooLarge = errors.New("image body exceeds the size limit")
)

// Lease is a held leader lock on one camera. Fence is the value the
// fenced frame write checks against the lock key.
type Lease interface {
	Refresh(ctx context.Context, ttl time.Duration) error
	Release(ctx context.Context) error
	Fence() string
}

package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/bsm/redislock"

	"github.com/camrelay/camrelay/internal/preview"
)

// Locker takes per-camera leader locks with redislock.
type Locker struct {
	store *Store
	locks *redislock.Client
}

// Locker returns a Locker on the store's Redis.
func (s *Store) Locker() *Locker {
	return &Locker{store: s, locks: redislock.New(s.rdb)}
}

// TTL returns how long the camera's lock still has; 0 when nobody holds it.
func (l *Locker) TTL(ctx context.Context, esn preview.ESN) (time.Duration, error) {
	return l.store.LockTTL(ctx, esn)
}

// Lease is a held camera lock.
type Lease struct{ lock *redislock.Lock }

// Obtain tries once to take the camera's lock for ttl. It returns
// preview.ErrLockLost when another holder has it.
func (l *Locker) Obtain(ctx context.Context, esn preview.ESN, ttl time.Duration) (preview.Lease, error) {
	lock, err := l.locks.Obtain(ctx, l.store.keys.Lock(esn), ttl, nil)
	if errors.Is(err, redislock.ErrNotObtained) {
		return nil, preview.ErrLockLost
	}
	if err != nil {
		return nil, err
	}
	return &Lease{lock: lock}, nil
}

// Refresh extends the lease to ttl from now; preview.ErrLockLost when it
// is no longer held.
func (l *Lease) Refresh(ctx context.Context, ttl time.Duration) error {
	err := l.lock.Refresh(ctx, ttl, nil)
	if errors.Is(err, redislock.ErrNotObtained) {
		return preview.ErrLockLost
	}
	return err
}

// Release gives the lock up so another fetcher can lead at once.
func (l *Lease) Release(ctx context.Context) error {
	err := l.lock.Release(ctx)
	if errors.Is(err, redislock.ErrLockNotHeld) {
		return nil
	}
	return err
}

// Fence is the lock's stored value, which the frame script checks.
func (l *Lease) Fence() string { return l.lock.Token() + l.lock.Metadata() }

var _ preview.Lease = (*Lease)(nil)

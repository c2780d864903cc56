package fetcher

import (
	"context"
	"errors"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// Credentials is the upstream login (een.Client). A fetcher whose login
// is refused cannot fetch: it steps aside so fetchers that can take its
// cameras, and checks the login itself until it is accepted again. A
// refusal matches preview.ErrLoginRefused; its UpstreamError, if any,
// says how long to wait before the next login.
type Credentials interface {
	Login(ctx context.Context) error
	LoginRefused() error // non-nil while the upstream refuses the login
}

// refused reports whether the upstream refuses this fetcher's login.
func (f *Fetcher) refused() bool {
	return f.cfg.Credentials != nil && f.cfg.Credentials.LoginRefused() != nil
}

// credentialsLoop logs in once at start, before the fetcher joins (so a
// wrong password shows at once, even in a fetcher that would lead
// nothing), then again while the login is refused, once per window of the
// client's login gate (2 s doubling to 5 min, jittered): a fetcher
// standing aside calls the upstream for nothing else, so this is how it
// learns the password was fixed. It is the only caller of Login; checked
// is closed after the first attempt, whatever its outcome.
func (f *Fetcher) credentialsLoop(ctx context.Context, checked chan<- struct{}) {
	if f.cfg.Credentials == nil {
		close(checked)
		return
	}
	bo := backoff.Backoff{Min: f.heartbeatEvery(), Max: time.Minute}
	answered := false // the upstream said yes or no to a login
	for first := true; ctx.Err() == nil; first = false {
		wait := f.heartbeatEvery() // how often to look whether a lead's call was refused
		if !answered || f.refused() {
			// The first login waits at most a lock TTL: an upstream that is
			// slow to answer does not keep a fetcher from joining.
			lctx, cancel := context.WithTimeout(ctx, f.cfg.LockTTL)
			err := f.cfg.Credentials.Login(lctx)
			cancel()
			switch {
			case err == nil:
				answered = true
				bo.Reset()
			case errors.Is(err, preview.ErrLoginRefused):
				// Until the gate opens; it is jittered already.
				answered = true
				wait = max(wait, retryAfter(err))
			case ctx.Err() == nil:
				// Network trouble or a 5xx says nothing about the password.
				wait = max(bo.Next(), retryAfter(err))
			}
		}
		if first {
			close(checked)
		}
		backoff.Sleep(ctx, wait)
	}
}

package een

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// Errors a caller tells apart with errors.Is. Each wraps the domain error
// of package preview that the fetcher tests for, whichever upstream it
// follows.
var (
	// ErrPollTimeout means a blocking next call ran past the client's poll
	// timeout without a new image: ask again, it is not a fault.
	ErrPollTimeout = fmt.Errorf("een: %w", preview.ErrPollTimeout)
	// ErrLoginRefused matches a login EEN refused for the user's sake (wrong
	// password or API key, user locked, pending or two-factor), as opposed
	// to a network error, a rate limit or EEN's own trouble: it will not
	// mend itself until someone changes the credentials or the user.
	ErrLoginRefused = fmt.Errorf("een: %w", preview.ErrLoginRefused)
	// ErrTwoFactor means the proxy user has two-factor login enabled. It
	// matches ErrLoginRefused.
	ErrTwoFactor error = refusal("een: two-factor login is not supported for the proxy user")
	// ErrTooLarge means an image body exceeded the configured cap.
	ErrTooLarge = fmt.Errorf("een: %w", preview.ErrTooLarge)
)

// StatusError is an answer from EEN other than success. It never holds
// credentials or session keys, so it is safe to log. It is the upstream
// error the fetcher asks whether to retry and after how long.
type StatusError struct {
	Op   string        // "authenticate", "authorize", "next", ...
	Code int           // HTTP status
	Wait time.Duration // from a Retry-After header or the login gate, 0 when absent
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("een %s: %d %s", e.Op, e.Code, statusText(e.Code))
	if e.Wait > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.Wait)
	}
	return msg
}

// Unwrap makes a refused authenticate (EEN's login failure codes) match
// ErrLoginRefused, and so preview.ErrLoginRefused.
func (e *StatusError) Unwrap() error {
	if e.Op != "authenticate" {
		return nil
	}
	switch e.Code {
	case http.StatusUnauthorized, http.StatusPaymentRequired, http.StatusForbidden,
		http.StatusPreconditionFailed, 460, 461, 462:
		return ErrLoginRefused
	}
	return nil
}

// refusal is a login refusal that is not an HTTP status.
type refusal string

func (r refusal) Error() string { return string(r) }
func (r refusal) Unwrap() error { return ErrLoginRefused }

// Retryable reports whether the same call may succeed later: rate limits
// and upstream trouble, as opposed to a wrong request or missing rights.
func (e *StatusError) Retryable() bool {
	switch e.Code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RetryAfter is the wait EEN (or the login gate) asked for, or 0.
func (e *StatusError) RetryAfter() time.Duration { return e.Wait }

// StatusCode is the HTTP status of the answer.
func (e *StatusError) StatusCode() int { return e.Code }

// StatusCode returns the HTTP status of err if it is a StatusError, else 0.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// statusText adds EEN's own login codes to the standard texts.
func statusText(code int) string {
	switch code {
	case 402:
		return "account suspended"
	case 412:
		return "user disabled or locked"
	case 460:
		return "account inactive"
	case 461:
		return "account pending"
	case 462:
		return "user pending (activate the user's email first)"
	case http.StatusMovedPermanently:
		return "moved to another archiver"
	}
	return http.StatusText(code)
}

// MaxRetryAfter caps the wait a Retry-After may ask for: a larger value
// (or one that would overflow a Duration) is taken as this.
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP
// date; 0 when absent or bad, at most MaxRetryAfter. eenv3 reads EEN v3
// answers with it too.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(min(secs, int(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

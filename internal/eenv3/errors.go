package eenv3

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// Errors a caller tells apart with errors.Is, besides those of token.go.
var (
	// ErrPollTimeout means a liveImage call ran past the poll timeout
	// without an image: ask again, it is not a fault.
	ErrPollTimeout = fmt.Errorf("een v3: %w", preview.ErrPollTimeout)
	// ErrTooLarge means an image body exceeded Config.MaxImageBytes.
	ErrTooLarge = fmt.Errorf("een v3: %w", preview.ErrTooLarge)
	// ErrBadAnswer means the token endpoint answered success with a token
	// set that cannot be used. EEN has rotated the refresh token all the
	// same, so it matches ErrUnanswered: the token presented is spent.
	ErrBadAnswer error = spent("een v3: the token endpoint's success answer is unusable")
	// ErrDenied means the person signing in refused consent (or EEN
	// refused the sign-in). It matches ErrSignInNeeded.
	ErrDenied error = denied("een v3: EEN sign-in was denied")
	// ErrStateMismatch means the redirect carried another state than the
	// one sent: it is not the answer to this sign-in.
	ErrStateMismatch = errors.New("een v3: the sign-in answer's state does not match: not the answer to this sign-in")
	// ErrConnectTimeout means no sign-in answer came within the time limit.
	ErrConnectTimeout = errors.New("een v3: no sign-in answer in time")
)

// spent is a token-endpoint failure after which the refresh token sent
// must be taken as used.
type spent string

func (s spent) Error() string { return string(s) }
func (s spent) Unwrap() error { return ErrUnanswered }

// denied is a refused sign-in.
type denied string

func (d denied) Error() string { return string(d) }
func (d denied) Unwrap() error { return ErrSignInNeeded }

// NotSentError is a token request that never went out: the dial, DNS
// lookup or TLS handshake failed, or the context ended first. Nothing was
// presented, so the refresh token is as good as before: retry later. It
// holds no credential: safe to log.
type NotSentError struct {
	Op  string // "refresh", "exchange"
	Err error  // the transport's error, without the URL
}

func (e *NotSentError) Error() string {
	return fmt.Sprintf("een v3 %s: request not sent: %v", e.Op, e.Err)
}

func (e *NotSentError) Unwrap() error { return e.Err }

// StatusCode is 0: there was no answer. (The fetcher's UpstreamError.)
func (e *NotSentError) StatusCode() int { return 0 }

// Retryable is true: the same request may go through later.
func (e *NotSentError) Retryable() bool { return true }

// RetryAfter is 0: nobody asked for a wait.
func (e *NotSentError) RetryAfter() time.Duration { return 0 }

// unanswered is a token request that went out with no answer back.
func unanswered(op string, cause error) error {
	return fmt.Errorf("een v3 %s: %w: %w", op, ErrUnanswered, cause)
}

// redactURLError drops the URL from a transport error: errors stay free of
// anything request-specific.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// oauthCode keeps an OAuth2 error code only if it looks like one: it is
// shown in errors, and the answer is not trusted to hold no secret.
func oauthCode(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return ""
		}
	}
	return s
}

package een_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
)

// The client is an upstream the fetcher follows through the contracts it
// declares; fetcher does not import een, so the check lives here.
var (
	_ fetcher.Source        = (*een.Client)(nil)
	_ fetcher.Credentials   = (*een.Client)(nil)
	_ fetcher.UpstreamError = (*een.StatusError)(nil)
)

// een's errors keep their own text and match the domain errors the
// fetcher tests for; a StatusError, however wrapped, tells it whether to
// retry and after how long.
func TestErrorsMeetFetcherContract(t *testing.T) {
	for _, c := range []struct {
		err, domain error
		text        string
	}{
		{een.ErrPollTimeout, preview.ErrPollTimeout, "een: no new image before the poll timeout"},
		{een.ErrLoginRefused, preview.ErrLoginRefused, "een: login refused"},
		{een.ErrTooLarge, preview.ErrTooLarge, "een: image body exceeds the size limit"},
		{een.ErrTwoFactor, preview.ErrLoginRefused, "een: two-factor login is not supported for the proxy user"},
	} {
		wantIs(t, fmt.Errorf("een next 1006073b: %w", c.err), c.domain)
		if c.err.Error() != c.text {
			t.Errorf("%q, want %q", c.err, c.text)
		}
	}
	for _, c := range []struct {
		err       *een.StatusError
		retryable bool
		refused   bool
	}{
		{&een.StatusError{Op: "authenticate", Code: http.StatusUnauthorized, Wait: 2 * time.Second}, false, true},
		{&een.StatusError{Op: "next", Code: http.StatusServiceUnavailable, Wait: time.Second}, true, false},
		{&een.StatusError{Op: "prev", Code: http.StatusForbidden}, false, false},
	} {
		err := fmt.Errorf("een prev 1006073b: %w", c.err)
		var ue fetcher.UpstreamError
		if !errors.As(err, &ue) {
			t.Fatalf("%v is no fetcher.UpstreamError", err)
		}
		if ue.StatusCode() != c.err.Code || ue.Retryable() != c.retryable || ue.RetryAfter() != c.err.Wait {
			t.Errorf("%v: status %d, retryable %v, retry after %s; want %d, %v, %s",
				err, ue.StatusCode(), ue.Retryable(), ue.RetryAfter(), c.err.Code, c.retryable, c.err.Wait)
		}
		if errors.Is(err, preview.ErrLoginRefused) != c.refused {
			t.Errorf("%v: errors.Is(preview.ErrLoginRefused) = %v, want %v", err, !c.refused, c.refused)
		}
	}
}

package eenv3_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
)

// The client is an upstream the fetcher follows through the contracts it
// declares; fetcher imports no upstream, so the check lives here. Its
// status errors are een's, and a token request never sent is one too.
var (
	_ fetcher.Source        = (*eenv3.Client)(nil)
	_ fetcher.UpstreamError = (*een.StatusError)(nil)
	_ fetcher.UpstreamError = (*eenv3.NotSentError)(nil)
	_ eenv3.Tokens          = (*fakeTokens)(nil)
)

// eenv3's errors keep their own text and match the domain errors the
// fetcher tests for, however wrapped.
func TestErrorsMeetFetcherContract(t *testing.T) {
	for _, c := range []struct {
		err, domain error
		text        string
	}{
		{eenv3.ErrPollTimeout, preview.ErrPollTimeout, "een v3: no new image before the poll timeout"},
		{eenv3.ErrTooLarge, preview.ErrTooLarge, "een v3: image body exceeds the size limit"},
		{eenv3.ErrDenied, eenv3.ErrSignInNeeded, "een v3: EEN sign-in was denied"},
		{eenv3.ErrBadAnswer, eenv3.ErrUnanswered, "een v3: the token endpoint's success answer is unusable"},
	} {
		wantIs(t, fmt.Errorf("een v3 liveImage 1006073b: %w", c.err), c.domain)
		if c.err.Error() != c.text {
			t.Errorf("%q, want %q", c.err, c.text)
		}
	}
	ns := fmt.Errorf("grant: %w", &eenv3.NotSentError{Op: "refresh", Err: errors.New("connection refused")})
	var ue fetcher.UpstreamError
	if !errors.As(ns, &ue) || !ue.Retryable() || ue.StatusCode() != 0 || ue.RetryAfter() != 0 {
		t.Fatalf("%v is no retryable UpstreamError", ns)
	}
	wantNot(t, ns, eenv3.ErrUnanswered)
}

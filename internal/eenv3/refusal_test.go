package eenv3_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/fetcher"
)

// kind names what an error of Refresh tells the token manager to do.
func kind(err error) string {
	var ue fetcher.UpstreamError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, eenv3.ErrSignInNeeded):
		return "sign-in"
	case errors.Is(err, eenv3.ErrClientRejected):
		return "client"
	case errors.Is(err, eenv3.ErrUnanswered):
		return "spent"
	case errors.As(err, &ue) && ue.Retryable():
		return "retry"
	}
	return "fatal"
}

// Each answer of the token endpoint is classified as the token manager's
// contract says, by OAuth2 error code first, then by status; retryable
// ones carry the status and Retry-After; none quotes the answer.
func TestTokenRefusals(t *testing.T) {
	leak := newSecret("rt-echoed-")
	for _, c := range []struct {
		name   string
		status int
		body   string
		header map[string]string
		kind   string
		wait   time.Duration
	}{
		{"invalid_grant", 400, `{"error":"invalid_grant","error_description":"token ` + leak + ` revoked"}`, nil, "sign-in", 0},
		{"invalid_grant as 401", 401, `{"error":"invalid_grant"}`, nil, "sign-in", 0},
		{"invalid_grant as 403", 403, `{"error":"invalid_grant"}`, nil, "sign-in", 0},
		{"invalid_client", 400, `{"error":"invalid_client"}`, nil, "client", 0},
		{"unauthorized_client", 400, `{"error":"unauthorized_client"}`, nil, "client", 0},
		{"bare 401", 401, ``, nil, "client", 0},
		{"invalid_scope", 400, `{"error":"invalid_scope"}`, nil, "fatal", 0},
		{"odd error code", 400, `{"error":"<b>` + leak + `</b>"}`, nil, "fatal", 0},
		{"403 page", 403, `<html>forbidden</html>`, nil, "fatal", 0},
		{"404", 404, ``, nil, "fatal", 0},
		{"redirect not followed", 307, ``, map[string]string{"Location": "/oauth2/token"}, "fatal", 0},
		{"rate limited", 429, `{"error":"slow_down"}`, map[string]string{"Retry-After": "7"}, "retry", 7 * time.Second},
		{"500", 500, `{"error":"server_error"}`, nil, "retry", 0},
		{"502", 502, ``, nil, "retry", 0},
		{"503 with Retry-After", 503, ``, map[string]string{"Retry-After": "2"}, "retry", 2 * time.Second},
		{"504", 504, ``, nil, "retry", 0},
		{"501", 501, ``, nil, "fatal", 0},
		{"200 not JSON", 200, `<html>` + leak, nil, "spent", 0},
		{"200 no expires_in", 200, `{"access_token":"` + leak + `","token_type":"Bearer"}`, nil, "spent", 0},
		{"200 MAC token", 200, `{"access_token":"` + leak + `","token_type":"mac","expires_in":60}`, nil, "spent", 0},
		{"200 bad host", 200, `{"access_token":"` + leak + `","expires_in":60,"httpsBaseUrl":{"hostname":"evil.com/x?"}}`, nil, "spent", 0},
		{"200 too large", 200, `{"access_token":"` + strings.Repeat("a", 70<<10) + `"}`, nil, "spent", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeAuth(t, "")
			f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			})
			_, err := newAuth(t, config(f.srv.URL)).Refresh(context.Background(), f.grant())
			secrets.note(err)
			t.Log(err)
			if got := kind(err); got != c.kind {
				t.Fatalf("%v: kind %s, want %s", err, got, c.kind)
			}
			if n := len(f.requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
			if c.kind != "retry" && c.kind != "fatal" {
				return
			}
			var se *een.StatusError
			if !errors.As(err, &se) || se.StatusCode() != c.status || se.RetryAfter() != c.wait {
				t.Fatalf("%v: want a StatusError %d waiting %s", err, c.status, c.wait)
			}
		})
	}
}

// The bad-answer error is spent (the token went out and was answered):
// it matches ErrUnanswered but says what happened.
func TestBadAnswerIsSpent(t *testing.T) {
	wantIs(t, eenv3.ErrBadAnswer, eenv3.ErrUnanswered)
	wantIs(t, eenv3.ErrDenied, eenv3.ErrSignInNeeded)
	if strings.Contains(eenv3.ErrBadAnswer.Error(), "did not answer") {
		t.Errorf("ErrBadAnswer reads %q", eenv3.ErrBadAnswer)
	}
}

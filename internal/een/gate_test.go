package een

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The gate's wait starts at its first value, doubles at each refusal with
// jitter, and is forgotten at the first good login; other failures neither
// close nor open it.
func TestLoginGateBacksOff(t *testing.T) {
	const first = time.Second
	g := newLoginGate(first)
	t0 := time.Unix(1_700_000_000, 0)
	refused := &StatusError{Op: "authenticate", Code: http.StatusUnauthorized}
	if err := g.record(errors.New("connection refused"), t0); errors.Is(err, ErrLoginRefused) || g.check(t0) != nil || g.last() != nil {
		t.Fatal("a network error closed the gate")
	}
	now := t0
	for i := range 4 {
		wait := g.record(refused, now).(*StatusError).RetryAfter()
		lo, hi := first<<i/2, first<<i
		if wait < lo || wait > hi {
			t.Errorf("refusal %d: wait %s, want %s..%s", i+1, wait, lo, hi)
		}
		if err := g.check(now.Add(wait - time.Millisecond)); !errors.Is(err, ErrLoginRefused) || err.(*StatusError).RetryAfter() != time.Millisecond {
			t.Errorf("refusal %d: just before the wait is over check() = %v", i+1, err)
		}
		now = now.Add(wait)
		if err := g.check(now); err != nil {
			t.Errorf("refusal %d: the wait is over but check() = %v", i+1, err)
		}
		// A 503 in between says nothing about the credentials.
		g.record(&StatusError{Op: "authenticate", Code: http.StatusServiceUnavailable}, now)
	}
	if !errors.Is(g.last(), ErrLoginRefused) {
		t.Errorf("last() = %v after refusals", g.last())
	}
	g.record(nil, now)
	if g.last() != nil || g.check(now) != nil {
		t.Error("a good login left the gate closed")
	}
	if wait := g.record(refused, now).(*StatusError).RetryAfter(); wait > first {
		t.Errorf("after a good login the next wait is %s, want at most %s", wait, first)
	}
}

func TestLoginRefusedMatches(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&StatusError{Op: "authenticate", Code: 401}, true},
		{&StatusError{Op: "authenticate", Code: 403}, true}, // a wrong API key
		{&StatusError{Op: "authenticate", Code: 412}, true},
		{&StatusError{Op: "authenticate", Code: 462}, true},
		{ErrTwoFactor, true},
		{&StatusError{Op: "authenticate", Code: 400}, false},
		{&StatusError{Op: "authenticate", Code: 429}, false},
		{&StatusError{Op: "authenticate", Code: 503}, false},
		{&StatusError{Op: "next", Code: 401}, false}, // a session ended
		{&StatusError{Op: "prev", Code: 403}, false}, // no right to one camera
		{errors.New("een authenticate: dial tcp: connection refused"), false},
	} {
		if got := errors.Is(c.err, ErrLoginRefused); got != c.want {
			t.Errorf("errors.Is(%v, ErrLoginRefused) = %v, want %v", c.err, got, c.want)
		}
	}
	if !errors.Is(ErrTwoFactor, ErrTwoFactor) {
		t.Error("ErrTwoFactor does not match itself")
	}
}

package eenv3_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// A refresh that went out and got no answer, because the connection broke
// or the wait ran out, is ErrUnanswered: the token must be taken as spent.
// net/http does not send it again on its own, not even on a reused
// keep-alive connection (where it would for a GET).
func TestUnanswered(t *testing.T) {
	f := newFakeAuth(t, "")
	a := newAuth(t, config(f.srv.URL))
	ctx := context.Background()
	set, err := a.Refresh(ctx, f.grant()) // leaves a connection to reuse
	if err != nil {
		t.Fatal(err)
	}
	f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // read the request, answer nothing
		}
	})
	_, err = a.Refresh(ctx, set.RefreshToken)
	wantIs(t, err, eenv3.ErrUnanswered)
	if kind(err) != "spent" {
		t.Fatalf("kind %s", kind(err))
	}
	if n := len(f.requests()); n != 2 {
		t.Fatalf("the token endpoint saw %d requests, want 2: the refresh was sent again", n)
	}

	release := make(chan struct{})
	f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		select { // hold the answer back until the client gave up
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = a.Refresh(tctx, f.grant())
	wantIs(t, err, eenv3.ErrUnanswered)
	wantIs(t, err, context.DeadlineExceeded)
}

// A refresh that never went out (nothing listening, a TLS handshake that
// fails, a context ended first) is a retryable NotSentError: the refresh
// token was not presented and stays good.
func TestNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	f := newFakeAuth(t, "")
	tlsSrv := httptest.NewUnstartedServer(f.srv.Config.Handler) // its certificate is not trusted
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name, url string
		ctx       context.Context
	}{
		{"connection refused", closed, context.Background()},
		{"TLS handshake failed", tlsSrv.URL, context.Background()},
		{"context ended", f.srv.URL, canceled},
	} {
		_, err := newAuth(t, config(c.url)).Refresh(c.ctx, f.grant())
		var ns *eenv3.NotSentError
		secrets.note(err)
		if !errors.As(err, &ns) || kind(err) != "retry" || ns.StatusCode() != 0 || ns.RetryAfter() != 0 {
			t.Errorf("%s: %v (kind %s), want a retryable NotSentError", c.name, err, kind(err))
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("the token endpoint saw %d requests", n)
	}
	tlsSrv.Close()
}

// A request whose write fails before a byte of it went out is a
// NotSentError (the token stays good), not ErrUnanswered: net/http reports
// the request written while it is still in its buffer, so only the
// counted bytes tell. The token endpoint saw no second request.
func TestWriteFailedNotSent(t *testing.T) {
	f := newFakeAuth(t, "")
	var breakNew atomic.Bool
	dialer := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		b := &breakable{Conn: c}
		b.broken.Store(breakNew.Load())
		return b, nil
	}}
	defer tr.CloseIdleConnections()
	cfg := config(f.srv.URL)
	cfg.HTTPClient = &http.Client{Transport: tr}
	a := newAuth(t, cfg)
	set, err := a.Refresh(context.Background(), f.grant())
	if err != nil {
		t.Fatal(err)
	}
	breakNew.Store(true)
	_, err = a.Refresh(context.Background(), set.RefreshToken)
	secrets.note(err)
	if kind(err) != "retry" {
		t.Fatalf("%v (kind %s), want a NotSentError", err, kind(err))
	}
	if n := len(f.requests()); n != 1 {
		t.Fatalf("the token endpoint saw %d requests, want 1", n)
	}
}

// Every token request goes out on a connection of its own, closed after
// it: no keep-alive connection the server might close just as a refresh
// goes out. The API's connections are kept for the next call.
func TestTokenRequestsOnFreshConnections(t *testing.T) {
	f := newFakeAuth(t, "")
	a := newAuth(t, config(f.srv.URL))
	rt := f.grant()
	for range 3 {
		set, err := a.Refresh(context.Background(), rt)
		if err != nil {
			t.Fatal(err)
		}
		rt = set.RefreshToken
	}
	seen := map[string]bool{}
	for _, r := range f.conns() {
		if !r.close || seen[r.addr] {
			t.Fatalf("token requests %+v: want each on a new connection, with Connection: close", f.conns())
		}
		seen[r.addr] = true
	}
}

// With a transport that is not an *http.Transport the bytes are not
// counted; a request net/http wrote out still counts as sent.
func TestForeignTransport(t *testing.T) {
	f := newFakeAuth(t, "")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cfg := config(f.srv.URL)
	cfg.HTTPClient = &http.Client{Transport: roundTripFunc(tr.RoundTrip)}
	a := newAuth(t, cfg)
	f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	})
	_, err := a.Refresh(context.Background(), f.grant())
	wantIs(t, err, eenv3.ErrUnanswered)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package eenv3_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// syncBuffer is a bytes.Buffer safe to read while Connect writes to it;
// wrote is signalled at each write.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wrote: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// redirectOf follows the authorization URL printed on out as a browser
// on another machine would: it gets the redirect's address but cannot
// reach it. It returns that address.
func redirectOf(t *testing.T, out *syncBuffer) string {
	t.Helper()
	var authURL string
	timeout := time.After(10 * time.Second)
	for authURL == "" {
		select {
		case <-out.wrote:
		case <-timeout:
			t.Fatalf("no authorization URL printed:\n%s", out)
		}
		for l := range strings.SplitSeq(out.String(), "\n") {
			if strings.Contains(l, "/oauth2/authorize?") {
				authURL = l
			}
		}
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
	loc := resp.Header.Get("Location")
	if loc == "" {
		t.Fatalf("authorize answered %s without a redirect", resp.Status)
	}
	return loc
}

// A person whose browser cannot reach the listener pastes the address it
// was sent to: a line that is not one gets a hint (never an echo), the
// address (whole, quoted, or its query alone) completes the sign-in, and
// a pasted answer with another state is refused as one from the browser.
func TestConnectPaste(t *testing.T) {
	for _, c := range []struct {
		name  string
		paste func(loc string) string
		want  error
	}{
		{name: "whole address", paste: func(loc string) string { return "  " + loc + "  " }},
		{name: "quoted", paste: func(loc string) string { return `"` + loc + `"` }},
		{name: "query only", paste: func(loc string) string { _, q, _ := strings.Cut(loc, "?"); return q }},
		{name: "other state", paste: func(loc string) string { return strings.Replace(loc, "state=", "state=x", 1) }, want: eenv3.ErrStateMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newConnectEnv(t, nil)
			pr, pw := io.Pipe()
			defer pw.Close() // ends the paste reader
			out := newSyncBuffer()
			type res struct {
				set eenv3.TokenSet
				err error
			}
			done := make(chan res, 1)
			go func() {
				set, err := e.a.Connect(context.Background(), eenv3.ConnectOptions{Out: out, Listener: e.ln, Paste: pr, Timeout: 10 * time.Second})
				done <- res{set, err}
			}()
			loc := redirectOf(t, out)
			io.WriteString(pw, "\nnot an address\n"+c.paste(loc)+"\n")
			r := <-done
			secrets.note(r.err)
			secrets.text(out.String())
			if c.want != nil {
				wantIs(t, r.err, c.want)
				return
			}
			if r.err != nil || r.set.RefreshToken == "" {
				t.Fatalf("set %v, err %v", r.set.RefreshToken != "", r.err)
			}
			if got := out.String(); strings.Count(got, "That is not the address") != 1 || !strings.Contains(got, "paste the address it shows here") {
				t.Errorf("printed:\n%s", got)
			}
		})
	}
}

package eenv3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// browser is what a person's browser does with the authorization URL: it
// follows it (the fake consents at once) to the redirect, and keeps the
// page it ends on.
type browser struct {
	hc     *http.Client
	before []string // paths on the redirect listener to visit first
	pages  chan shownPage
}

type shownPage struct {
	status int
	body   string
}

func newBrowser(t *testing.T) *browser {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, pages: make(chan shownPage, 8)}
}

// get loads u and keeps the page. Like a real browser, it does not stop
// when Connect returns (which ends Visit's context): it reads the page.
func (b *browser) get(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	secrets.text(string(body))
	b.pages <- shownPage{resp.StatusCode, string(body)}
	return nil
}

// page returns the next page the browser was shown, waiting 10 s at most.
func (b *browser) page(t *testing.T) shownPage {
	t.Helper()
	select {
	case p := <-b.pages:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("the browser was shown no page")
		return shownPage{}
	}
}

// visit is a ConnectOptions.Visit that goes to base+before first.
func (b *browser) visit(base string) func(context.Context, string) error {
	return func(ctx context.Context, u string) error {
		for _, p := range b.before {
			if err := b.get(ctx, base+p); err != nil {
				return err
			}
		}
		return b.get(ctx, u)
	}
}

// connectEnv is a fake EEN and an Auth whose redirect URL is a free
// loopback port.
type connectEnv struct {
	f    *fakeAuth
	a    *eenv3.Auth
	ln   net.Listener
	base string // http://127.0.0.1:port
}

func newConnectEnv(t *testing.T, mod func(*eenv3.Config)) *connectEnv {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	e := &connectEnv{ln: ln, base: "http://" + ln.Addr().String()}
	e.f = newFakeAuth(t, e.base+"/cb")
	cfg := config(e.f.srv.URL)
	cfg.RedirectURL = e.base + "/cb"
	if mod != nil {
		mod(&cfg)
	}
	e.a = newAuth(t, cfg)
	return e
}

// The sign-in as the connect subcommand runs it: the URL is printed on a
// line of its own, the browser lands on a page saying it worked, the code
// is traded for a token set, and the listener is gone afterwards. Stray
// requests do not end it.
func TestConnect(t *testing.T) {
	e := newConnectEnv(t, nil)
	b := newBrowser(t)
	b.before = []string{"/favicon.ico", "/cb"}
	var out bytes.Buffer
	set, err := e.a.Connect(context.Background(), eenv3.ConnectOptions{Out: &out, Listener: e.ln, Visit: b.visit(e.base)})
	secrets.note(err)
	secrets.text(out.String())
	if err != nil || set.AccessToken == "" || set.RefreshToken == "" {
		t.Fatalf("set %v, err %v", set.AccessToken != "", err)
	}
	for _, want := range []int{http.StatusNotFound, http.StatusBadRequest, http.StatusOK} {
		if p := b.page(t); p.status != want || want == http.StatusOK && !strings.Contains(p.body, "camrelay is connected") {
			t.Fatalf("page %d %q, want %d", p.status, p.body, want)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], e.f.srv.URL+"/oauth2/authorize?client_id=") {
		t.Fatalf("printed %q", out.String())
	}
	if c, err := net.Dial("tcp", e.ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("still listening after Connect returned")
	}
}

// Without a listener given, Connect listens on the redirect URL's host and
// port, and serves its path ("/" when it has none).
func TestConnectListensOnRedirectURL(t *testing.T) {
	e := newConnectEnv(t, nil)
	e.ln.Close() // frees the port for Connect
	redirect := e.base
	e.f.redirect = redirect
	cfg := config(e.f.srv.URL)
	cfg.RedirectURL = redirect
	b := newBrowser(t)
	set, err := newAuth(t, cfg).Connect(context.Background(), eenv3.ConnectOptions{Visit: b.visit(e.base)})
	secrets.note(err)
	if err != nil || set.RefreshToken == "" {
		t.Fatal(err)
	}
	cfg.RedirectURL = "https://127.0.0.1:3333"
	_, err = newAuth(t, cfg).Connect(context.Background(), eenv3.ConnectOptions{})
	secrets.note(err)
	if err == nil || !strings.Contains(err.Error(), "only http is served") {
		t.Fatalf("https redirect: %v", err)
	}
}

// Each way a sign-in fails ends Connect with its own clear error, and the
// browser (when it got there) with a page saying it did not work.
func TestConnectFailures(t *testing.T) {
	for _, c := range []struct {
		name    string
		mod     func(*eenv3.Config)
		deny    bool
		path    string // the browser goes here instead of the authorization URL
		timeout time.Duration
		want    error
		text    string
	}{
		{name: "denied", deny: true, want: eenv3.ErrDenied, text: "EEN sign-in was denied"},
		{name: "wrong secret", mod: func(c *eenv3.Config) { c.ClientSecret = newSecret("wrong-") }, want: eenv3.ErrClientRejected},
		{name: "state mismatch", path: "/cb?state=forged&code=" + newSecret("code-"), want: eenv3.ErrStateMismatch},
		{name: "error with the state", path: "/cb?error=server_error&state=", want: eenv3.ErrStateMismatch},
		{name: "time limit", timeout: 50 * time.Millisecond, want: eenv3.ErrConnectTimeout, text: "no sign-in answer in time (50ms)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newConnectEnv(t, c.mod)
			e.f.deny = c.deny
			b := newBrowser(t)
			opt := eenv3.ConnectOptions{Listener: e.ln, Timeout: c.timeout, Visit: b.visit(e.base)}
			if c.path != "" {
				opt.Visit = func(ctx context.Context, _ string) error { return b.get(ctx, e.base+c.path) }
			}
			if c.timeout != 0 {
				opt.Visit = nil
			}
			_, err := e.a.Connect(context.Background(), opt)
			wantIs(t, err, c.want)
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("%q does not say %q", err, c.text)
			}
			if opt.Visit != nil {
				if p := b.page(t); p.status != http.StatusForbidden || !strings.Contains(p.body, "not connected") {
					t.Errorf("page %d %q", p.status, p.body)
				}
			}
		})
	}
}

// A Visit that fails ends Connect with its error; so does the caller's
// context ending.
func TestConnectEnds(t *testing.T) {
	e := newConnectEnv(t, nil)
	boom := errors.New("no browser here")
	_, err := e.a.Connect(context.Background(), eenv3.ConnectOptions{Listener: e.ln, Visit: func(context.Context, string) error { return boom }})
	wantIs(t, err, boom)

	e = newConnectEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.a.Connect(ctx, eenv3.ConnectOptions{Listener: e.ln})
	wantIs(t, err, context.Canceled)
}

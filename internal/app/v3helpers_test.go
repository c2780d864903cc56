package app_test

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// The simulated v3 client of these tests. The secret is long and random
// looking, so a test can tell it apart from ordinary text.
const (
	v3ClientID     = "camrelay-test-app"
	v3ClientSecret = "cs-8d3f0a9e71b24c56e0f1"
	// v3Redirect is the whitelisted redirect URL. The connect runs of
	// these tests listen elsewhere (EEN_CONNECT_LISTEN=127.0.0.1:0), as in
	// a container whose port 3333 is published on the host's 127.0.0.1.
	v3Redirect = "http://127.0.0.1:3333"
)

// v3Env is a real Redis and the simulator speaking v3, with the settings
// fetchers and "fetcher connect" use against them.
type v3Env struct {
	redis  *testbed.RedisServer
	sim    *inproc.Proc
	prefix string
	vars   map[string]string // a v3 fetcher's settings, CAMERAS included
}

// newV3Env starts the simulator with cameras and simVars added to its
// settings.
func newV3Env(t *testing.T, cameras string, simVars map[string]string) *v3Env {
	t.Helper()
	r := testbed.Redis(t)
	sv := map[string]string{"EENSIM_ADDR": "127.0.0.1:0", "CAMERAS": cameras, "EENSIM_INTERVAL": "250ms",
		"EEN_CLIENT_ID": v3ClientID, "EEN_CLIENT_SECRET": v3ClientSecret, "EEN_REDIRECT_URL": v3Redirect}
	maps.Copy(sv, simVars)
	sim := inproc.Run(t, "eensim", app.RunSim, sv, "eensim")
	prefix := testbed.Prefix(t)
	return &v3Env{redis: r, sim: sim, prefix: prefix, vars: map[string]string{
		"REDIS_URL": r.URL(), "KEY_PREFIX": prefix, "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "info",
		"EEN_API": "v3", "EEN_CLIENT_ID": v3ClientID, "EEN_CLIENT_SECRET": v3ClientSecret,
		"EEN_AUTH_URL": sim.URL("eensim"), "EEN_BASE_URL": sim.URL("eensim"), "EEN_REDIRECT_URL": v3Redirect,
		"CAMERAS": cameras,
	}}
}

// connectRun is a program that signs in ("fetcher connect", or the
// all-in-one) running in-process: stdin is a pipe the test pastes into,
// its listeners are told.
type connectRun struct {
	out    *testbed.SyncBuffer
	listen chan [2]string // listener name, address
	pastes chan string    // lines for stdin, written in order
	done   chan error
	ended  chan struct{} // closed when the program returned
}

// startConnect runs "fetcher connect" with vars and
// EEN_CONNECT_LISTEN=127.0.0.1:0.
func startConnect(t *testing.T, vars map[string]string) *connectRun {
	t.Helper()
	return startSignIn(t, app.RunFetcher, testbed.With(vars, "EEN_CONNECT_LISTEN", "127.0.0.1:0"), "connect")
}

// startSignIn runs program with vars and args.
func startSignIn(t *testing.T, program func(context.Context, app.Env) error, vars map[string]string, args ...string) *connectRun {
	t.Helper()
	pr, pw := io.Pipe()
	r := &connectRun{out: &testbed.SyncBuffer{}, listen: make(chan [2]string, 8), pastes: make(chan string, 8), done: make(chan error, 1), ended: make(chan struct{})}
	// A pipe write blocks until connect reads: a writer of its own, so a
	// connect that never reads cannot hang the test (closing pw ends it).
	go func() {
		for line := range r.pastes {
			if _, err := io.WriteString(pw, line+"\n"); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	env := app.Env{Args: args, Getenv: func(k string) string { return vars[k] }, Stdin: pr, Stdout: r.out, Stderr: r.out,
		Listening: func(name string, a net.Addr) { r.listen <- [2]string{name, a.String()} }}
	go func() {
		defer close(r.ended)
		r.done <- program(ctx, env)
	}()
	t.Cleanup(func() {
		close(r.pastes)
		pw.Close()
		cancel()
		select {
		case <-r.ended:
		case <-time.After(5 * time.Second):
			t.Errorf("the program did not stop within 5s of its end:\n%s", r.out)
		}
	})
	return r
}

// result waits for the run's end and returns its exit status and what it
// printed, the exit lines included.
func (r *connectRun) result(t *testing.T) (int, string) {
	t.Helper()
	select {
	case err := <-r.done:
		code := app.Exit("fetcher", err, r.out)
		return code, r.out.String()
	case <-time.After(20 * time.Second):
		t.Fatalf("fetcher connect did not end within 20s:\n%s", r.out)
		return 0, ""
	}
}

// authorizeURL waits for the URL printed on a line of its own.
func (r *connectRun) authorizeURL(t *testing.T) string {
	t.Helper()
	var u string
	testbed.WaitFor(t, 10*time.Second, "the authorization URL printed", func() bool {
		for l := range strings.SplitSeq(r.out.String(), "\n") {
			if strings.Contains(l, "/oauth2/authorize?") {
				u = l
				return true
			}
		}
		return false
	})
	return u
}

// browse opens the printed URL as a person's browser: the simulator
// consents at once and redirects to v3Redirect. With reach, the browser
// gets there: its 127.0.0.1:3333 is the listener (a published port);
// without, it cannot, and the address it shows is returned for pasting.
func (r *connectRun) browse(t *testing.T, reach bool) (shown string) {
	t.Helper()
	authURL := r.authorizeURL(t)
	var target string
	if reach {
		target = r.listener(t, "connect")
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == strings.TrimPrefix(v3Redirect, "http://") && target != "" {
			addr = target
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		shown = req.URL.String()
		if !reach {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return shown
}

// listener waits for the program's listener of that name to open.
func (r *connectRun) listener(t *testing.T, name string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l := <-r.listen:
			if l[0] == name {
				return l[1]
			}
		case <-timeout:
			t.Fatalf("no %s listener within 10s:\n%s", name, r.out)
			return ""
		}
	}
}

// paste types line into connect's stdin.
func (r *connectRun) paste(line string) { r.pastes <- line }

// noSecrets fails t when text holds the client secret or any of secrets.
func noSecrets(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, v3ClientSecret) {
		if len(s) >= 6 && strings.Contains(text, s) {
			t.Errorf("%s shows a secret (%.4s…):\n%s", where, s, text)
		}
	}
}

// setSecrets are a token set's secrets.
func setSecrets(set eenv3.TokenSet) []string { return []string{set.AccessToken, set.RefreshToken} }

// codeOf is the authorization code in a redirect address.
func codeOf(t *testing.T, shown string) string {
	t.Helper()
	_, q, _ := strings.Cut(shown, "?")
	for kv := range strings.SplitSeq(q, "&") {
		if k, v, _ := strings.Cut(kv, "="); k == "code" {
			return v
		}
	}
	return ""
}

package eenv3

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// DefaultConnectTimeout is how long Connect waits for the sign-in.
const DefaultConnectTimeout = 5 * time.Minute

// ConnectOptions shape one Connect. The zero value prints nothing and
// waits DefaultConnectTimeout on the redirect URL's host and port.
type ConnectOptions struct {
	// Out receives the authorization URL on a line of its own, after a
	// line saying what to do with it.
	Out io.Writer
	// Visit, when set, is called with the authorization URL once the
	// redirect listener is up, on a goroutine of its own: a program that
	// drives the consent itself (the all-in-one on the simulator) follows
	// the URL there. An error from it ends Connect.
	Visit func(ctx context.Context, authorizeURL string) error
	// Timeout bounds the whole sign-in; default DefaultConnectTimeout.
	Timeout time.Duration
	// Listener, when set, serves the redirect instead of a listener on the
	// redirect URL's host and port (tests, a free port). Connect closes it.
	Listener net.Listener
	// Paste, when set, is read line by line for the address the browser
	// was sent to, for when the browser cannot reach the listener (a
	// headless server, kubectl exec): the person copies it from the
	// address bar. The first pasted address or browser redirect to arrive
	// decides. Connect does not close Paste; a read still blocked when
	// Connect returns ends when Paste does.
	Paste io.Reader
}

// Connect runs the sign-in: it listens on the redirect URL, shows the
// authorization URL, waits for EEN's redirect, checks its state,
// exchanges the code and returns the token set, having answered the
// browser with a short page. Nothing secret is printed or returned in an
// error. Errors match ErrDenied (consent refused), ErrStateMismatch,
// ErrConnectTimeout, or those of Exchange.
func (a *Auth) Connect(ctx context.Context, opt ConnectOptions) (TokenSet, error) {
	timeout := cmp.Or(opt.Timeout, DefaultConnectTimeout)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w (%s)", ErrConnectTimeout, timeout))
	defer cancel()
	redirect, _ := url.Parse(a.cfg.RedirectURL) // checked by NewAuth
	state := rand.Text()                        // 128 random bits
	ln, err := listen(redirect, opt.Listener)
	if err != nil {
		return TokenSet{}, err
	}
	cb := &callback{auth: a, ctx: ctx, state: state, path: cmp.Or(redirect.Path, "/"), done: make(chan result, 1)}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer shutdown(srv)

	authURL := a.AuthorizeURL(state)
	if opt.Out != nil {
		fmt.Fprintf(opt.Out, "Open this URL in a browser, sign in to Eagle Eye Networks and allow camrelay:\n%s\n", authURL)
	}
	if opt.Paste != nil {
		go cb.readPaste(opt.Paste, opt.Out, redirect.Redacted())
	}
	visitErr := make(chan error, 1)
	if opt.Visit != nil {
		go func() { visitErr <- opt.Visit(ctx, authURL) }()
	}
	return cb.wait(ctx, visitErr)
}

// listen returns ln, or a listener on the redirect URL's host and port.
func listen(redirect *url.URL, ln net.Listener) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	if redirect.Scheme != "http" {
		return nil, fmt.Errorf("een v3 connect: cannot listen for the %s redirect URL %s: only http is served", redirect.Scheme, redirect.Redacted())
	}
	addr := net.JoinHostPort(redirect.Hostname(), cmp.Or(redirect.Port(), "80"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("een v3 connect: listening for the redirect on %s: %w", addr, err)
	}
	return ln, nil
}

// shutdown lets the browser's page go out, then stops listening.
func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if srv.Shutdown(ctx) != nil {
		srv.Close()
	}
}

// result is the outcome of the one redirect that counts.
type result struct {
	set TokenSet
	err error
}

// wait returns the redirect's outcome, or why none came.
func (cb *callback) wait(ctx context.Context, visitErr <-chan error) (TokenSet, error) {
	select {
	case r := <-cb.done:
		return r.set, r.err
	case err := <-visitErr:
		if err == nil {
			// The visit followed the redirect to its end: the outcome is
			// there or on its way.
			select {
			case r := <-cb.done:
				return r.set, r.err
			case <-ctx.Done():
				return TokenSet{}, connectEnded(ctx)
			}
		}
		return TokenSet{}, fmt.Errorf("een v3 connect: following the authorization URL: %w", redactURLError(err))
	case <-ctx.Done():
		return TokenSet{}, connectEnded(ctx)
	}
}

func connectEnded(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrConnectTimeout) {
		return cause
	}
	return fmt.Errorf("een v3 connect: %w", context.Cause(ctx))
}

// callback serves the redirect URL's path. The first redirect carrying a
// state, a code or an error decides the outcome; later ones get a page
// saying it is over.
type callback struct {
	auth  *Auth
	ctx   context.Context
	state string
	path  string

	claimed atomic.Bool // a redirect that counts has come
	done    chan result // buffered 1: the outcome of the one that counts
}

func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != cb.path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if !q.Has("state") && !q.Has("code") && !q.Has("error") {
		page(w, http.StatusBadRequest, "This address only takes Eagle Eye Networks' answer to a sign-in.")
		return
	}
	if !cb.claimed.CompareAndSwap(false, true) {
		page(w, http.StatusConflict, "This sign-in is over already; see the terminal that started it.")
		return
	}
	res := cb.outcome(q)
	cb.done <- res // buffered, and sent once: never blocks
	if res.err != nil {
		page(w, http.StatusForbidden, "camrelay was not connected to Eagle Eye Networks. See the terminal for why.")
		return
	}
	page(w, http.StatusOK, "camrelay is connected to Eagle Eye Networks. You can close this window.")
}

// outcome checks the redirect's state first (anything without the right
// one is not this sign-in's answer), then its error, then trades the code.
func (cb *callback) outcome(q url.Values) result {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(cb.state)) != 1 {
		return result{err: ErrStateMismatch}
	}
	switch code := q.Get("error"); {
	case code == "access_denied":
		return result{err: ErrDenied}
	case code != "":
		return result{err: fmt.Errorf("%w (%s)", ErrDenied, cmp.Or(oauthCode(code), "unknown error"))}
	}
	set, err := cb.auth.Exchange(cb.ctx, q.Get("code"))
	return result{set: set, err: err}
}

// page answers the browser with a short HTML page; it never echoes the
// request.
func page(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<meta charset=utf-8>\n<title>camrelay</title>\n<p>%s</p>\n", msg)
}

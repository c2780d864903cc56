package een_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eensim"
)

func TestNewValidates(t *testing.T) {
	for _, cfg := range []een.Config{
		{BaseURL: "ftp://example.com", Username: user, Password: password},
		{BaseURL: "http://", Username: user, Password: password},
		{BaseURL: "://bad", Username: user, Password: password},
		{Username: user},
		{Password: password},
	} {
		_, err := een.New(cfg)
		secrets.note(err)
		if err == nil {
			t.Errorf("New(%+v) accepted it", cfg)
		}
	}
}

func TestLoginAndSessionCookie(t *testing.T) {
	var cookies, queryKeys atomic.Int64
	e := newEnv(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/asset/") {
				if c, err := r.Cookie("auth_key"); err == nil && strings.HasPrefix(c.Value, "c001~") {
					cookies.Add(1)
				}
				if r.URL.Query().Has("A") {
					queryKeys.Add(1)
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	c := e.client(t, nil)
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustImage(t)(c.Prev(t.Context(), camGate, "now"))
	mustImage(t)(c.Prev(t.Context(), camGate, "now"))
	if c.Logins() != 1 || e.sim.Stats().Total("login") != 1 {
		t.Errorf("logins: client %d, simulator %d, want 1", c.Logins(), e.sim.Stats().Total("login"))
	}
	if cookies.Load() != 2 || queryKeys.Load() != 0 {
		t.Errorf("image calls with the auth_key cookie: %d of 2; with A=: %d", cookies.Load(), queryKeys.Load())
	}
	// An image call before any login logs in by itself.
	c2 := e.client(t, nil)
	mustImage(t)(c2.Prev(t.Context(), camGate, "now"))
	if c2.Logins() != 1 {
		t.Errorf("lazy login: %d logins", c2.Logins())
	}
	// Login replaces the session.
	if err := c.Login(t.Context()); err != nil || c.Logins() != 2 {
		t.Errorf("second Login: %v, %d logins", err, c.Logins())
	}
}

func TestBadCredentials(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client(t, func(cfg *een.Config) { cfg.Password = "Wr0ng-pa55word" })
	se := wantStatus(t, c.Login(t.Context()), "authenticate", http.StatusUnauthorized)
	if se.Retryable() {
		t.Error("bad credentials are retryable")
	}
	_, err := c.Prev(t.Context(), camGate, "now")
	wantStatus(t, err, "authenticate", http.StatusUnauthorized)
	if c.Logins() != 0 || e.sim.Stats().Total("authorize") != 0 {
		t.Errorf("a failed authenticate went on: %d logins, %d authorize calls", c.Logins(), e.sim.Stats().Total("authorize"))
	}
}

func TestAPIKeyHeader(t *testing.T) {
	for _, header := range []string{"", "Authorization"} {
		e := newEnv(t, func(cfg *eensim.Config) { cfg.APIKey, cfg.KeyHeader = apiKey, header }, nil)
		without := e.client(t, nil)
		_, err := without.Prev(t.Context(), camGate, "now")
		wantStatus(t, err, "authenticate", http.StatusForbidden)

		with := e.client(t, func(cfg *een.Config) { cfg.APIKey, cfg.APIKeyHeader = apiKey, header })
		mustImage(t)(with.Prev(t.Context(), camGate, "now"))
	}
}

func TestSessionExpiryLogsInOnceAndRetries(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client(t, nil)
	mustImage(t)(c.Prev(t.Context(), camGate, "now"))
	e.sim.ExpireSessions()
	mustImage(t)(c.Prev(t.Context(), camGate, "now"))
	st := e.sim.Stats()
	if c.Logins() != 2 || st.Total("login") != 2 || st.Status["401"] != 1 {
		t.Errorf("logins: client %d, simulator %d; 401s %d; want 2, 2, 1", c.Logins(), st.Total("login"), st.Status["401"])
	}
}

// TestConcurrent401sLogInOnce holds the re-login until all callers have
// seen their 401, so they all want a new session at the same time.
func TestConcurrent401sLogInOnce(t *testing.T) {
	const callers = 50
	var armed atomic.Bool
	var unauthorized atomic.Int64
	all := make(chan struct{})
	e := newEnv(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/g/aaa/authenticate" && armed.Load() {
				select {
				case <-all:
				case <-time.After(10 * time.Second): // the test fails below
				}
			}
			rec := &statusWriter{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			if rec.code == http.StatusUnauthorized && strings.HasPrefix(r.URL.Path, "/asset/") && unauthorized.Add(1) == callers {
				close(all)
			}
		})
	})
	c := e.client(t, nil)
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	before, simBefore := c.Logins(), e.sim.Stats().Total("login")
	e.sim.ExpireSessions()
	armed.Store(true)

	for _, err := range prevAtOnce(t, c, callers) {
		secrets.note(err)
		if err != nil {
			t.Error(err)
		}
	}
	if got := unauthorized.Load(); got != callers {
		t.Errorf("%d callers saw a 401, want %d", got, callers)
	}
	if c.Logins() != before+1 || e.sim.Stats().Total("login") != simBefore+1 {
		t.Errorf("logins after %d concurrent 401s: client %d, simulator %d; want %d each",
			callers, c.Logins()-before, e.sim.Stats().Total("login")-simBefore, 1)
	}
}

// TestBrandHost checks the switch to https://{subdomain}.eagleeyenetworks.com
// after login from the default base URL, and only from it.
func TestBrandHost(t *testing.T) {
	e := newEnv(t, nil, nil)
	override := e.client(t, nil)
	mustImage(t)(override.Prev(t.Context(), camGate, "now"))
	if override.Host() != e.srv.URL {
		t.Errorf("with an overridden base URL, Host() = %q, want %q", override.Host(), e.srv.URL)
	}

	rt := &rewrite{to: e.srv.URL, rt: e.srv.Client().Transport}
	c, err := een.New(een.Config{Username: user, Password: password, HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Host() != een.DefaultBaseURL {
		t.Errorf("before login, Host() = %q", c.Host())
	}
	mustImage(t)(c.Prev(t.Context(), camGate, "now"))
	if c.Host() != "https://c001.eagleeyenetworks.com" {
		t.Errorf("after login from the default, Host() = %q", c.Host())
	}
	want := []string{"https://login.eagleeyenetworks.com/g/aaa/authenticate", "https://login.eagleeyenetworks.com/g/aaa/authorize", "https://c001.eagleeyenetworks.com/asset/prev/image.jpeg"}
	if got := rt.seen(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests went to\n%v\nwant\n%v", got, want)
	}
}

// TestBrandSubdomainMustBeALabel keeps the session on EEN's hosts even if
// authorize names a strange subdomain.
func TestBrandSubdomainMustBeALabel(t *testing.T) {
	f := newFake(t, fakeAnswers{user: map[string]any{"active_brand_subdomain": "evil.example.com/x"}})
	rt := &rewrite{to: f.srv.URL, rt: f.srv.Client().Transport}
	c, err := een.New(een.Config{Username: user, Password: password, HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c.Host() != een.DefaultBaseURL {
		t.Errorf("Host() = %q, want the login host", c.Host())
	}
}

func TestTwoFactorUser(t *testing.T) {
	f := newFake(t, fakeAnswers{auth: map[string]any{"token": "tok", "two_factor_authentication_code": map[string]string{"sms": "+1 555"}}})
	c, err := een.New(een.Config{BaseURL: f.srv.URL, Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	wantIs(t, c.Login(t.Context()), een.ErrTwoFactor)
	if f.authorizeCalls.Load() != 0 {
		t.Error("a two-factor token was sent to authorize")
	}
}

// A wrong password: twenty cameras asking at once cost EEN one login, and
// asking again before the wait is over costs none; the refusal is kept for
// readiness until a login succeeds.
func TestRefusedLoginHoldsLoginsBack(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client(t, func(cfg *een.Config) { cfg.Password, cfg.LoginRetry = "Wr0ng-pa55word", time.Minute })
	if c.LoginRefused() != nil {
		t.Fatalf("LoginRefused() = %v before any login", c.LoginRefused())
	}
	for _, err := range prevAtOnce(t, c, 20) {
		se := wantStatus(t, err, "authenticate", http.StatusUnauthorized)
		wantIs(t, err, een.ErrLoginRefused)
		if se.Wait <= 0 || se.Wait > time.Minute {
			t.Errorf("RetryAfter %s, want the gate's wait (at most 1m)", se.Wait)
		}
	}
	_, err := c.Next(t.Context(), camGate, "now")
	wantIs(t, err, een.ErrLoginRefused)
	if n := e.sim.Stats().Count("authenticate", ""); n != 1 {
		t.Errorf("%d authenticate calls, want 1", n)
	}
	wantStatus(t, c.LoginRefused(), "authenticate", http.StatusUnauthorized)
}

// EEN's own trouble at login is not a refusal: nothing is held back.
func TestLoginTroubleIsNotARefusal(t *testing.T) {
	e := newEnv(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		})
	})
	c := e.client(t, nil)
	for range 2 {
		_, err := c.Prev(t.Context(), camGate, "now")
		wantStatus(t, err, "authenticate", http.StatusServiceUnavailable)
		if errors.Is(err, een.ErrLoginRefused) || c.LoginRefused() != nil {
			t.Errorf("a 503 at login counts as refused: %v, %v", err, c.LoginRefused())
		}
	}
}

// prevAtOnce makes n Prev calls at once and returns their errors.
func prevAtOnce(t *testing.T, c *een.Client, n int) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = c.Prev(t.Context(), camGate, "now") })
	}
	wg.Wait()
	return errs
}

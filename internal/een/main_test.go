package een_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/preview"
)

const (
	user     = "proxy@example.com"
	password = "Pr0xy-pa55word"
	apiKey   = "ak-5ecret-key"
	camGate  = preview.ESN("1006073b") // 1 s
	camSlow  = preview.ESN("1009c3de") // 16 s
	camDeny  = preview.ESN("10060a2c") // exists, denied
)

// TestMain checks, after every test, that no goroutine leaked and that no
// error message any test saw holds a password, API key or session key.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := secrets.check(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// secretLog collects every secret the tests use or see on the wire, and
// every error message the client returned.
type secretLog struct {
	mu      sync.Mutex
	secrets map[string]bool
	errs    []string
}

var secrets = &secretLog{secrets: map[string]bool{password: true, apiKey: true}}

func (l *secretLog) secret(s string) {
	if s == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets[s] = true
	if _, key, ok := strings.Cut(s, "~"); ok && key != "" {
		l.secrets[key] = true // the key without its brand prefix
	}
}

// note records err's message for the final check.
func (l *secretLog) note(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err.Error())
}

func (l *secretLog) check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, msg := range l.errs {
		for s := range l.secrets {
			if strings.Contains(msg, s) {
				return fmt.Errorf("error message %q holds a secret", msg)
			}
		}
	}
	if testing.Verbose() {
		fmt.Printf("secret check: %d error messages, %d secrets, no leak\n", len(l.errs), len(l.secrets))
	}
	return nil
}

// t0 is the fake clock's start.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 89e6, time.UTC)

var renderer = sync.OnceValue(func() *framegen.Renderer {
	r, err := framegen.New(640, 360)
	if err != nil {
		panic(err)
	}
	return r
})

// fakeClock is the simulator's injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is a simulator served on loopback, with a still clock at t0 unless
// the test's mod sets Config.Now.
type env struct {
	sim   *eensim.Server
	srv   *httptest.Server
	clock *fakeClock
}

// newEnv starts a simulator; wrap, when set, sits in front of it.
func newEnv(t *testing.T, mod func(*eensim.Config), wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	e := &env{clock: &fakeClock{t: t0}}
	cfg := eensim.Config{
		Username: user,
		Password: password,
		Cameras: []eensim.Camera{
			{ESN: camGate, Name: "Gate", Interval: time.Second},
			{ESN: camSlow, Name: "Slow", Interval: 16 * time.Second},
			{ESN: camDeny, Name: "Denied", Interval: time.Second},
		},
		Denied:   []preview.ESN{camDeny},
		Renderer: renderer(),
		Now:      e.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	sim, err := eensim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.sim = sim
	var h http.Handler = sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	e.srv = httptest.NewServer(recordKeys(h))
	t.Cleanup(e.srv.Close)
	return e
}

// recordKeys adds every session key that crosses the wire to the secrets.
func recordKeys(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range r.Cookies() {
			secrets.secret(c.Value)
		}
		secrets.secret(r.URL.Query().Get("A"))
		h.ServeHTTP(w, r)
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			secrets.secret(c.Value)
		}
	})
}

// client returns a client of the simulator, changed by mod.
func (e *env) client(t *testing.T, mod func(*een.Config)) *een.Client {
	t.Helper()
	cfg := een.Config{BaseURL: e.srv.URL, Username: user, Password: password}
	if mod != nil {
		mod(&cfg)
	}
	secrets.secret(cfg.Password)
	c, err := een.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantStatus checks that err is a StatusError of op with code.
func wantStatus(t *testing.T, err error, op string, code int) *een.StatusError {
	t.Helper()
	secrets.note(err)
	var se *een.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want a StatusError %d", err, code)
	}
	if se.Op != op || se.Code != code || een.StatusCode(err) != code {
		t.Fatalf("StatusError %+v, want op %q code %d", se, op, code)
	}
	return se
}

// wantIs checks that err wraps target.
func wantIs(t *testing.T, err, target error) {
	t.Helper()
	secrets.note(err)
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// mustImage returns a check that an image call returned a JPEG:
// mustImage(t)(c.Prev(ctx, esn, "now")).
func mustImage(t *testing.T) func(preview.Image, error) preview.Image {
	return func(img preview.Image, err error) preview.Image {
		t.Helper()
		secrets.note(err)
		if err != nil {
			t.Fatal(err)
		}
		if !preview.IsJPEG(img.JPEG) || img.TS == "" {
			t.Fatalf("image %s of %d bytes is not a JPEG", img.TS, len(img.JPEG))
		}
		return img
	}
}

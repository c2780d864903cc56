package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// switchedEEN is the upstream a test can swap under a running fetcher, and
// it records when each login was tried.
type switchedEEN struct {
	h      atomic.Pointer[http.Handler]
	mu     sync.Mutex
	logins []time.Time
}

func (u *switchedEEN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/g/aaa/authenticate" {
		u.mu.Lock()
		u.logins = append(u.logins, time.Now())
		u.mu.Unlock()
	}
	(*u.h.Load()).ServeHTTP(w, r)
}

func (u *switchedEEN) use(h http.Handler) { u.h.Store(&h) }

func (u *switchedEEN) loginTimes() []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.logins...)
}

// get returns a URL's status and body.
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body)
}

// logLines counts the program's log lines holding every one of parts.
func logLines(p *inproc.Proc, parts ...string) int {
	n := 0
	for line := range strings.Lines(p.Logs.String()) {
		all := true
		for _, s := range parts {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

// A wrong EEN password: /readyz answers 503 saying so, the metrics show
// it, the log says ERROR once however many logins are retried (each after
// a longer, jittered wait), and readiness returns by itself once the
// password is right. Then an upstream that stops giving images makes the
// fetcher unready once no camera it leads has stored a frame for FRAME_TTL.
func TestWrongPasswordIsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	const oldPassword, newPassword = "old-Pa55word-still-at-een", "new-Pa55word-in-the-fetcher"
	rds := testbed.Redis(t)
	r, err := framegen.New(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	sim := func(password string) http.Handler {
		s, err := eensim.New(eensim.Config{Username: testbed.SimUser, Password: password, Renderer: r,
			Cameras: []eensim.Camera{{ESN: camA, Interval: 250 * time.Millisecond}, {ESN: camB, Interval: 250 * time.Millisecond}}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Handler()
	}
	een := &switchedEEN{}
	een.use(sim(oldPassword))
	upstream := httptest.NewServer(een)
	defer upstream.Close()
	fetcher := inproc.StartStack(t, inproc.Options{RedisURL: rds.URL(), Cameras: camA + "," + camB, Upstream: upstream.URL, Webs: -1,
		Fetcher: map[string]string{"EEN_PASSWORD": newPassword, "KEY_PREFIX": testbed.Prefix(t), "LOG_LEVEL": "info", "LOCK_TTL": "2s", "FRAME_TTL": "2s"},
	}).Fetchers[0]
	admin := fetcher.URL("admin")
	waitForReadyz(t, admin, http.StatusServiceUnavailable, "not ready: EEN refused the login (een authenticate: 401 Unauthorized)")
	testbed.WaitFor(t, 15*time.Second, "three login attempts", func() bool { return len(een.loginTimes()) >= 3 })
	checkLoginBackoff(t, een.loginTimes())
	waitForMetrics(t, admin, "camrelay_fetcher_ready 0", "camrelay_een_login_refused 1")
	if n, warns := logLines(fetcher, "level=ERROR"), logLines(fetcher, "level=WARN"); n != 1 || warns != 0 {
		t.Errorf("%d ERROR and %d WARN lines over %d refused logins, want 1 and 0", n, warns, len(een.loginTimes()))
	}
	if logLines(fetcher, "level=ERROR", `reason="EEN refused the login (een authenticate: 401 Unauthorized)"`) != 1 {
		t.Error("the ERROR line does not give the reason")
	}

	een.use(sim(newPassword)) // the EEN user's password is changed to the fetcher's
	fixed := time.Now()
	waitForReadyz(t, admin, http.StatusOK, "ready")
	t.Logf("ready %s after the password was fixed (%d logins tried)", time.Since(fixed).Round(time.Millisecond), len(een.loginTimes()))
	waitForMetrics(t, admin, "camrelay_fetcher_ready 1", "camrelay_een_login_refused 0")
	testbed.WaitFor(t, 5*time.Second, "an INFO line", func() bool { return logLines(fetcher, "level=INFO", "fetcher: ready again") == 1 })

	images := *een.h.Load()
	een.use(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/asset/") {
			http.Error(w, "archiver trouble", http.StatusServiceUnavailable)
			return
		}
		images.ServeHTTP(w, r)
	}))
	waitForReadyz(t, admin, http.StatusServiceUnavailable, "by the 2 cameras this fetcher leads")
	een.use(images)
	waitForReadyz(t, admin, http.StatusOK, "ready")
	testbed.WaitFor(t, 5*time.Second, "one more ERROR and INFO line", func() bool {
		return logLines(fetcher, "level=ERROR") == 2 && logLines(fetcher, "fetcher: ready again") == 2
	})
	if n := logLines(fetcher, "level=ERROR", "no frame stored for"); n != 1 {
		t.Errorf("%d ERROR lines about frames not stored, want 1", n)
	}
	for _, s := range []string{oldPassword, newPassword} {
		if strings.Contains(fetcher.Logs.String(), s) {
			t.Error("a password is in the log")
		}
	}
}

// waitForReadyz waits until /readyz answers code with a body holding want,
// and that the body names no password.
func waitForReadyz(t *testing.T, admin string, code int, want string) {
	t.Helper()
	var got int
	var body string
	testbed.WaitFor(t, 30*time.Second, want, func() bool {
		got, body = get(admin + "/readyz")
		return got == code && strings.Contains(body, want)
	})
	if strings.Contains(strings.ToLower(body), "pa55word") {
		t.Errorf("/readyz names a password: %q", body)
	}
}

// waitForMetrics waits until the fetcher's metrics hold every line.
func waitForMetrics(t *testing.T, admin string, lines ...string) {
	t.Helper()
	testbed.WaitFor(t, 5*time.Second, strings.Join(lines, ", "), func() bool {
		_, body := get(admin + "/metrics")
		for _, l := range lines {
			if !strings.Contains(body, "\n"+l+"\n") {
				return false
			}
		}
		return true
	})
}

// checkLoginBackoff: after the first refusal the fetcher waits at least
// 1 s before trying again, and each wait is at least double the first
// bound (the login gate: 2 s doubling, each wait at least half its bound).
func checkLoginBackoff(t *testing.T, at []time.Time) {
	t.Helper()
	for i := 1; i < len(at); i++ {
		least := time.Second << (i - 1)
		if gap := at[i].Sub(at[i-1]); gap < least {
			t.Errorf("login %d came %s after the one before, want at least %s", i+1, gap.Round(time.Millisecond), least)
		}
	}
}

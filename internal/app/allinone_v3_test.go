package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// EEN_API=v3 runs the all-in-one on the simulated v3 with no manual step:
// it signs in on its own and serves frames; the grant is usable and no
// v1 login is made.
func TestAllInOneV3ServesAFrame(t *testing.T) {
	p := inproc.Run(t, "camrelay", app.RunAll, map[string]string{
		"EEN_API": "v3", "LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "info",
	}, "web", "admin")
	var jpeg string
	testbed.WaitFor(t, 15*time.Second, "a frame served", func() bool {
		code, b := body(t, p.URL("web")+"/preview/1006073b.jpg")
		jpeg = b
		return code == 200
	})
	if !preview.IsJPEG([]byte(jpeg)) {
		t.Errorf("not a JPEG: %.40q", jpeg)
	}
	_, m := body(t, p.URL("admin")+"/metrics")
	if !strings.Contains(m, "camrelay_een_v3_sign_in_needed 0") || strings.Contains(m, "camrelay_een_logins_total") {
		t.Errorf("metrics: want the v3 grant usable and no v1 login counter")
	}
	if code, b := body(t, p.URL("admin")+"/readyz"); code != 200 {
		t.Errorf("readyz %d %s", code, b)
	}
	noSecrets(t, "logs", p.Logs.String(), "all-in-one-simulated-client-secret")
}

// With a real (here: simulated, as if real) v3 application and a Redis
// holding no grant, the all-in-one runs the sign-in as it starts: the
// URL printed, the browser's redirect taken, then frames.
func TestAllInOneV3SignsInAtStart(t *testing.T) {
	redirect, err := testbed.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	e := newV3Env(t, "1006073b", map[string]string{"EEN_REDIRECT_URL": "http://" + redirect})
	vars := withAll(e.vars, "EEN_REDIRECT_URL", "http://"+redirect)
	r := startSignIn(t, app.RunAll, vars)
	r.browse(t, true)
	web := "http://" + r.listener(t, "web")
	testbed.WaitFor(t, 15*time.Second, "a frame served", func() bool {
		code, _ := body(t, web+"/preview/1006073b.jpg")
		return code == 200
	})
	rec := e.storedSet(t)
	if rec.Gen == 0 || strings.Contains(r.out.String(), "lasts only as long as this process") {
		t.Errorf("stored gen %d; log:\n%s", rec.Gen, r.out)
	}
	noSecrets(t, "output", r.out.String(), setSecrets(rec.Set)...)
}

// With the embedded Redis, a real v3 grant lasts as long as the process,
// and the all-in-one says so; EEN_REFRESH_TOKEN spares the sign-in.
func TestAllInOneV3EmbeddedRedisSaysSo(t *testing.T) {
	e := newV3Env(t, "1006073b", nil)
	vars := withAll(e.vars, "REDIS_URL", "", "EEN_REFRESH_TOKEN", "rt-not-a-real-one-5c2a")
	p := inproc.Run(t, "camrelay", app.RunAll, vars, "web", "admin")
	if !strings.Contains(p.Logs.String(), "lasts only as long as this process: set REDIS_URL to keep it") {
		t.Errorf("no word on the embedded Redis:\n%s", p.Logs)
	}
	if strings.Contains(p.Logs.String(), "/oauth2/authorize") {
		t.Errorf("signed in despite EEN_REFRESH_TOKEN:\n%s", p.Logs)
	}
}

// withAll is a fetcher's v3 settings made an all-in-one's: its own
// listeners, and kv set (an empty value removes the setting).
func withAll(vars map[string]string, kv ...string) map[string]string {
	vars = testbed.With(vars, "LISTEN_ADDR", "127.0.0.1:0")
	for i := 0; i < len(kv); i += 2 {
		vars = testbed.With(vars, kv[i], kv[i+1])
	}
	return vars
}

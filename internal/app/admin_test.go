package app_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// body GETs url and returns the status and body.
func body(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkAdminSplit: /metrics answers on the admin listener with the wanted
// series and not on the viewers' one; the health probes answer on both.
func checkAdminSplit(t *testing.T, p *inproc.Proc, series ...string) {
	t.Helper()
	if code, b := body(t, p.URL("web")+"/metrics"); code != 404 || strings.Contains(b, "camrelay_") {
		t.Errorf("/metrics on the viewers' port: %d, want 404", code)
	}
	testbed.WaitFor(t, 10*time.Second, "series on the admin port", func() bool {
		code, b := body(t, p.URL("admin")+"/metrics")
		for _, s := range series {
			if !strings.Contains(b, s) {
				return false
			}
		}
		return code == 200
	})
	for _, l := range []string{"web", "admin"} {
		if code, _ := body(t, p.URL(l)+"/healthz"); code != 200 {
			t.Errorf("/healthz on %s: %d", l, code)
		}
	}
}

func TestWebMetricsOnAdminAddr(t *testing.T) {
	rds := testbed.Redis(t)
	p := inproc.Run(t, "web", app.RunWeb, map[string]string{
		"REDIS_URL": rds.URL(), "KEY_PREFIX": testbed.Prefix(t), "LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0",
	}, "web", "admin")
	checkAdminSplit(t, p, "camrelay_web_ready 1", "camrelay_web_requests_total")
}

// The all-in-one has one admin listener for its fetcher and web parts.
func TestAllInOneOneAdminListener(t *testing.T) {
	p := inproc.Run(t, "camrelay", app.RunAll, map[string]string{
		"LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
	}, "web", "admin")
	checkAdminSplit(t, p, "camrelay_web_ready 1", "camrelay_fetcher_", "camrelay_een_logins_total")
	if code, b := body(t, p.URL("admin")+"/status"); code != 200 || !strings.Contains(b, "1006073b") {
		t.Errorf("/status on the admin port: %d %.200s", code, b)
	}
	if !regexp.MustCompile(`camrelay is running with 4 cameras: open http://127\.0\.0\.1:\d+/`).MatchString(p.Logs.String()) {
		t.Errorf("no address line:\n%s", p.Logs)
	}
}

// Web replicas and fetchers on one host do not fight over the default
// admin address; a web replica refuses to put metrics on the viewers' port.
func TestAdminAddrDefaults(t *testing.T) {
	help := func(run func(app.Env) error) string {
		var out testbed.SyncBuffer
		run(app.Env{Args: []string{"-h"}, Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out})
		return out.String()
	}
	def := regexp.MustCompile(`\(env ADMIN_ADDR\) \(default "([^"]+)"\)`)
	addrs := map[string]string{}
	for name, run := range map[string]func(app.Env) error{
		"web":     func(e app.Env) error { return app.RunWeb(t.Context(), e) },
		"fetcher": func(e app.Env) error { return app.RunFetcher(t.Context(), e) },
		"all":     func(e app.Env) error { return app.RunAll(t.Context(), e) },
	} {
		m := def.FindStringSubmatch(help(run))
		if m == nil {
			t.Fatalf("%s -h shows no ADMIN_ADDR default", name)
		}
		addrs[name] = m[1]
	}
	if addrs["web"] == addrs["fetcher"] || addrs["web"] != "127.0.0.1:9091" || addrs["all"] != addrs["web"] {
		t.Errorf("ADMIN_ADDR defaults %v: want web and all-in-one on 127.0.0.1:9091, apart from the fetcher's", addrs)
	}
	var out testbed.SyncBuffer
	err := app.RunWeb(t.Context(), app.Env{Getenv: func(k string) string {
		return map[string]string{"LISTEN_ADDR": "127.0.0.1:8080", "ADMIN_ADDR": "127.0.0.1:8080"}[k]
	}, Stdout: &out, Stderr: &out})
	if err == nil || !strings.Contains(err.Error(), "ADMIN_ADDR: 127.0.0.1:8080 is LISTEN_ADDR too") {
		t.Errorf("ADMIN_ADDR = LISTEN_ADDR: %v", err)
	}
}

// The all-in-one's cameras are public from its first request on: the web
// part must not read an allow-list the fetcher has not written yet.
func TestAllInOneCamerasPublicFromTheStart(t *testing.T) {
	p := inproc.Run(t, "camrelay", app.RunAll, map[string]string{
		"LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
	}, "web", "admin")
	for _, esn := range []string{"1006073b", "10060a2c", "100b4f17", "1009c3de"} {
		if code, b := body(t, p.URL("web")+"/preview/"+esn+".jpg"); code == 404 {
			t.Errorf("camera %s right after start: 404 %s", esn, b)
		}
	}
}

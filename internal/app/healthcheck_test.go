package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.Write([]byte("ready\n"))
			return
		}
		http.Error(w, "not ready: Redis not reachable", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().String()[strings.LastIndex(srv.Listener.Addr().String(), ":"):]
	run := WithHealthcheck(func(context.Context, Env) error { t.Fatal("the program ran"); return nil }, WebProbe)
	check := func(addr string, args ...string) error {
		var out bytes.Buffer
		return run(context.Background(), Env{Args: append([]string{"healthcheck"}, args...),
			Getenv: envOf(map[string]string{"LISTEN_ADDR": addr}), Stdout: &out, Stderr: &out})
	}
	for _, addr := range []string{port, "0.0.0.0" + port, "[::]" + port, srv.Listener.Addr().String()} {
		if err := check(addr); err != nil {
			t.Errorf("LISTEN_ADDR=%s: %v", addr, err)
		}
	}
	if err := check(port, "/healthz"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a 503 answer: err = %v", err)
	}
	if err := check("127.0.0.1:1", srv.URL+"/readyz"); err != nil {
		t.Errorf("a full URL: %v", err)
	}
	for _, args := range [][]string{{"healthz"}, {"/a", "/b"}} {
		if err := check(port, args...); err == nil {
			t.Errorf("args %q: no error", args)
		}
	}
	if err := check("nothing"); err == nil || !strings.Contains(err.Error(), "LISTEN_ADDR") {
		t.Errorf("a bad address: err = %v", err)
	}
}

func TestHealthcheckWithoutSubcommandRunsTheProgram(t *testing.T) {
	ran := false
	run := WithHealthcheck(func(context.Context, Env) error { ran = true; return nil }, WebProbe)
	if err := run(context.Background(), Env{Args: []string{"-h"}}); err != nil || !ran {
		t.Errorf("ran = %v, err = %v", ran, err)
	}
}

// The probes' default addresses must be the programs' own defaults.
func TestProbeDefaultsMatchSettings(t *testing.T) {
	empty := Env{Getenv: envOf(nil), Stderr: &bytes.Buffer{}}
	web, _ := parseWebConfig(empty)
	fetcher, _ := parseFetcherConfig(empty)
	sim, _ := parseSimConfig(empty)
	for _, c := range []struct{ probe, setting string }{
		{WebProbe.DefaultAddr, web.ListenAddr},
		{FetcherProbe.DefaultAddr, fetcher.AdminAddr},
		{SimProbe.DefaultAddr, sim.Addr},
	} {
		if c.probe != c.setting {
			t.Errorf("probe default %q, program default %q", c.probe, c.setting)
		}
	}
}

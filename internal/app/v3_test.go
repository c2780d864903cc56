package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// The readiness answers of a v3 fetcher without a usable grant, and with
// its client refused.
const (
	signInNeeded   = "not ready: EEN v3 sign-in needed: run fetcher connect\n"
	clientRefused  = "not ready: EEN v3 refused the client id or secret: check EEN_CLIENT_ID and EEN_CLIENT_SECRET\n"
	signInLogLine  = "EEN v3 sign-in needed: run fetcher connect"
	quickGrantPoll = 300 * time.Millisecond
)

// quickGrant is RunFetcher with a grant manager that reads Redis often and
// refreshes on a 401 at once: through the test seam Env.GrantConfig.
func quickGrant(ctx context.Context, env app.Env) error {
	env.GrantConfig = func(c *grant.Config) { c.PollEvery, c.RejectedMinAge = quickGrantPoll, time.Millisecond }
	return app.RunFetcher(ctx, env)
}

// waitBody waits until GET url answers want.
func waitBody(t *testing.T, url, want string) {
	t.Helper()
	var got string
	err := testbed.Wait(context.Background(), 15*time.Second, url+" answering "+strings.TrimSpace(want), func() bool {
		_, got = body(t, url)
		return got == want
	})
	if err != nil {
		t.Fatalf("%v; last answer %q", err, got)
	}
}

// waitFrames waits until the fetcher at admin stored frames of every esn.
func waitFrames(t *testing.T, admin string, esns ...preview.ESN) {
	t.Helper()
	testbed.WaitFor(t, 10*time.Second, "frames stored", func() bool {
		st, err := testbed.FetcherStatus(context.Background(), admin)
		for _, esn := range esns {
			if err != nil || st[esn].Stored == 0 {
				return false
			}
		}
		return true
	})
}

// signIn runs "fetcher connect" to success and returns the stored set.
func (e *v3Env) signIn(t *testing.T) redisstore.TokenRecord {
	t.Helper()
	r := startConnect(t, e.vars)
	r.browse(t, true)
	if code, out := r.result(t); code != 0 {
		t.Fatalf("fetcher connect: exit %d:\n%s", code, out)
	}
	return e.storedSet(t)
}

// A v3 fetcher's whole life with the grant: not ready until "fetcher
// connect" stores a set, then frames and the account's names for the
// cameras CAMERAS leaves unnamed; not ready again when EEN revokes the
// grant (one log line, the gauge), ready after the next connect. No
// token or secret shows in its logs, /status or /metrics.
func TestV3FetcherGrantLife(t *testing.T) {
	e := newV3Env(t, "1006073b=Kennel  Yard,10060a2c=Harbour", nil)
	vars := testbed.With(e.vars, "CAMERAS", "1006073b,10060a2c=Gate")
	f := inproc.Run(t, "fetcher", quickGrant, vars, "admin")
	admin := f.URL("admin")
	waitBody(t, admin+"/readyz", signInNeeded)
	if _, m := body(t, admin+"/metrics"); !strings.Contains(m, "camrelay_een_v3_sign_in_needed 1") {
		t.Errorf("no sign-in gauge at 1:\n%s", m)
	}

	first := e.signIn(t)
	waitBody(t, admin+"/readyz", "ready\n")
	store := redisstore.New(e.redis.Client(), e.prefix)
	testbed.WaitFor(t, 10*time.Second, "the account's name, and CAMERAS' own", func() bool {
		cams, err := store.Cameras(context.Background(), time.Minute, time.Now())
		names := map[preview.ESN]string{}
		for _, c := range cams {
			names[c.ESN] = c.Name
		}
		return err == nil && names["1006073b"] == "Kennel Yard" && names["10060a2c"] == "Gate"
	})
	waitFrames(t, admin, "1006073b", "10060a2c")

	resp, err := http.Post(e.sim.URL("eensim")+"/_sim/revoke", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitBody(t, admin+"/readyz", signInNeeded)
	_, m := body(t, admin+"/metrics")
	if !strings.Contains(m, "camrelay_een_v3_sign_in_needed 1") {
		t.Errorf("no sign-in gauge at 1 after the revocation")
	}
	second := e.signIn(t)
	waitBody(t, admin+"/readyz", "ready\n")

	logs := f.Logs.String()
	if n := strings.Count(logs, signInLogLine); n != 2 {
		t.Errorf("%d log lines %q, want one at start and one at the revocation:\n%s", n, signInLogLine, logs)
	}
	_, status := body(t, admin+"/status")
	secrets := append(setSecrets(first.Set), setSecrets(second.Set)...)
	for where, text := range map[string]string{"logs": logs, "/status": status, "/metrics": m} {
		noSecrets(t, where, text, secrets...)
	}
}

// A fetcher whose client secret EEN refuses, on a grant another signed in
// with the right one, says so when it must refresh, apart from a lost
// grant; the gauge of a refused login shows it.
func TestV3FetcherClientRefused(t *testing.T) {
	e := newV3Env(t, "1006073b", map[string]string{"EENSIM_ACCESS_TOKEN_TTL": "2s"})
	e.signIn(t)
	vars := testbed.With(e.vars, "EEN_CLIENT_SECRET", "wrong-secret-a41c09")
	f := inproc.Run(t, "fetcher", quickGrant, vars, "admin")
	waitBody(t, f.URL("admin")+"/readyz", clientRefused)
	if _, m := body(t, f.URL("admin")+"/metrics"); !strings.Contains(m, "camrelay_een_login_refused 1") {
		t.Errorf("camrelay_een_login_refused is not 1")
	}
	noSecrets(t, "logs", f.Logs.String(), "wrong-secret-a41c09")
}

// EEN_REFRESH_TOKEN seeds an empty Redis once: the fetcher presents it,
// and a fetcher started later with the same setting never presents it
// again (the simulator counts no reuse).
func TestV3RefreshTokenSeed(t *testing.T) {
	e := newV3Env(t, "1006073b", nil)
	rt := e.signIn(t).Set.RefreshToken
	if err := e.redis.Client().Del(context.Background(), preview.Keys{Prefix: e.prefix}.EENToken()).Err(); err != nil {
		t.Fatal(err)
	}
	vars := testbed.With(e.vars, "EEN_REFRESH_TOKEN", rt)
	f := inproc.Run(t, "fetcher", quickGrant, vars, "admin")
	waitFrames(t, f.URL("admin"), "1006073b")
	f.Stop(t)
	g := inproc.Run(t, "fetcher", quickGrant, vars, "admin")
	testbed.WaitFor(t, 10*time.Second, "the second fetcher's word on EEN_REFRESH_TOKEN", func() bool {
		return strings.Contains(g.Logs.String(), "EEN_REFRESH_TOKEN was used once already")
	})
	waitFrames(t, g.URL("admin"), "1006073b")
	st, err := testbed.SimStats(context.Background(), e.sim.URL("eensim"))
	if err != nil {
		t.Fatal(err)
	}
	if st.OAuth.Refreshes != 1 || st.OAuth.RefreshReuses != 0 {
		t.Errorf("refreshes %d, reuses %d: want the seed presented once", st.OAuth.Refreshes, st.OAuth.RefreshReuses)
	}
	noSecrets(t, "logs", f.Logs.String()+g.Logs.String(), rt)
}

// The test seams reach a v3 fetcher's grant manager: Env.GrantConfig sees
// the config with Env.GrantHooks in it and may change it, and the hooks
// run at the refresh's dangerous points (here: access tokens of 2 s).
func TestV3GrantSeams(t *testing.T) {
	e := newV3Env(t, "1006073b", map[string]string{"EENSIM_ACCESS_TOKEN_TTL": "2s"})
	e.signIn(t)
	claim, refresh := make(chan struct{}, 1), make(chan struct{}, 1)
	note := func(ch chan struct{}) func(context.Context) {
		return func(context.Context) {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	configured := make(chan grant.Config, 1)
	run := func(ctx context.Context, env app.Env) error {
		env.GrantHooks = grant.Hooks{BeforeClaim: note(claim), BeforeRefresh: note(refresh)}
		env.GrantConfig = func(c *grant.Config) {
			configured <- *c
			// The default keeps a set at least 10 s: these live 2 s.
			c.RejectedMinAge = time.Millisecond
		}
		return app.RunFetcher(ctx, env)
	}
	inproc.Run(t, "fetcher", run, e.vars, "admin")
	var c grant.Config
	select {
	case c = <-configured:
	case <-time.After(10 * time.Second):
		t.Fatal("GrantConfig never called")
	}
	if c.Hooks.BeforeClaim == nil || c.Owner == "" || c.Store == nil || c.Refresh == nil {
		t.Errorf("GrantConfig saw %+v", c)
	}
	for name, ch := range map[string]chan struct{}{"BeforeClaim": claim, "BeforeRefresh": refresh} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Errorf("%s never ran", name)
		}
	}
}

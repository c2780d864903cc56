package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

// storedSet reads the token set "fetcher connect" stored.
func (e *v3Env) storedSet(t *testing.T) redisstore.TokenRecord {
	t.Helper()
	rec, err := redisstore.New(e.redis.Client(), e.prefix).ReadToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// "fetcher connect" signs in, by the browser reaching the listener or by
// the address pasted: it prints the URL on a line of its own, stores the
// set in Redis as a new grant, says so in one line and exits 0, printing
// no secret.
func TestConnectV3Stores(t *testing.T) {
	for _, reach := range []bool{true, false} {
		name := map[bool]string{true: "browser reaches the listener", false: "address pasted"}[reach]
		t.Run(name, func(t *testing.T) {
			e := newV3Env(t, "1006073b", nil)
			r := startConnect(t, e.vars)
			shown := r.browse(t, reach)
			if !reach {
				r.paste("not the address")
				r.paste(shown)
			}
			code, out := r.result(t)
			rec := e.storedSet(t)
			if code != 0 || rec.Gen == 0 || rec.Set.RefreshToken == "" {
				t.Fatalf("exit %d, stored gen %d:\n%s", code, rec.Gen, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if !strings.HasPrefix(lines[1], e.sim.URL("eensim")+"/oauth2/authorize?client_id=") {
				t.Errorf("the URL is not on a line of its own:\n%s", out)
			}
			if last := lines[len(lines)-1]; strings.Count(out, "Connected to EEN API v3") != 1 || !strings.HasPrefix(last, "Connected to EEN API v3") {
				t.Errorf("no one line saying it is connected:\n%s", out)
			}
			noSecrets(t, "connect's output", out, append(setSecrets(rec.Set), codeOf(t, shown))...)
		})
	}
}

// Each way a sign-in fails ends with one clear line (after the program's
// name) and exit status 1; nothing is stored.
func TestConnectV3Failures(t *testing.T) {
	for _, c := range []struct {
		name    string
		sim     map[string]string // added to the simulator's settings
		vars    map[string]string // added to connect's
		forge   bool              // paste the answer with another state
		browse  bool
		want    string
		secrets []string
	}{
		{name: "denied", sim: map[string]string{"EENSIM_CONSENT": "deny"}, browse: true,
			want: "fetcher: connect: EEN sign-in was denied: nothing stored"},
		{name: "wrong secret", vars: map[string]string{"EEN_CLIENT_SECRET": "wrong-secret-5e1d77"}, browse: true,
			want: "fetcher: connect: EEN refused the client id or secret: check EEN_CLIENT_ID and EEN_CLIENT_SECRET; nothing stored", secrets: []string{"wrong-secret-5e1d77"}},
		{name: "state mismatch", forge: true,
			want: "fetcher: connect: the answer is not this sign-in's (its state does not match: an older link, or another sign-in's): nothing stored; run fetcher connect again and use the new link"},
		{name: "time limit", vars: map[string]string{"EEN_CONNECT_TIMEOUT": "300ms"},
			want: "fetcher: connect: no sign-in answer within 300ms: nothing stored; run fetcher connect again (EEN_CONNECT_TIMEOUT sets the limit)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newV3Env(t, "1006073b", c.sim)
			vars := e.vars
			for k, v := range c.vars {
				vars = testbed.With(vars, k, v)
			}
			r := startConnect(t, vars)
			var shown string
			switch {
			case c.browse:
				shown = r.browse(t, true)
			case c.forge:
				shown = r.browse(t, false)
				r.paste(strings.Replace(shown, "state=", "state=forged", 1))
			}
			code, out := r.result(t)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 1 || lines[len(lines)-1] != c.want || strings.Count(out, "fetcher: ") != 1 {
				t.Errorf("exit %d, printed:\n%s\nwant exit 1 and the last line:\n%s", code, out, c.want)
			}
			if rec := e.storedSet(t); rec.Gen != 0 {
				t.Errorf("a failed sign-in stored gen %d", rec.Gen)
			}
			noSecrets(t, "connect's output", out, append(c.secrets, codeOf(t, shown))...)
		})
	}
}

// connect refuses, in one line each, to run for v1 or without its
// secret, and says when Redis does not answer before anyone signs in.
func TestConnectV3Settings(t *testing.T) {
	e := newV3Env(t, "1006073b", nil)
	for _, c := range []struct {
		name string
		vars map[string]string
		code int
		want string
	}{
		{"EEN_API v1", testbed.With(e.vars, "EEN_API", ""), 2, "fetcher: EEN_API is v1: connect signs in to EEN API v3 (set EEN_API=v3)\nfetcher: run with -h for the settings"},
		{"EEN_API v4", testbed.With(e.vars, "EEN_API", "v4"), 2, "fetcher: EEN_API: \"v4\" is neither v1 nor v3\nfetcher: run with -h for the settings"},
		{"no secret", testbed.With(e.vars, "EEN_CLIENT_SECRET", ""), 2, "fetcher: EEN_CLIENT_SECRET (or EEN_CLIENT_SECRET_FILE) is required\nfetcher: run with -h for the settings"},
		{"no Redis", testbed.With(e.vars, "REDIS_URL", "redis://127.0.0.1:1/0"), 1, "fetcher: connect: Redis (REDIS_URL) does not answer: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := startConnect(t, c.vars).result(t)
			if code != c.code || !strings.HasPrefix(out, c.want) || strings.Contains(out, "oauth2/authorize") {
				t.Errorf("exit %d, printed:\n%s\nwant exit %d and:\n%s", code, out, c.code, c.want)
			}
		})
	}
}

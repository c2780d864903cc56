package app

import (
	"bytes"
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// program is one of camrelay's programs as its main runs it.
type program struct {
	name string
	run  func(context.Context, Env) error
}

var (
	webProg     = program{"web", RunWeb}
	fetcherProg = program{"fetcher", RunFetcher}
	simProg     = program{"eensim", RunSim}
	allProg     = program{"camrelay", RunAll}
)

// runExit runs p as its main does and returns the exit status and the
// lines it wrote to stderr; it fails the test if a line repeats.
func runExit(t *testing.T, p program, vars map[string]string, args ...string) (int, []string) {
	t.Helper()
	var stderr bytes.Buffer
	// Cancelled already: a program that accepts its settings returns at
	// once instead of serving, so the test is bounded either way.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := Exit(p.name, p.run(ctx, Env{Args: args, Getenv: envOf(vars), Stdout: &bytes.Buffer{}, Stderr: &stderr}), &stderr)
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l] && strings.TrimSpace(l) != "" {
			t.Errorf("line printed twice: %q\n%s", l, stderr.String())
		}
		seen[l] = true
	}
	return code, lines
}

// withVars is a copy of base with each key of kv set to the value after
// it, or removed when that is "".
func withVars(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]string{}
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// TestBadSettingsMessages: a newcomer's mistakes each give one line naming
// the setting once, prefixed by the program's name once, then one hint;
// never the usage, never a line twice.
func TestBadSettingsMessages(t *testing.T) {
	inUse, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inUse.Close()
	busy := inUse.Addr().String()
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("pw\n"), 0o600)
	fetcherOK := map[string]string{"EEN_USERNAME": "u@example.com", "EEN_PASSWORD": "pw", "CAMERAS": "1006073b", "ADMIN_ADDR": "127.0.0.1:0"}
	with := withVars
	for _, tc := range []struct {
		name string
		prog program
		vars map[string]string
		args []string
		code int
		want []string
	}{
		{"listen address without port", webProg, nil, []string{"-listen-addr", "nonsense"}, 2, []string{
			`web: -listen-addr: "nonsense" is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)`,
			"web: run with -h for the settings"}},
		{"listen address in use", webProg, map[string]string{"LISTEN_ADDR": busy}, nil, 1, []string{
			"web: LISTEN_ADDR: cannot listen on " + busy + ": bind: address already in use"}},
		{"bad flag value", webProg, nil, []string{"-max-streams", "abc"}, 2, []string{
			`web: -max-streams: "abc" is not a positive whole number`,
			"web: run with -h for the settings"}},
		{"unknown flag", allProg, nil, []string{"-nope"}, 2, []string{
			"camrelay: flag provided but not defined: -nope",
			"camrelay: run with -h for the settings"}},
		{"bad duration variable", fetcherProg, with(fetcherOK, "FRAME_TTL", "abc"), nil, 2, []string{
			`fetcher: FRAME_TTL: "abc" is not a positive duration (e.g. 15s, 1500ms)`,
			"fetcher: run with -h for the settings"}},
		{"only the user missing", fetcherProg, with(fetcherOK, "EEN_USERNAME", ""), nil, 2, []string{
			"fetcher: EEN_USERNAME is required",
			"fetcher: run with -h for the settings"}},
		{"only the password missing", fetcherProg, with(fetcherOK, "EEN_PASSWORD", ""), nil, 2, []string{
			"fetcher: EEN_PASSWORD (or EEN_PASSWORD_FILE) is required",
			"fetcher: run with -h for the settings"}},
		{"password and its file", fetcherProg, with(fetcherOK, "EEN_PASSWORD_FILE", pwFile), nil, 2, []string{
			"fetcher: EEN_PASSWORD and EEN_PASSWORD_FILE are both set: set only one",
			"fetcher: run with -h for the settings"}},
		{"simulator's secret and its file", simProg, map[string]string{"EEN_API_KEY": "k", "EEN_API_KEY_FILE": pwFile}, nil, 2, []string{
			"eensim: EEN_API_KEY and EEN_API_KEY_FILE are both set: set only one",
			"eensim: run with -h for the settings"}},
		{"simulator's default interval", simProg, map[string]string{"EENSIM_INTERVAL": "100ms"}, nil, 2, []string{
			"eensim: EENSIM_INTERVAL: 100ms is outside 250ms..16s",
			"eensim: run with -h for the settings"}},
		{"simulator address in use", simProg, map[string]string{"EENSIM_ADDR": busy}, nil, 1, []string{
			"eensim: EENSIM_ADDR: cannot listen on " + busy + ": bind: address already in use"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := runExit(t, tc.prog, tc.vars, tc.args...)
			if code != tc.code || strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("exit %d, printed:\n%s\nwant exit %d and:\n%s", code, strings.Join(got, "\n"), tc.code, strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestHelpPrintsUsageOnce: -h prints the usage once and exits 0.
func TestHelpPrintsUsageOnce(t *testing.T) {
	for _, p := range []program{webProg, fetcherProg, simProg, allProg} {
		code, lines := runExit(t, p, nil, "-h")
		out := strings.Join(lines, "\n")
		if code != 0 || strings.Count(out, "Usage: "+p.name+" [flags]") != 1 || strings.Contains(out, "run with -h") {
			t.Errorf("%s -h: exit %d:\n%s", p.name, code, out)
		}
	}
}

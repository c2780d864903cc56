package deployments

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/camrelay/camrelay/internal/app"
)

var envInHelp = regexp.MustCompile(`\((?:env|also) ([A-Z][A-Z0-9_]+)\)`)

// programSettings returns, per program, the environment variables it
// reads, taken from its own -h output: deployment files may set nothing
// else, so a misspelt variable (silently ignored at run time) fails here.
func programSettings(t *testing.T) map[string]map[string]bool {
	t.Helper()
	runs := map[string]func(context.Context, app.Env) error{
		"web": app.RunWeb, "fetcher": app.RunFetcher, "eensim": app.RunSim,
	}
	out := make(map[string]map[string]bool)
	for name, run := range runs {
		var help bytes.Buffer
		run(context.Background(), app.Env{Args: []string{"-h"}, Getenv: func(string) string { return "" }, Stdout: &help, Stderr: &help})
		vars := make(map[string]bool)
		for _, m := range envInHelp.FindAllStringSubmatch(help.String(), -1) {
			vars[m[1]] = true
		}
		if !vars["LOG_LEVEL"] && name != "eensim" {
			t.Fatalf("%s -h lists no settings:\n%s", name, help.String())
		}
		out[name] = vars
	}
	return out
}

// toInt reads a YAML number decoded into an interface value.
func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case uint64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}

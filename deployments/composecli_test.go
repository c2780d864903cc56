package deployments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// composeCLI runs docker compose (v2) or docker-compose (v1) on
// docker-compose.yml as one project of its own.
type composeCLI struct {
	t    *testing.T
	base []string // the command and the project's flags
	env  []string
}

// requireCompose returns the compose command, or skips the test when
// there is no usable Docker engine (fails instead under CAMRELAY_NO_SKIP=1,
// unless CAMRELAY_SKIP_COMPOSE=1 says CI found no engine).
func requireCompose(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs docker compose: not in -short mode")
	}
	if os.Getenv("CAMRELAY_SKIP_COMPOSE") == "1" {
		t.Skip("CAMRELAY_SKIP_COMPOSE=1: no Docker engine here, docker compose test skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		skipOrFail(t, fmt.Sprintf("no usable Docker engine (docker info: %v): docker compose test skipped\n%s", err, lastLines(string(out), 3)))
	}
	for _, cmd := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
		args := append(cmd[1:len(cmd):len(cmd)], "version")
		if exec.CommandContext(ctx, cmd[0], args...).Run() == nil {
			return cmd
		}
	}
	skipOrFail(t, "neither docker compose nor docker-compose works: docker compose test skipped")
	return nil
}

// newCompose prepares a project of docker-compose.yml and the extra
// files on top, with a unique name; it is taken down, volumes and all,
// when the test ends, after printing its logs on failure.
func newCompose(t *testing.T, cmd []string, vars map[string]string, extra ...string) *composeCLI {
	project := "camrelaytest" + randomHex(4)
	c := &composeCLI{t: t, base: append(cmd[:len(cmd):len(cmd)], "-p", project), env: os.Environ()}
	for _, f := range append([]string{composePath}, extra...) {
		file, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		c.base = append(c.base, "-f", file)
	}
	for k, v := range vars {
		c.env = append(c.env, k+"="+v)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := c.run(time.Minute, "logs", "--no-color", "--tail", "40")
			t.Logf("compose logs:\n%s", out)
		}
		if out, err := c.run(2*time.Minute, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	return c
}

// run runs one compose command, bounded by timeout.
func (c *composeCLI) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	all := append(c.base[:len(c.base):len(c.base)], args...)
	cmd := exec.CommandContext(ctx, all[0], all[1:]...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs a compose command and stops the test if it fails.
func (c *composeCLI) must(timeout time.Duration, args ...string) string {
	c.t.Helper()
	out, err := c.run(timeout, args...)
	if err != nil {
		c.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 20))
	}
	return out
}

var leadEvent = regexp.MustCompile(`msg="fetcher: (leading|stopped leading) camera".*? camera=([0-9a-f]{8})\b`)

// leaders returns the fetcher services leading camera esn. Every fetcher
// logs "leading camera" when it takes a camera's lock and "stopped leading
// camera" when it lets go, and Docker keeps each container's log in order:
// a service leads the camera when its last such line says so. (The images
// have no shell to exec into, and the admin ports are not published.)
func (c *composeCLI) leaders(fetchers []string, esn string) []string {
	c.t.Helper()
	var out []string
	for _, svc := range fetchers {
		leading := false
		for _, m := range leadEvent.FindAllStringSubmatch(c.must(time.Minute, "logs", "--no-color", svc), -1) {
			if m[2] == esn {
				leading = m[1] == "leading"
			}
		}
		if leading {
			out = append(out, svc)
		}
	}
	return out
}

// notHealthy lists the project's running containers whose Docker
// healthcheck does not say healthy (containers without one are skipped).
func (c *composeCLI) notHealthy() []string {
	c.t.Helper()
	ids := strings.Fields(c.must(time.Minute, "ps", "-q"))
	if len(ids) == 0 {
		return []string{"no containers"}
	}
	args := append([]string{"inspect", "-f", "{{.Name}} {{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"}, ids...)
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("docker inspect: %v\n%s", err, out)
	}
	var bad []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == "true" && f[2] != "healthy" && f[2] != "none" {
			bad = append(bad, strings.TrimPrefix(f[0], "/")+" "+f[2])
		}
	}
	return bad
}

// finishedAt is when a container last stopped, as Docker recorded it.
func (c *composeCLI) finishedAt(id string) time.Time { return c.stateTime(id, "FinishedAt") }

// startedAt is when a container last started, as Docker recorded it.
func (c *composeCLI) startedAt(id string) time.Time { return c.stateTime(id, "StartedAt") }

func (c *composeCLI) stateTime(id, field string) time.Time {
	c.t.Helper()
	out, err := exec.Command("docker", "inspect", "-f", "{{.State."+field+"}}", id).CombinedOutput()
	if err != nil {
		c.t.Fatalf("docker inspect %s: %v\n%s", id, err, out)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(out)))
	if err != nil {
		c.t.Fatalf("docker inspect %s: %s: %v", id, field, err)
	}
	return at
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitFor is testbed.WaitFor that returns how long it waited.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	testbed.WaitFor(t, within, what, cond)
	return time.Since(start)
}

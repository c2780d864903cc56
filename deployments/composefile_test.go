package deployments

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// composeSpec is the part of docker-compose.yml the tests read.
type composeSpec struct {
	Version  *string                   `yaml:"version"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
		Target     string `yaml:"target"`
	} `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Ports   []string `yaml:"ports"`
	Command []string `yaml:"command"`
	Volumes []string `yaml:"volumes"`
}

const composePath = "../docker-compose.yml"

func loadCompose(t *testing.T) *composeSpec { return loadComposeFile(t, composePath) }

func loadComposeFile(t *testing.T, path string) *composeSpec {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c composeSpec
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &c
}

// program is the camrelay program a compose service runs: "web" for
// web2, "" for redis and nginx.
func program(service string) string {
	p := strings.TrimRight(service, "0123456789")
	if slices.Contains([]string{"web", "fetcher", "eensim"}, p) {
		return p
	}
	return ""
}

// servicesOf lists the compose services running a program, sorted.
func (c *composeSpec) servicesOf(prog string) []string {
	var out []string
	for name := range c.Services {
		if program(name) == prog {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

var dockerfileTarget = regexp.MustCompile(`(?m)^FROM \S+ AS (\S+)$`)

// TestComposeFile: the compose file is what shared/DESIGN.md asks for, in a
// form both docker compose v2 and docker-compose 1.29 accept, and agrees
// with the Dockerfile, the programs' settings and nginx.conf.
func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	if c.Version != nil {
		t.Error("top-level version: is obsolete in the Compose Specification (v2 warns about it)")
	}
	for prog, n := range map[string]int{"web": 3, "fetcher": 2, "eensim": 1} {
		if got := len(c.servicesOf(prog)); got != n {
			t.Errorf("%d %s services, want %d", got, prog, n)
		}
	}
	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	settings := programSettings(t)
	for name := range c.Services {
		checkComposeService(t, c, name, string(dockerfile), settings[program(name)])
	}
	if strings.Contains(c.Services["eensim"].Environment["EEN_PASSWORD"], "$") {
		t.Error("eensim must not receive the EEN password meant for the fetchers")
	}
	// A fetcher is unready while EEN refuses its login or its cameras store
	// nothing: that must show in its health, not hold the rest back.
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			if program(dep) == "fetcher" {
				t.Errorf("%s waits for %s: a fetcher's readiness says whether its cameras flow, nothing needs it to start", name, dep)
			}
		}
	}
	nginx := c.Services["nginx"]
	for _, w := range c.servicesOf("web") {
		if _, ok := nginx.DependsOn[w]; !ok {
			t.Errorf("nginx does not wait for %s", w)
		}
	}
	if len(nginx.Ports) != 1 || !strings.HasPrefix(nginx.Ports[0], "127.0.0.1:${CAMRELAY_PORT:-8080}:") {
		t.Errorf("nginx ports %q: want one port on loopback, movable by CAMRELAY_PORT", nginx.Ports)
	}
	checkUpstreams(t, c)
}

// checkComposeService: a service's healthcheck and dependencies, and for
// camrelay's programs the image, the build target and the settings.
func checkComposeService(t *testing.T, c *composeSpec, name, dockerfile string, settings map[string]bool) {
	t.Helper()
	s := c.Services[name]
	if name != "nginx" && (s.Healthcheck == nil || len(s.Healthcheck.Test) == 0) {
		t.Errorf("%s: no healthcheck: nothing could depend on it being up", name)
	}
	for dep, d := range s.DependsOn {
		if d.Condition != "service_healthy" || c.Services[dep].Healthcheck == nil {
			t.Errorf("%s: depends on %s with condition %q; want service_healthy on a healthchecked service", name, dep, d.Condition)
		}
	}
	prog := program(name)
	if prog == "" {
		return
	}
	bin := "/usr/local/bin/" + prog
	targets := map[string]bool{}
	for _, m := range dockerfileTarget.FindAllStringSubmatch(dockerfile, -1) {
		targets[m[1]] = true
	}
	if !strings.HasPrefix(s.Image, "camrelay/"+prog+":") || s.Build == nil || !targets[s.Build.Target] ||
		s.Build.Dockerfile != "deployments/Dockerfile" || !strings.Contains(dockerfile, " "+bin+"\n") {
		t.Errorf("%s: image %q, build %+v: want camrelay/%s built from a deployments/Dockerfile target that installs %s", name, s.Image, s.Build, prog, bin)
	}
	if s.Healthcheck != nil && !slices.Equal(s.Healthcheck.Test, []string{"CMD", bin, "healthcheck"}) {
		t.Errorf("%s: healthcheck %q; a scratch image has only %s healthcheck", name, s.Healthcheck.Test, bin)
	}
	for v := range s.Environment {
		if !settings[v] {
			t.Errorf("%s: %s is not a setting of %s", name, v, prog)
		}
	}
}

var upstreamServer = regexp.MustCompile(`(?m)^\s*server (\S+?)(?: |;)`)

// checkUpstreams: nginx balances exactly the compose web services.
func checkUpstreams(t *testing.T, c *composeSpec) {
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, m := range upstreamServer.FindAllStringSubmatch(string(conf), -1) {
		got = append(got, m[1])
	}
	for _, w := range c.servicesOf("web") {
		want = append(want, w+c.Services[w].Environment["LISTEN_ADDR"])
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("nginx upstream servers %q, want the web services %q", got, want)
	}
}

// TestNginxConfig runs nginx -t on nginx.conf, its upstream names replaced
// by loopback (they resolve only inside the compose network).
func TestNginxConfig(t *testing.T) {
	bin := nginxBinary(t)
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	local := regexp.MustCompile(`server web\d+:`).ReplaceAll(conf, []byte("server 127.0.0.1:"))
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, local, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", file).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// skipOrFail skips t for a missing tool or engine, except in CI
// (CAMRELAY_NO_SKIP=1), where a test must never skip silently.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CAMRELAY_NO_SKIP") == "1" {
		t.Fatal(msg + " (CAMRELAY_NO_SKIP=1: failing instead of skipping)")
	}
	t.Skip(msg)
}

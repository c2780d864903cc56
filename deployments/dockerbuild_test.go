package deployments

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// buildFromDockerfile builds camrelay's images from deployments/Dockerfile
// as a user does: `compose build` for the compose file's services, then the
// all-in-one target, which no service runs. Each image must hold its
// program as the Dockerfile builds it.
func buildFromDockerfile(t *testing.T, c *composeCLI, spec *composeSpec, tag string) {
	t.Helper()
	began := time.Now()
	c.must(15*time.Minute, "build")
	t.Logf("compose build (deployments/Dockerfile): %s", time.Since(began).Round(100*time.Millisecond))
	allInOne := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "docker", "build", "-q", "-f", "deployments/Dockerfile", "--target", "camrelay", "-t", "camrelay/camrelay:"+tag, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build --target camrelay: %v\n%s", err, lastLines(string(out), 20))
	}
	t.Logf("docker build --target camrelay after it: %s", time.Since(allInOne).Round(100*time.Millisecond))
	for _, prog := range []string{"web", "fetcher", "eensim", "camrelay"} {
		checkBuiltImage(t, "camrelay/"+prog+":"+tag, prog, began)
	}
}

// imageConfig is the part of `docker image inspect` the test reads.
type imageConfig struct {
	Created time.Time
	Config  struct {
		User       string
		Entrypoint []string
		Labels     map[string]string
	}
}

// checkBuiltImage: image was built just now by the Dockerfile (no stand-in
// label), runs prog as user 65532, and holds the CA bundle and prog built
// as the Dockerfile says (go version -m: the package, CGO_ENABLED=0,
// -trimpath; stripped by -ldflags "-s -w").
func checkBuiltImage(t *testing.T, image, prog string, since time.Time) {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "-f", "{{json .}}", image).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", image, err)
	}
	var ic imageConfig
	if err := json.Unmarshal(out, &ic); err != nil {
		t.Fatalf("docker image inspect %s: %v", image, err)
	}
	bin := "/usr/local/bin/" + prog
	if ic.Created.Before(since.Add(-time.Second)) || ic.Config.Labels["org.camrelay.standin"] != "" ||
		ic.Config.User != "65532:65532" || !slices.Equal(ic.Config.Entrypoint, []string{bin}) {
		t.Errorf("%s: created %s, labels %v, user %q, entrypoint %q: want built by this test from deployments/Dockerfile, user 65532:65532, entrypoint %s",
			image, ic.Created, ic.Config.Labels, ic.Config.User, ic.Config.Entrypoint, bin)
	}
	dir := t.TempDir()
	id, err := exec.Command("docker", "create", image).Output()
	if err != nil {
		t.Fatalf("docker create %s: %v", image, err)
	}
	defer exec.Command("docker", "rm", strings.TrimSpace(string(id))).Run()
	for _, p := range []string{bin, "/etc/ssl/certs/ca-certificates.crt"} {
		if out, err := exec.Command("docker", "cp", strings.TrimSpace(string(id))+":"+p, dir).CombinedOutput(); err != nil {
			t.Errorf("%s: no %s: %v %s", image, p, err, out)
		}
	}
	info, err := exec.Command("go", "version", "-m", filepath.Join(dir, prog)).Output()
	if err != nil {
		t.Fatalf("%s: go version -m %s: %v", image, bin, err)
	}
	for _, want := range []string{"\tpath\tgithub.com/camrelay/camrelay/cmd/" + prog + "\n", "\tbuild\tCGO_ENABLED=0\n",
		"\tbuild\t-trimpath=true\n"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("%s: %s lacks %q:\n%s", image, bin, strings.TrimSpace(want), lastLines(string(info), 8))
		}
	}
	// -trimpath keeps -ldflags out of the build info: -s shows as no
	// symbol table.
	f, err := elf.Open(filepath.Join(dir, prog))
	if err != nil {
		t.Fatalf("%s: %s: %v", image, bin, err)
	}
	defer f.Close()
	if _, err := f.Symbols(); !errors.Is(err, elf.ErrNoSymbols) {
		t.Errorf("%s: %s has a symbol table (%v): not built with -ldflags \"-s -w\"", image, bin, err)
	}
}

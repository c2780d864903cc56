package deployments

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The compose test builds deployments/Dockerfile itself. Its build stage
// is FROM the official golang image, which no registry here can give, so
// when the engine has no image of that name the test builds a stand-in
// from this machine's Go toolchain, laid out as the official image is
// (GOROOT /usr/local/go, GOPATH /go, WORKDIR /go, GOTOOLCHAIN=local), with:
//   - the host's dash as /bin/sh (RUN needs a shell) and its CA bundle;
//   - the project's modules as a proxy would serve them (.info, .mod,
//     .zip in /go/pkg/mod/cache/download) and GOPROXY=off, so the
//     Dockerfile's own `go mod download` unpacks them with no network;
//   - a build cache holding the standard library and the dependencies
//     compiled for the Dockerfile's build (CGO_ENABLED=0 -trimpath), taken
//     from the host's: compiling them cold takes minutes on 2 cores.
//     camrelay's own packages are compiled and linked in the build.
// It is tagged as the Dockerfile names it only while the test runs.

var baseImage = regexp.MustCompile(`(?m)^FROM (golang:(\S+)) AS build$`)

// golangBase returns the image the Dockerfile's build stage starts FROM,
// building a stand-in for it when the engine has none.
func golangBase(t *testing.T, dockerfile string) string {
	t.Helper()
	m := baseImage.FindStringSubmatch(dockerfile)
	if m == nil {
		t.Fatalf("deployments/Dockerfile: no build stage FROM golang:<version> AS build")
	}
	name, version := m[1], m[2]
	if imageExists(name) && !isStandin(name) {
		return name // the real one: the build downloads modules itself
	}
	goroot, goversion := goEnv(t, "GOROOT"), goEnv(t, "GOVERSION")
	if goversion != "go"+version && !strings.HasPrefix(goversion, "go"+version+".") {
		skipOrFail(t, "no "+name+" image, and this machine's Go is "+goversion+": cannot build a stand-in for it")
	}
	r := newRootfs(t)
	r.tree("/usr/local/go", goroot, skipInGoroot)
	r.binary("/bin/sh", hostBinary(t, "dash", "apt-get install dash"))
	r.copy("/etc/ssl/certs/ca-certificates.crt", hostFile(t, "/etc/ssl/certs/ca-certificates.crt", "apt-get install ca-certificates"), 0o644)
	r.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
	r.file("/etc/group", "root:x:0:\n")
	r.dir("/root", 0o700)
	r.dir("/tmp", 0o1777)
	for _, d := range []string{"/go", "/go/src", "/go/bin"} {
		r.dir(d, 0o1777) // as the official image does
	}
	r.tree("/go/pkg/mod/cache/download", moduleDownloads(t), nil)
	seeded := r.seedBuildCache()
	t.Logf("stand-in %s: Go %s from %s, %d cached compiles of its dependencies", name, goversion, goroot, seeded)
	r.buildImage(name,
		"LABEL org.camrelay.standin.base="+name,
		"ENV GOLANG_VERSION="+strings.TrimPrefix(goversion, "go")+" GOTOOLCHAIN=local GOPATH=/go",
		"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV GOPROXY=off",
		"WORKDIR /go")
	// Its children (the build stage's layers) carry its labels: remove
	// them all, newest first, which frees the name too.
	t.Cleanup(func() { removeImages(t, "label=org.camrelay.standin.base="+name) })
	return name
}

// skipInGoroot leaves out what building programs never reads: tests,
// documentation, and the sources of the toolchain's own commands.
func skipInGoroot(rel string, d fs.DirEntry) bool {
	switch {
	case d.IsDir():
		return d.Name() == "testdata" || rel == "test" || rel == "api" || rel == "doc" || rel == "misc" || rel == "src/cmd"
	default:
		return strings.HasSuffix(rel, "_test.go")
	}
}

// moduleDownloads returns a module cache's download directory holding
// exactly what `go mod download` fetches for this module, copied from the
// host's module cache (filled first, with the host's own settings).
func moduleDownloads(t *testing.T) string {
	t.Helper()
	if out, err := goCommand("mod", "download").CombinedOutput(); err != nil {
		skipOrFail(t, "go mod download on the host failed (no module proxy, and not in the module cache): "+lastLines(string(out), 3))
	}
	modcache := t.TempDir()
	cmd := goCommand("mod", "download")
	cmd.Env = append(cmd.Env, "GOMODCACHE="+modcache, "GOPROXY=file://"+filepath.Join(goEnv(t, "GOMODCACHE"), "cache", "download"),
		"GOSUMDB=off", // go.sum still checks every module
		"GOFLAGS=-modcacherw")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod download from the host's module cache: %v\n%s", err, out)
	}
	return filepath.Join(modcache, "cache", "download")
}

var (
	// GODEBUG=gocachehash=1 prints every action ID the go command computes.
	compileHash = regexp.MustCompile(`(?m)^HASH\[build [^\]]+\]: ([0-9a-f]{64})$`)
	stdoutHash  = regexp.MustCompile(`(?m)^HASH subkey [0-9a-f]{64} "stdout" = ([0-9a-f]{64})$`)
)

// seedBuildCache puts into /root/.cache/go-build (the build stage's
// GOCACHE) the host's cache entries for compiling every package outside
// this module that the programs import, as the Dockerfile compiles them.
// An entry the host lacks only makes the build slower.
func (r *rootfs) seedBuildCache() int {
	list := goCommand("list", "-deps", "-f", "{{if not (and .Module .Module.Main)}}{{.ImportPath}}{{end}}", "./cmd/...")
	out, err := list.Output()
	if err != nil {
		r.t.Fatalf("go list: %v", err)
	}
	build := goCommand(append([]string{"build", "-trimpath"}, strings.Fields(string(out))...)...)
	build.Env = append(build.Env, "CGO_ENABLED=0", "GODEBUG=gocachehash=1")
	var stderr bytes.Buffer
	build.Stderr = &stderr
	if err := build.Run(); err != nil {
		r.t.Fatalf("go build of the dependencies: %v\n%s", err, lastLines(stderr.String(), 10))
	}
	cache := goEnv(r.t, "GOCACHE")
	n := 0
	for _, re := range []*regexp.Regexp{compileHash, stdoutHash} {
		for _, m := range re.FindAllStringSubmatch(stderr.String(), -1) {
			if r.cacheEntry(cache, m[1]) {
				n++
			}
		}
	}
	return n
}

// cacheEntry copies one entry of a Go build cache, the action's record
// (<id>-a: "v1 <action> <output> <size> <time>") and its output
// (<output>-d); fresh copies, so the build does not touch their times.
func (r *rootfs) cacheEntry(cache, action string) bool {
	rec := filepath.Join(cache, action[:2], action+"-a")
	data, err := os.ReadFile(rec)
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	if len(f) < 3 || f[0] != "v1" || len(f[2]) != 64 {
		return false
	}
	const dst = "/root/.cache/go-build"
	if out := filepath.Join(cache, f[2][:2], f[2]+"-d"); fileExists(out) {
		r.copy(filepath.Join(dst, f[2][:2], f[2]+"-d"), out, 0o644)
	}
	r.copy(filepath.Join(dst, action[:2], action+"-a"), rec, 0o644)
	return true
}

// tree copies the directory src to dst in the image, but what skip
// (given the path relative to src) leaves out.
func (r *rootfs) tree(dst, src string, skip func(rel string, d fs.DirEntry) bool) {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if skip != nil && rel != "." && skip(filepath.ToSlash(rel), d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			r.dir(filepath.Join(dst, rel), 0o755)
		case info.Mode().IsRegular():
			r.copy(filepath.Join(dst, rel), p, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		r.t.Fatalf("copying %s: %v", src, err)
	}
}

// removeImages removes the images a filter selects, newest (children)
// first; one left behind is reported, not failed on.
func removeImages(t *testing.T, filter string) {
	list := func() []string {
		out, _ := exec.Command("docker", "images", "-a", "-q", "--no-trunc", "--filter", filter).Output()
		return strings.Fields(string(out))
	}
	for _, id := range list() {
		exec.Command("docker", "rmi", id).Run() // gone already, with a child, is fine
	}
	if left := list(); len(left) > 0 {
		t.Logf("images left behind (%s): %d", filter, len(left))
	}
}

// isStandin says whether an image is one of these tests' stand-ins (left
// over from a test that was killed): it is rebuilt, not trusted.
func isStandin(name string) bool {
	out, err := exec.Command("docker", "image", "inspect", "-f", `{{index .Config.Labels "org.camrelay.standin"}}`, name).Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// goCommand runs the go command in the repository root.
func goCommand(args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	cmd.Env = os.Environ()
	return cmd
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := goCommand("env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func hostFile(t *testing.T, path, install string) string {
	t.Helper()
	if !fileExists(path) {
		skipOrFail(t, path+" not found on the host ("+install+"): cannot build a stand-in image")
	}
	return path
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

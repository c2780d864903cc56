package deployments

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// No image registry is reachable in CI, so the compose test builds what
// it would pull: a stand-in for the golang image deployments/Dockerfile
// builds FROM (gostandin_test.go), then camrelay's images from that
// Dockerfile (compose build); Redis and nginx, when their official images
// are not already present, from the host's Debian binaries and the shared
// libraries they load, copied into FROM scratch images.

// buildStandins builds the images compose cannot pull, and removes, when
// the test ends, the ones compose will build with tag (one per test run,
// so no image a user built is replaced).
func buildStandins(t *testing.T, spec *composeSpec, tag string) {
	t.Helper()
	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	golangBase(t, string(dockerfile))
	t.Cleanup(func() {
		for _, prog := range []string{"web", "fetcher", "eensim", "camrelay"} {
			exec.Command("docker", "rmi", "camrelay/"+prog+":"+tag).Run()
		}
	})
	if name := spec.Services["redis"].Image; !imageExists(name) {
		r := newRootfs(t)
		r.binary("/usr/local/bin/redis-server", hostBinary(t, "redis-server", "apt-get install redis-server"))
		r.binary("/usr/local/bin/redis-cli", hostBinary(t, "redis-cli", "apt-get install redis-tools"))
		// The official image has a shell; docker-compose.sentinel.yml's
		// sentinels write their config file with it.
		r.binary("/bin/sh", hostBinary(t, "dash", "apt-get install dash"))
		r.dir("/data", 0o777)
		r.build(name, "ENV PATH=/usr/local/bin:/usr/bin:/bin", "WORKDIR /data", "USER 65532:65532",
			"EXPOSE 6379", `CMD ["redis-server"]`)
	}
	if name := spec.Services["nginx"].Image; !imageExists(name) {
		r := newRootfs(t)
		r.binary("/usr/sbin/nginx", hostBinary(t, "nginx", "apt-get install nginx-light"))
		// As in the official image, the master starts as root and its
		// workers drop to nginx's default user, which must exist.
		r.file("/etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")
		r.file("/etc/group", "root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n")
		for _, d := range []string{"/etc/nginx", "/var/lib/nginx", "/var/log/nginx", "/run"} {
			r.dir(d, 0o755)
		}
		r.dir("/tmp", 0o1777)
		r.build(name, "ENV PATH=/usr/sbin:/usr/bin:/bin", "EXPOSE 80", `CMD ["nginx", "-g", "daemon off;"]`)
	}
}

// rootfs is the build context of one stand-in image.
type rootfs struct {
	t   *testing.T
	ctx string
}

func newRootfs(t *testing.T) *rootfs {
	ctx := t.TempDir()
	if err := os.Mkdir(filepath.Join(ctx, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &rootfs{t: t, ctx: ctx}
}

func (r *rootfs) path(p string) string { return filepath.Join(r.ctx, "rootfs", p) }

// copy puts the file src, symlinks followed, at dst in the image.
func (r *rootfs) copy(dst, src string, mode os.FileMode) {
	data, err := os.ReadFile(src)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(dst, data, mode)
}

func (r *rootfs) file(dst, content string) { r.write(dst, []byte(content), 0o644) }

func (r *rootfs) write(dst string, data []byte, mode os.FileMode) {
	if err := os.MkdirAll(filepath.Dir(r.path(dst)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.path(dst), data, mode); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rootfs) dir(p string, mode os.FileMode) {
	if err := os.MkdirAll(r.path(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(r.path(p), mode); err != nil { // past the umask
		r.t.Fatal(err)
	}
}

// binary copies a dynamically linked program and every shared library
// ldd says it loads, each at its own path, loader included.
func (r *rootfs) binary(dst, src string) {
	r.copy(dst, src, 0o755)
	out, err := exec.Command("ldd", src).Output()
	if err != nil {
		r.t.Fatalf("ldd %s: %v", src, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			r.copy(f[2], f[2], 0o755)
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			r.copy(f[0], f[0], 0o755) // the loader
		}
	}
}

// build builds the context FROM scratch as image name; the image is
// removed when the test ends.
func (r *rootfs) build(name string, instructions ...string) {
	r.buildImage(name, instructions...)
	r.t.Cleanup(func() {
		// Without -f: an image some other project's container still uses stays.
		exec.Command("docker", "rmi", name).Run()
	})
}

// buildImage builds the context FROM scratch as image name.
func (r *rootfs) buildImage(name string, instructions ...string) {
	df := "FROM scratch\nCOPY rootfs/ /\nLABEL org.camrelay.standin=true\n" + strings.Join(instructions, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(r.ctx, "Dockerfile"), []byte(df), 0o644); err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "build", "-q", "-t", name, r.ctx).CombinedOutput(); err != nil {
		r.t.Fatalf("docker build %s: %v\n%s", name, err, out)
	}
}

func imageExists(name string) bool {
	return exec.Command("docker", "image", "inspect", name).Run() == nil
}

// hostBinary finds a program of the host's for a stand-in image.
func hostBinary(t *testing.T, name, install string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/" + name, "/usr/sbin/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	skipOrFail(t, fmt.Sprintf("%s not found on the host (%s): cannot build its stand-in image", name, install))
	return ""
}

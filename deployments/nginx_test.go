package deployments

import (
	"context"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/camrelay/camrelay/web"
)

// nginxBinary is the nginx to run nginx.conf with, or skips (fails in CI).
func nginxBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(bin); err != nil {
		skipOrFail(t, "nginx not found (apt-get install nginx-light): not checking nginx.conf with nginx")
	}
	return bin
}

// viewerPaths are requests viewers make, one per route of the replicas'
// public port, and each script and stylesheet the pages load.
func viewerPaths(t *testing.T) []string {
	paths := []string{"/", "/embed/1006073b", "/preview/1006073b.jpg", "/preview/1006073b.mjpg",
		"/preview/1006073b/events", "/events?esn=1006073b&esn=10060a2c", "/api/cameras"}
	return append(paths, webAssets(t)...)
}

// webAssets are the replicas' static files: every script and stylesheet in web/.
func webAssets(t *testing.T) []string {
	var out []string
	err := fs.WalkDir(web.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if ext := path.Ext(p); err == nil && (ext == ".js" || ext == ".css") {
			out = append(out, "/"+p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("web assets: %q, %v", out, err)
	}
	return out
}

// TestNginxPassesOnlyViewersRoutes runs nginx with nginx.conf, its replicas
// replaced by one stand-in that answers everything: viewers' routes reach
// it, operators' endpoints and anything else end at nginx with 404.
func TestNginxPassesOnlyViewersRoutes(t *testing.T) {
	bin := nginxBinary(t)
	var reached atomic.Int64
	replica := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("X-Stand-In", "replica")
	}))
	defer replica.Close()
	base := startNginx(t, bin, strings.TrimPrefix(replica.URL, "http://"))
	for _, p := range viewerPaths(t) {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			if resp := do(t, method, base+p); resp.StatusCode != 200 || resp.Header.Get("X-Stand-In") != "replica" {
				t.Errorf("%s %s: %d, not passed to the replicas", method, p, resp.StatusCode)
			}
		}
	}
	before := reached.Load()
	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/status", "/nope", "/index.html",
		"/preview/", "/preview/1006073b", "/api/cameras/x", "/embed", "/metrics/../metrics", "/%6detrics"} {
		if resp := do(t, http.MethodGet, base+p); resp.StatusCode != 404 {
			t.Errorf("GET %s through nginx: %d, want 404", p, resp.StatusCode)
		}
	}
	if n := reached.Load() - before; n != 0 {
		t.Errorf("%d operator or unknown requests reached the replicas", n)
	}
}

// noRedirects shows a redirect as it is: nginx answering for itself.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// startNginx runs nginx.conf on a loopback port with its upstream servers
// replaced by upstreams, until the test ends, and returns its base URL.
func startNginx(t *testing.T, bin string, upstreams ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nginx takes the port over
	dir := t.TempDir()
	// Started as root, nginx's workers run as nobody: they must reach the
	// cache directory the master creates in dir.
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir's are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := LocalNginx{Listen: addr, Upstreams: upstreams, Dir: dir, Workers: 1}.Render()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", file, "-g", "daemon off;")
	// SIGQUIT: the master stops its workers too (SIGKILL would orphan them).
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	base := "http://" + addr
	waitFor(t, 10*time.Second, "nginx answering", func() bool {
		select {
		case <-exited:
			t.Fatalf("nginx exited:\n%s", out.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return base
}

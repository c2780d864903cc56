package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/camrelay/camrelay/deployments"
	"github.com/camrelay/camrelay/internal/testbed"
)

// errNoNginx means nginx is not installed; the comparison is skipped.
var errNoNginx = errors.New("nginx not found (apt-get install -y nginx-light, or set NGINX): skipping the nginx comparison")

// nginx is an nginx process serving on a loopback port.
type nginx struct {
	addr string
	cmd  *exec.Cmd
}

// nginxConf is what both of the benchmark's nginx configs hold: in the
// foreground, everything under dir (%[2]s), no access log, keep-alive
// without a request limit. %[5]s adds to the main context and %[6]s to
// http, where the static server and the load balancer differ.
const nginxConf = `daemon off;
master_process on;
%[4]s
worker_processes %[1]d;
%[5]spid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections %[7]d; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
%[6]s}
`

// nginxStatic serves dir's files with the settings a tuned static server
// would use, so the comparison is against nginx at its best: one worker
// per core, sendfile, open files kept, keep-alive without a request limit,
// no access log.
const nginxStatic = `	sendfile on;
	tcp_nopush on;
	open_file_cache max=64 inactive=60s;
	open_file_cache_valid 60s;
	types { image/jpeg jpg; }
	server {
		listen %[1]s;
		root %[2]s/www;
		etag on;
		add_header Cache-Control no-cache;
		add_header X-Content-Type-Options nosniff;
	}
`

// nginxLB balances over web replicas as deployments/nginx.conf does
// (least_conn, HTTP/1.1 with keep-alive to the replicas, buffered images),
// with enough idle upstream connections per worker that a load of a few
// hundred client connections never opens a new one per request.
const nginxLB = `	tcp_nodelay on;
	upstream camrelay_web {
		least_conn;
%[2]s		keepalive 1024;
		keepalive_requests 1000000;
		keepalive_timeout 50s;
	}
	server {
		listen %[1]s;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		proxy_set_header Host $host;
		location / {
			proxy_pass http://camrelay_web;
			proxy_buffers 32 8k;
			proxy_max_temp_file_size 0;
			proxy_read_timeout 15s;
		}
	}
`

// startNginx serves body as /preview/<name> from a config generated in
// dir, on a free loopback port, with workers nginx processes.
func startNginx(ctx context.Context, dir, name string, body []byte, workers int) (*nginx, error) {
	www := filepath.Join(dir, "www", "preview")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(www, name), body, 0o644); err != nil {
		return nil, err
	}
	return runNginx(ctx, dir, workers, "", 4096, func(addr string) string { return fmt.Sprintf(nginxStatic, addr, dir) })
}

// startNginxLB runs nginx as a load balancer in front of backends
// (host:port each), from a config generated in dir, on a free loopback
// port, with workers nginx processes.
func startNginxLB(ctx context.Context, dir string, backends []string, workers int) (*nginx, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "\t\tserver %s max_fails=1 fail_timeout=5s;\n", b)
	}
	return runNginx(ctx, dir, workers, "worker_rlimit_nofile 16384;\n", 8192,
		func(addr string) string { return fmt.Sprintf(nginxLB, addr, servers.String()) })
}

// startShippedNginx runs deployments/nginx.conf itself, microcache and
// all, in front of backends (host:port each), on a free loopback port:
// only its addresses and paths are changed (deployments.LocalNginx).
func startShippedNginx(ctx context.Context, dir string, backends []string) (*nginx, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return runNginxConf(ctx, dir, func(addr string) ([]byte, error) {
		conf, err := deployments.LocalNginx{Listen: addr, Upstreams: backends, Dir: dir, ErrorLog: filepath.Join(dir, "error.log")}.Render()
		return append([]byte("daemon off;\n"+userLine()+"\n"), conf...), err
	})
}

// runNginx writes the config into dir, starts nginx ($NGINX, else on
// $PATH) on a free loopback port and waits until it accepts.
func runNginx(ctx context.Context, dir string, workers int, main string, conns int, http func(addr string) string) (*nginx, error) {
	return runNginxConf(ctx, dir, func(addr string) ([]byte, error) {
		return fmt.Appendf(nil, nginxConf, workers, dir, addr, userLine(), main, http(addr), conns), nil
	})
}

// runNginxConf starts nginx ($NGINX, else on $PATH) with the config
// render makes for a free loopback port, written into dir, and waits
// until it accepts.
func runNginxConf(ctx context.Context, dir string, render func(addr string) ([]byte, error)) (*nginx, error) {
	bin := os.Getenv("NGINX")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("nginx"); err != nil {
			return nil, errNoNginx
		}
	}
	addr, err := testbed.FreeAddr()
	if err != nil {
		return nil, err
	}
	body, err := render(addr)
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, body, 0o644); err != nil {
		return nil, err
	}
	out := testbed.SyncBuffer{Keep: 4 << 10}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nginx{addr: addr, cmd: cmd}
	if err := testbed.Wait(ctx, 10*time.Second, "nginx listening", func() bool { return accepts(ctx, addr) }); err != nil {
		n.stop()
		return nil, fmt.Errorf("nginx did not start: %w: %s", err, out.String())
	}
	return n, nil
}

// workersCPU is the CPU time nginx's workers (the master's children) used
// so far.
func (n *nginx) workersCPU() (time.Duration, error) {
	pid := n.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, f := range strings.Fields(string(b)) {
		child, err := strconv.Atoi(f)
		if err != nil {
			return 0, err
		}
		d, err := pidCPU(child)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// accepts reports whether addr accepts a TCP connection.
func accepts(ctx context.Context, addr string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// stop ends nginx and its workers.
func (n *nginx) stop() {
	n.cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown of master and workers
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		n.cmd.Process.Kill()
		<-done
	}
}

// userLine keeps workers under the caller's user: as root, nginx would
// otherwise switch them to nobody, who cannot read a private temp dir.
func userLine() string {
	if os.Geteuid() == 0 {
		return "user root;"
	}
	return ""
}

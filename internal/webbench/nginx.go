package webbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoNginx means nginx is not installed; the comparison is skipped.
var ErrNoNginx = errors.New("nginx not found (apt-get install -y nginx-light, or set NGINX): skipping the nginx comparison")

// Nginx is an nginx process serving one static file on a loopback port.
type Nginx struct {
	Addr string
	cmd  *exec.Cmd
}

// nginxConf serves dir's files with the settings a tuned static server
// would use, so the comparison is against nginx at its best: one worker
// per core, sendfile, keep-alive without a request limit, no access log.
const nginxConf = `daemon off;
master_process on;
%[4]s
worker_processes %[1]d;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	types { image/jpeg jpg; }
	server {
		listen %[3]s;
		root %[2]s/www;
		etag on;
		add_header Cache-Control no-cache;
		add_header X-Content-Type-Options nosniff;
	}
}
`

// StartNginx serves body as /preview/<name> from a config generated in
// dir, on a free loopback port, with workers nginx processes.
func StartNginx(dir, name string, body []byte, workers int) (*Nginx, error) {
	bin, err := nginxBinary()
	if err != nil {
		return nil, err
	}
	www := filepath.Join(dir, "www", "preview")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(www, name), body, 0o644); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return runNginx(bin, dir, addr, fmt.Appendf(nil, nginxConf, workers, dir, addr, userLine()))
}

// nginxBinary finds nginx: $NGINX, else on $PATH.
func nginxBinary() (string, error) {
	if bin := os.Getenv("NGINX"); bin != "" {
		return bin, nil
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return "", ErrNoNginx
	}
	return bin, nil
}

// runNginx starts nginx with config in dir and waits until addr accepts.
func runNginx(bin, dir, addr string, config []byte) (*Nginx, error) {
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, config, 0o644); err != nil {
		return nil, err
	}
	var out strings.Builder
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &Nginx{Addr: addr, cmd: cmd}
	if err := waitListening(addr, 10*time.Second); err != nil {
		n.Stop()
		return nil, fmt.Errorf("nginx did not start: %w: %s", err, out.String())
	}
	return n, nil
}

// Stop ends nginx and its workers.
func (n *Nginx) Stop() {
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

// freeAddr asks the kernel for a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening polls addr until it accepts a connection or d passes.
func waitListening(addr string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		var dl net.Dialer
		c, err := dl.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

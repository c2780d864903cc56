package webbench

import (
	"fmt"
	"os"
	"strings"
)

// nginxLBConf balances over web replicas as deployments/nginx.conf does
// (least_conn, HTTP/1.1 with keep-alive to the replicas, buffered images),
// with enough idle upstream connections per worker that a load of a few
// hundred client connections never opens a new one per request.
const nginxLBConf = `daemon off;
master_process on;
%[4]s
worker_processes %[1]d;
worker_rlimit_nofile 16384;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	tcp_nodelay on;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	upstream camrelay_web {
		least_conn;
%[5]s		keepalive 1024;
		keepalive_requests 1000000;
		keepalive_timeout 50s;
	}
	server {
		listen %[3]s;
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
}
`

// StartNginxLB runs nginx as a load balancer in front of backends
// (host:port each), from a config generated in dir, on a free loopback
// port, with workers nginx processes.
func StartNginxLB(dir string, backends []string, workers int) (*Nginx, error) {
	bin, err := nginxBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "\t\tserver %s max_fails=1 fail_timeout=5s;\n", b)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return runNginx(bin, dir, addr, fmt.Appendf(nil, nginxLBConf, workers, dir, addr, userLine(), servers.String()))
}

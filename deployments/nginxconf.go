package deployments

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// NginxConf is nginx.conf as shipped: the compose load balancer.
//
//go:embed nginx.conf
var NginxConf []byte

// LocalNginx says where nginx.conf runs outside compose: the tests and the
// bench run the shipped file with only these lines changed, so what they
// measure is what ships.
type LocalNginx struct {
	Listen    string   // host:port in place of port 80
	Upstreams []string // host:port of each replica, in place of web1..web3
	Dir       string   // pid file and the stills cache go here
	Workers   int      // worker_processes; 0 keeps auto
	ErrorLog  string   // a file in place of stderr; "" keeps stderr
}

// Render is nginx.conf rewritten for l: listen address, upstream servers,
// pid and cache paths under Dir, no access log, and Workers.
func (l LocalNginx) Render() ([]byte, error) {
	var servers []string
	for _, u := range l.Upstreams {
		servers = append(servers, "server "+u+" max_fails=1 fail_timeout=5s;")
	}
	conf := regexp.MustCompile(`server web\d+:\d+[^;]*;`).ReplaceAllLiteral(NginxConf, nil)
	edits := []struct{ re, with string }{
		{`(?m)^(\s*)least_conn;`, "${1}least_conn;\n${1}" + strings.Join(servers, "\n${1}")},
		{`(?m)^(\s*)listen 80;`, "${1}listen " + l.Listen + ";"},
		{`(?m)^pid .*;`, "pid " + filepath.Join(l.Dir, "nginx.pid") + ";"},
		{`access_log \S+;`, "access_log off;"},
		{`proxy_cache_path \S+`, "proxy_cache_path " + filepath.Join(l.Dir, "stills")},
	}
	if l.Workers > 0 {
		edits = append(edits, struct{ re, with string }{`(?m)^worker_processes \S+;`, fmt.Sprintf("worker_processes %d;", l.Workers)})
	}
	if l.ErrorLog != "" {
		edits = append(edits, struct{ re, with string }{`(?m)^error_log stderr`, "error_log " + l.ErrorLog})
	}
	for _, e := range edits {
		re := regexp.MustCompile(e.re)
		if !re.Match(conf) {
			return nil, fmt.Errorf("nginx.conf: no line matches %q: the local rewrite needs updating", e.re)
		}
		conf = re.ReplaceAll(conf, []byte(e.with))
	}
	return conf, nil
}

package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Probe says where a program answers health checks: the variable that
// names its listen address, that variable's default, and the path to GET.
type Probe struct {
	AddrVar     string
	DefaultAddr string
	Path        string
}

// The programs' probes. Readiness, not liveness, by default: compose's
// depends_on waits on these, and a web replica is of no use to the load
// balancer before it has subscribed.
var (
	WebProbe     = Probe{AddrVar: "LISTEN_ADDR", DefaultAddr: defaultListenAddr, Path: "/readyz"}
	FetcherProbe = Probe{AddrVar: "ADMIN_ADDR", DefaultAddr: defaultFetcherAdminAddr, Path: "/readyz"}
	SimProbe     = Probe{AddrVar: "EENSIM_ADDR", DefaultAddr: defaultSimAddr, Path: "/_sim/stats"}
)

// WithHealthcheck adds a "healthcheck" subcommand to a program: an image
// built FROM scratch has no shell or curl, so the binary itself must be
// able to ask its running twin whether it is healthy (Docker HEALTHCHECK,
// compose healthcheck, a Kubernetes exec probe).
func WithHealthcheck(run func(context.Context, Env) error, p Probe) func(context.Context, Env) error {
	return func(ctx context.Context, env Env) error {
		if len(env.Args) > 0 && env.Args[0] == "healthcheck" {
			return Healthcheck(ctx, env, p)
		}
		return run(ctx, env)
	}
}

// Healthcheck GETs the program's health URL and returns nil on a 2xx
// answer. Args are "healthcheck [path|url]": by default the probe's path
// on the address in the probe's variable (0.0.0.0 and :port mean
// loopback); a path replaces the probe's path, a full URL replaces it all
// (for a program whose address was set by a flag). Problems are plain
// errors, never ErrUsage: Docker reserves exit status 2.
func Healthcheck(ctx context.Context, env Env, p Probe) error {
	target, err := p.target(env)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// No proxy from the environment: the target is this container or pod.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("healthcheck: %s answered %s: %s", target, resp.Status, strings.TrimSpace(string(body)))
	}
	if env.Stdout != nil {
		fmt.Fprintf(env.Stdout, "%s: %s\n", target, resp.Status)
	}
	return nil
}

// target is the URL a healthcheck asks.
func (p Probe) target(env Env) (string, error) {
	if len(env.Args) > 2 {
		return "", errors.New("usage: healthcheck [path|url]")
	}
	var arg string
	if len(env.Args) == 2 {
		arg = env.Args[1]
	}
	if strings.Contains(arg, "://") {
		return arg, nil
	}
	path := cmp.Or(arg, p.Path)
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("%q is neither a path nor a URL", arg)
	}
	var addr string
	if env.Getenv != nil {
		addr = env.Getenv(p.AddrVar)
	}
	addr = cmp.Or(addr, p.DefaultAddr)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s: %q is not host:port", p.AddrVar, addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // a wildcard listener answers on loopback too
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

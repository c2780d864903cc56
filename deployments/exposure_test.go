package deployments

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// operatorPaths are the replicas' operator endpoints and other paths no
// viewer needs: none may be reachable from outside.
var operatorPaths = []string{"/metrics", "/healthz", "/readyz", "/status", "/nope", "/index.html"}

// ingressMatches reports whether an Ingress path of pathType matches the
// request path p, as Kubernetes defines it: Exact is equality, Prefix
// matches element by element on "/".
func ingressMatches(path, pathType, p string) bool {
	p, _, _ = strings.Cut(p, "?")
	if pathType == "Exact" {
		return p == path
	}
	path = strings.TrimSuffix(path, "/")
	return p == path || strings.HasPrefix(p, path+"/") || path == ""
}

// TestK8sIngressViewerRoutesOnly: the Ingress routes every viewers' request
// to the web Service and no operator endpoint.
func TestK8sIngressViewerRoutesOnly(t *testing.T) {
	m := loadManifests(t)
	if len(m.ingresses) == 0 {
		t.Fatal("no Ingress")
	}
	routed := func(p string) bool {
		for _, ing := range m.ingresses {
			for _, r := range ing.Spec.Rules {
				for _, ip := range r.HTTP.Paths {
					if ingressMatches(ip.Path, ip.PathType, p) {
						return true
					}
				}
			}
		}
		return false
	}
	for _, p := range viewerPaths(t) {
		if !routed(p) {
			t.Errorf("the Ingress does not route %s", p)
		}
	}
	for _, p := range operatorPaths {
		if routed(p) {
			t.Errorf("the Ingress routes %s to the world", p)
		}
	}
}

// TestWebAdminPortKeptApart: in compose and Kubernetes the web replicas
// serve /metrics on ADMIN_ADDR, a port apart from the viewers' one that
// no load balancer or Service sends viewers to; Prometheus finds it.
func TestWebAdminPortKeptApart(t *testing.T) {
	c := loadCompose(t)
	for _, w := range c.servicesOf("web") {
		env := c.Services[w].Environment
		if admin, listen := port(env["ADMIN_ADDR"]), port(env["LISTEN_ADDR"]); admin == 0 || admin == listen {
			t.Errorf("%s: ADMIN_ADDR %q must be set, on a port apart from LISTEN_ADDR %q", w, env["ADMIN_ADDR"], env["LISTEN_ADDR"])
		}
	}
	m := loadManifests(t)
	web := m.deployments["camrelay-web"]
	if web == nil || len(web.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("no camrelay-web Deployment")
	}
	ctr := web.Spec.Template.Spec.Containers[0]
	e := findEnv(ctr.Env, "ADMIN_ADDR")
	if e == nil || !hasPort(ctr, "admin") || !hasPort(ctr, port(e.Value)) {
		t.Fatalf("web container: ADMIN_ADDR %v must be set and declared as container port \"admin\"", e)
	}
	admin := port(e.Value)
	if a := web.Spec.Template.Metadata.Annotations; a["prometheus.io/port"] != strconv.Itoa(admin) || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("web pods' prometheus annotations %v: want port %d, path /metrics", a, admin)
	}
	for _, p := range m.services[web.Metadata.Name].Spec.Ports {
		if p.TargetPort == "admin" || toInt(p.TargetPort) == admin {
			t.Errorf("Service %s exposes the admin port", web.Metadata.Name)
		}
	}
}

// port is the port number of a host:port setting, 0 when there is none.
func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/camrelay/camrelay/internal/testbed"
)

// checkNoSecrets: no access token, refresh token or authorization code
// that passed the token endpoint, nor the client secret, appears in any
// child's log, in what "fetcher connect" printed, or in the HTTP answers
// of the fetchers' operators' ports and the web replica's ports.
func (c *v3Cluster) checkNoSecrets(t *testing.T) {
	secrets := append(c.gate.seen(), testbed.SimClientSecret)
	for _, sc := range c.connect {
		secrets = append(secrets, sc.Code)
	}
	// The set Redis holds now must be among those looked for.
	h := c.tokenHash(t)
	for _, f := range []string{"access_token", "refresh_token"} {
		if h[f] == "" || !slices.Contains(secrets, h[f]) {
			t.Fatalf("Redis' %s is not among the %d secrets the gate saw", f, len(secrets))
		}
	}
	all := c.exposed(t)
	leaks := 0
	for _, s := range secrets {
		if strings.Contains(all, s) {
			leaks++
		}
	}
	t.Logf("checked %d bytes of logs, connect output and HTTP answers against %d tokens, codes and the client secret", len(all), len(secrets))
	if leaks > 0 {
		t.Errorf("%d of %d secrets appear in logs, connect output or HTTP answers", leaks, len(secrets))
	}
}

// exposed is everything the cluster showed: what connect printed, the
// HTTP answers of the live fetchers' and the web replica's ports, and
// every child's log.
func (c *v3Cluster) exposed(t *testing.T) string {
	var b strings.Builder
	for _, sc := range c.connect {
		b.WriteString(sc.Output)
	}
	for _, p := range c.alive() {
		for _, path := range []string{"/status", "/metrics", "/readyz", "/healthz"} {
			b.WriteString(dump(t, "http://"+p.admin+path, 0))
		}
	}
	w, wa := "http://"+c.web.Addr("web"), "http://"+c.web.Addr("admin")
	for _, u := range []string{w + "/", w + "/api/cameras", w + "/readyz", w + "/preview/" + string(c.cams[0]) + ".jpg",
		wa + "/metrics", wa + "/readyz"} {
		b.WriteString(dump(t, u, 0))
	}
	for _, p := range c.fetchers {
		b.WriteString(p.logs.String())
	}
	b.WriteString(c.web.Logs.String())
	b.WriteString(c.stack.Sim.Logs.String())
	return b.String()
}

package e2e

import (
	"maps"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
)

// camStack is the smallest whole camrelay: the simulator with camA (plus
// simCams, comma-separated, that are not public) every 250 ms, a fetcher
// of camA and a web replica, on Redis at redisURL. The maps override or
// add settings of the fetcher and of the replica. It returns once the
// replica serves camA's image.
func camStack(t *testing.T, redisURL, simCams string, fetcherVars, webVars map[string]string) (sim, fetcher, web *proc) {
	t.Helper()
	cameras := camA
	if simCams != "" {
		cameras += "," + simCams
	}
	sim = start(t, "eensim", app.RunSim, map[string]string{
		"EENSIM_ADDR": "127.0.0.1:0", "CAMERAS": cameras, "EENSIM_INTERVAL": "250ms",
		"EEN_USERNAME": "proxy@example.com", "EEN_PASSWORD": "stack-secret",
	}, "eensim")
	fv := map[string]string{
		"REDIS_URL": redisURL, "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "LOCK_TTL": "2s",
		"EEN_BASE_URL": sim.URL("eensim"), "EEN_USERNAME": "proxy@example.com", "EEN_PASSWORD": "stack-secret",
		"CAMERAS": camA,
	}
	maps.Copy(fv, fetcherVars)
	fetcher = start(t, "fetcher", app.RunFetcher, fv, "admin")
	wv := map[string]string{"REDIS_URL": redisURL, "LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error"}
	maps.Copy(wv, webVars)
	web = start(t, "web", app.RunWeb, wv, "web")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fetcher:\n%s\nweb:\n%s", fetcher.Logs, web.Logs)
		}
	})
	waitFor(t, 15*time.Second, "an image", func() bool { return status(web.URL("web")+"/preview/"+camA+".jpg") == 200 })
	return sim, fetcher, web
}

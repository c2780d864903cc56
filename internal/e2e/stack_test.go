package e2e

import (
	"maps"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// camStack is the smallest whole camrelay: the simulator with camA (plus
// simCams, comma-separated, that are not public) every 250 ms, a fetcher
// of camA and a web replica, on Redis at redisURL. The maps override or
// add settings of the fetcher and of the replica. It returns once the
// replica serves camA's image.
func camStack(t *testing.T, redisURL, simCams string, fetcherVars, webVars map[string]string) (sim, fetcher, web *inproc.Proc) {
	t.Helper()
	cameras := camA
	if simCams != "" {
		cameras += "," + simCams
	}
	fv := map[string]string{"LOG_LEVEL": "error", "LOCK_TTL": "2s", "CAMERAS": camA}
	maps.Copy(fv, fetcherVars)
	wv := map[string]string{"LOG_LEVEL": "error"}
	maps.Copy(wv, webVars)
	s := inproc.StartStack(t, inproc.Options{RedisURL: redisURL, Cameras: cameras, Fetcher: fv, Web: wv})
	s.WaitServed(15*time.Second, camA)
	return s.Sim, s.Fetchers[0], s.Webs[0]
}

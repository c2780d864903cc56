package inproc

import (
	"context"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// A stack of one simulator, two fetchers and two replicas serves its
// camera from every replica, with one fetcher leading it.
func TestStack(t *testing.T) {
	rds := testbed.Redis(t)
	s := StartStack(t, Options{RedisURL: rds.URL(), Cameras: "1006073b", Fetchers: 2, Webs: 2,
		Fetcher: map[string]string{"LOG_LEVEL": "warn", "LOCK_TTL": "2s"}, Web: map[string]string{"LOG_LEVEL": "warn"}})
	if s.Vars.Fetcher["EEN_BASE_URL"] != s.Sim.URL("eensim") {
		t.Errorf("fetchers point at %q, the simulator listens at %s", s.Vars.Fetcher["EEN_BASE_URL"], s.Sim.URL("eensim"))
	}
	s.WaitServed(15*time.Second, "1006073b")
	testbed.WaitFor(t, 10*time.Second, "one leader", func() bool {
		n := 0
		for _, f := range s.Fetchers {
			st, _ := testbed.FetcherStatus(context.Background(), f.URL("admin"))
			if st["1006073b"].Leading {
				n++
			}
		}
		return n == 1
	})
	if len(s.Webs) != 2 || s.Webs[1].URL("web") == s.Web() {
		t.Errorf("webs %v", s.Webs)
	}
}

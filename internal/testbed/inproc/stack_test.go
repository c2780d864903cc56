package inproc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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

// With an upstream of the caller's, no simulator starts and the fetchers,
// with the caller's settings added, log in there.
func TestStackOnCallersUpstream(t *testing.T) {
	rds := testbed.Redis(t)
	var logins atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/g/aaa/authenticate" {
			logins.Add(1)
		}
		http.Error(w, "refused", http.StatusUnauthorized)
	}))
	t.Cleanup(upstream.Close)
	s := StartStack(t, Options{RedisURL: rds.URL(), Cameras: "1006073b", Upstream: upstream.URL, Webs: -1,
		Fetcher: map[string]string{"EEN_PASSWORD": "the-callers", "LOG_LEVEL": "error"}})
	if s.Sim != nil || len(s.Webs) != 0 || len(s.Fetchers) != 1 {
		t.Fatalf("sim %v, %d fetchers, %d webs", s.Sim, len(s.Fetchers), len(s.Webs))
	}
	if v := s.Vars.Fetcher; v["EEN_BASE_URL"] != upstream.URL || v["EEN_PASSWORD"] != "the-callers" {
		t.Errorf("fetcher settings %v", v)
	}
	testbed.WaitFor(t, 10*time.Second, "a login at the caller's upstream", func() bool { return logins.Load() > 0 })
}

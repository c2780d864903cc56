package inproc

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Options shape a Stack. Zero values: one fetcher, one web replica, a
// frame every 250 ms.
type Options struct {
	RedisURL string // the Redis every program uses
	Cameras  string // the simulator's cameras, comma-separated ("esn" or "esn=name")
	Interval time.Duration
	Upstream string            // an EEN the caller runs: no simulator is started
	Fetchers int               // how many fetchers; -1 for none
	Webs     int               // how many web replicas; -1 for none
	Fetcher  map[string]string // settings added to or overriding each fetcher's
	Web      map[string]string // settings added to or overriding each replica's
}

// Stack is camrelay in-process: the simulator (unless the caller runs the
// upstream), fetchers and web replicas over one Redis, each stopped when
// the test ends.
type Stack struct {
	t        testing.TB
	Vars     testbed.StackVars // the programs' settings, with Options' added
	Sim      *Proc             // nil with Options.Upstream
	Fetchers []*Proc
	Webs     []*Proc
}

// StartStack runs a stack for t; it returns once every program listens
// (it does not wait for frames).
func StartStack(t testing.TB, opt Options) *Stack {
	t.Helper()
	interval := opt.Interval
	if interval == 0 {
		interval = 250 * time.Millisecond
	}
	s := &Stack{t: t}
	v := testbed.Vars(opt.RedisURL, opt.Cameras, interval.String())
	upstream := opt.Upstream
	if upstream == "" {
		s.Sim = Run(t, "eensim", app.RunSim, v.Sim, "eensim")
		upstream = s.Sim.URL("eensim")
	}
	s.Vars = v.WithSim(upstream)
	maps.Copy(s.Vars.Fetcher, opt.Fetcher)
	s.Vars.Web = maps.Clone(s.Vars.Web)
	maps.Copy(s.Vars.Web, opt.Web)
	for range count(opt.Fetchers) {
		s.AddFetcher()
	}
	for range count(opt.Webs) {
		s.AddWeb()
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range append(s.Fetchers, s.Webs...) {
				t.Logf("%s:\n%s", p.Name, p.Logs)
			}
		}
	})
	return s
}

func count(n int) int {
	if n == 0 {
		return 1
	}
	return max(n, 0)
}

// AddFetcher starts one more fetcher with the stack's settings.
func (s *Stack) AddFetcher() *Proc {
	s.t.Helper()
	p := Run(s.t, "fetcher", app.RunFetcher, s.Vars.Fetcher, "admin")
	s.Fetchers = append(s.Fetchers, p)
	return p
}

// AddWeb starts one more web replica with the stack's settings.
func (s *Stack) AddWeb() *Proc {
	s.t.Helper()
	listeners := []string{"web"}
	if s.Vars.Web["ADMIN_ADDR"] != "" {
		listeners = append(listeners, "admin")
	}
	p := Run(s.t, "web", app.RunWeb, s.Vars.Web, listeners...)
	s.Webs = append(s.Webs, p)
	return p
}

// Web is the address of the first web replica's public port.
func (s *Stack) Web() string { return s.Webs[0].URL("web") }

// WaitServed waits until the first replica serves every esn's image.
func (s *Stack) WaitServed(within time.Duration, esns ...string) {
	s.t.Helper()
	testbed.WaitFor(s.t, within, "every camera served", func() bool {
		for _, esn := range esns {
			resp, err := http.Get(s.Web() + "/preview/" + esn + ".jpg")
			if err != nil {
				return false
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	})
}

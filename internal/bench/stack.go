package bench

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// stack is a real Redis, the EEN simulator, and fetchers and web replicas,
// each program a child process.
type stack struct {
	rds      *redisServer
	sim      *proc
	cams     []preview.ESN
	vars     testbed.StackVars // every program's settings
	fetchers []*proc
	webs     []*proc
}

// cameraList is n camera ids starting at base.
func cameraList(n int, base uint32) []preview.ESN {
	cams := make([]preview.ESN, n)
	for i := range cams {
		cams[i] = preview.ESN(fmt.Sprintf("%08x", base+uint32(i)))
	}
	return cams
}

func joinESNs(cams []preview.ESN) string {
	s := make([]string, len(cams))
	for i, c := range cams {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

// startStack starts Redis and a simulator of n cameras with a frame every
// interval; fetchers and web replicas are added with addFetcher and addWeb.
func (e *env) startStack(ctx context.Context, name string, n int, interval time.Duration, lockTTL time.Duration) (*stack, error) {
	s := &stack{cams: cameraList(n, 0x30000000)}
	var err error
	if s.rds, err = startRedis(filepath.Join(e.dir, name+"-redis")); err != nil {
		return nil, err
	}
	if s.sim, err = startSim(ctx, s.cams, interval); err != nil {
		s.close()
		return nil, err
	}
	s.vars = testbed.Vars(s.rds.URL(), joinESNs(s.cams), interval.String()).WithSim("http://" + s.sim.Addr("eensim"))
	s.vars.Fetcher["LOCK_TTL"] = lockTTL.String()
	s.vars.Fetcher["LOG_LEVEL"] = "warn"
	return s, nil
}

// startSim runs the EEN simulator as a child.
func startSim(ctx context.Context, cams []preview.ESN, interval time.Duration) (*proc, error) {
	return startProc(ctx, "eensim", testbed.Vars("", joinESNs(cams), interval.String()).Sim, "eensim")
}

// addFetcher starts one more fetcher with the stack's settings and extra.
func (s *stack) addFetcher(ctx context.Context, extra map[string]string) (*proc, error) {
	vars := maps.Clone(s.vars.Fetcher)
	maps.Copy(vars, extra)
	p, err := startProc(ctx, "fetcher", vars, "admin")
	if err != nil {
		return nil, err
	}
	s.fetchers = append(s.fetchers, p)
	return p, nil
}

// addWeb starts one more web replica on the stack's Redis.
func (s *stack) addWeb(ctx context.Context, extra map[string]string) (*proc, error) {
	p, err := s.startWeb(ctx, extra)
	if p != nil {
		s.webs = append(s.webs, p)
	}
	return p, err
}

// startWeb starts a web replica and waits until it is ready.
func (s *stack) startWeb(ctx context.Context, extra map[string]string) (*proc, error) {
	vars := maps.Clone(testbed.Vars(s.rds.URL(), "", "").Web)
	vars["LOG_LEVEL"] = "warn"
	maps.Copy(vars, extra)
	p, err := startProc(ctx, "web", vars, "web")
	if err != nil {
		return nil, err
	}
	err = testbed.Wait(ctx, 20*time.Second, "web replica ready", func() bool {
		return httpStatus(ctx, "http://"+p.Addr("web")+"/readyz") == http.StatusOK
	})
	return p, err
}

// addFetchers starts k fetchers at once.
func (s *stack) addFetchers(ctx context.Context, k int, extra map[string]string) error {
	ps, err := startMany(k, func() (*proc, error) {
		vars := maps.Clone(s.vars.Fetcher)
		maps.Copy(vars, extra)
		return startProc(ctx, "fetcher", vars, "admin")
	})
	s.fetchers = append(s.fetchers, ps...)
	return err
}

// addWebs starts k web replicas at once.
func (s *stack) addWebs(ctx context.Context, k int, extra map[string]string) error {
	ps, err := startMany(k, func() (*proc, error) { return s.startWeb(ctx, extra) })
	s.webs = append(s.webs, ps...)
	return err
}

// startMany runs start k times concurrently; it returns what started.
func startMany(k int, start func() (*proc, error)) ([]*proc, error) {
	ps := make([]*proc, k)
	var g errgroup.Group
	for i := range ps {
		g.Go(func() (err error) { ps[i], err = start(); return err })
	}
	err := g.Wait()
	return slices.DeleteFunc(ps, func(p *proc) bool { return p == nil }), err
}

// close stops every process of the stack.
func (s *stack) close() {
	var wg sync.WaitGroup
	for _, p := range append(s.webs, s.fetchers...) {
		wg.Go(p.Stop)
	}
	wg.Wait()
	if s.sim != nil {
		s.sim.Stop()
	}
	if s.rds != nil {
		s.rds.stop()
	}
}

// status is a fetcher's per-camera state from its admin port.
func status(ctx context.Context, p *proc) map[preview.ESN]fetcher.CameraState {
	st, _ := testbed.FetcherStatus(ctx, "http://"+p.Addr("admin"))
	return st
}

// leaders counts, per camera, the fetchers among ps that lead it, and the
// frames they stored in all.
func leaders(ctx context.Context, ps []*proc) (lead map[preview.ESN]int, stored int64) {
	lead = make(map[preview.ESN]int)
	for _, p := range ps {
		for esn, st := range status(ctx, p) {
			if st.Leading {
				lead[esn]++
			}
			stored += st.Stored
		}
	}
	return lead, stored
}

// settled reports whether every camera of the stack has exactly one leader
// among its fetchers.
func (s *stack) settled(ctx context.Context) bool {
	lead, _ := leaders(ctx, s.fetchers)
	for _, esn := range s.cams {
		if lead[esn] != 1 {
			return false
		}
	}
	return true
}

// simCalls is the simulator's image calls so far (prev, next, asset, after).
func simCalls(ctx context.Context, sim *proc) (int64, error) {
	st, err := testbed.SimStats(ctx, "http://"+sim.Addr("eensim"))
	if err != nil {
		return 0, err
	}
	return st.Total("prev") + st.Total("next") + st.Total("asset") + st.Total("after"), nil
}

// The benchmark's own HTTP clients: status and image requests time out,
// streams do not; Run closes their idle connections when it ends.
var (
	transport    = &http.Transport{MaxIdleConnsPerHost: 64}
	httpClient   = &http.Client{Transport: transport, Timeout: 10 * time.Second}
	streamClient = &http.Client{Transport: transport}
)

func httpStatus(ctx context.Context, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

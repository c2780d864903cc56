package bench

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/child"
)

// stack is a real Redis, the EEN simulator, and fetchers and web replicas,
// each program a child process.
type stack struct {
	*child.Stack
	rds  *redisServer
	cams []preview.ESN
}

// newStack is a stack on rds with no process yet; the programs log
// warnings only.
func newStack(rds *redisServer, cams []preview.ESN, interval time.Duration) *stack {
	s := &stack{rds: rds, cams: cams, Stack: child.NewStack(testbed.Vars(rds.URL(), joinESNs(cams), interval.String()))}
	s.LogTail = 4 << 10
	s.Vars.Fetcher["LOG_LEVEL"] = "warn"
	s.Vars.Web["LOG_LEVEL"] = "warn"
	return s
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
// interval; fetchers and web replicas are added with AddFetcher and AddWeb.
func (e *env) startStack(ctx context.Context, name string, n int, interval time.Duration, lockTTL time.Duration) (*stack, error) {
	s, err := e.stackOn(name, n, interval, lockTTL)
	if err != nil {
		return nil, err
	}
	if err := s.StartSim(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// stackOn starts Redis and returns a stack of n cameras on it, with no
// process yet.
func (e *env) stackOn(name string, n int, interval time.Duration, lockTTL time.Duration) (*stack, error) {
	rds, err := startRedis(filepath.Join(e.dir, name+"-redis"))
	if err != nil {
		return nil, err
	}
	s := newStack(rds, cameraList(n, 0x30000000), interval)
	s.Vars.Fetcher["LOCK_TTL"] = lockTTL.String()
	return s, nil
}

// startSim runs an EEN simulator of its own as a child.
func startSim(ctx context.Context, cams []preview.ESN, interval time.Duration) (*proc, error) {
	return startProc(ctx, "eensim", testbed.Vars("", joinESNs(cams), interval.String()).Sim, "eensim")
}

// close stops every process of the stack, then Redis.
func (s *stack) close() {
	s.Close()
	s.rds.stop()
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
	lead, _ := leaders(ctx, s.Fetchers)
	for _, esn := range s.cams {
		if lead[esn] != 1 {
			return false
		}
	}
	return true
}

// simCalls is the simulator's v1 image calls so far (prev, next, asset,
// after).
func simCalls(sim *proc) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		st, err := testbed.SimStats(ctx, "http://"+sim.Addr("eensim"))
		return st.Total("prev") + st.Total("next") + st.Total("asset") + st.Total("after"), err
	}
}

// liveImageCalls is the simulator's v3 image calls so far.
func liveImageCalls(sim *proc) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		st, err := testbed.SimStats(ctx, "http://"+sim.Addr("eensim"))
		return st.Total("liveImage"), err
	}
}

// The benchmark's own HTTP clients: status and image requests time out,
// streams do not; Run closes their idle connections when it ends.
var (
	transport    = &http.Transport{MaxIdleConnsPerHost: 64}
	httpClient   = &http.Client{Transport: transport, Timeout: 10 * time.Second}
	streamClient = &http.Client{Transport: transport}
)

func httpStatus(ctx context.Context, url string) int {
	code, _ := fetchStatus(ctx, url)
	return code
}

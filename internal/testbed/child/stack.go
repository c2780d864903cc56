package child

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/testbed"
)

// Stack is camrelay as child processes: a simulator, fetchers and web
// replicas over one Redis (the caller's), for what needs each program in
// its own process (kill -9, a replica's own memory and CPU).
type Stack struct {
	Vars    testbed.StackVars // every program's settings
	LogTail int               // as Spec.LogTail, for every child
	// FetcherRole is the role fetchers run as: "fetcher" when empty, or
	// one the caller added to MaybeRun (see Program).
	FetcherRole string
	Sim         *Proc
	Fetchers    []*Proc
	Webs        []*Proc
}

// NewStack is a stack with vars and no process yet.
func NewStack(vars testbed.StackVars) *Stack { return &Stack{Vars: vars} }

// StartSim starts the simulator and points the fetchers at it.
func (s *Stack) StartSim(ctx context.Context) error {
	p, err := Start(ctx, Spec{Role: "eensim", Vars: s.Vars.Sim, Listeners: []string{"eensim"}, LogTail: s.LogTail})
	if err != nil {
		return err
	}
	s.Sim = p
	s.Vars = s.Vars.WithSim("http://" + p.Addr("eensim"))
	return nil
}

// UseUpstream points the fetchers at an EEN the caller runs (a test's own
// switchable or recording upstream), in place of StartSim.
func (s *Stack) UseUpstream(url string) { s.Vars = s.Vars.WithSim(url) }

// AddFetcher starts one more fetcher with the stack's settings and extra.
func (s *Stack) AddFetcher(ctx context.Context, extra map[string]string) (*Proc, error) {
	ps, err := s.AddFetchers(ctx, 1, extra)
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// AddFetchers starts k fetchers at once; it keeps those that started.
func (s *Stack) AddFetchers(ctx context.Context, k int, extra map[string]string) ([]*Proc, error) {
	ps, err := startMany(k, func() (*Proc, error) {
		vars := maps.Clone(s.Vars.Fetcher)
		maps.Copy(vars, extra)
		return Start(ctx, Spec{Role: cmp.Or(s.FetcherRole, "fetcher"), Vars: vars, Listeners: []string{"admin"}, LogTail: s.LogTail})
	})
	s.Fetchers = append(s.Fetchers, ps...)
	return ps, err
}

// AddWeb starts one more web replica and waits until it is ready.
func (s *Stack) AddWeb(ctx context.Context, extra map[string]string) (*Proc, error) {
	ps, err := s.AddWebs(ctx, 1, extra)
	if len(ps) == 0 {
		return nil, err
	}
	return ps[0], err
}

// AddWebs starts k web replicas at once, each waited for until ready; it
// keeps those that started.
func (s *Stack) AddWebs(ctx context.Context, k int, extra map[string]string) ([]*Proc, error) {
	ps, err := startMany(k, func() (*Proc, error) {
		vars := maps.Clone(s.Vars.Web)
		maps.Copy(vars, extra)
		listeners := []string{"web"}
		if vars["ADMIN_ADDR"] != "" {
			listeners = append(listeners, "admin")
		}
		p, err := Start(ctx, Spec{Role: "web", Vars: vars, Listeners: listeners, LogTail: s.LogTail})
		if err != nil {
			return nil, err
		}
		return p, testbed.Wait(ctx, 20*time.Second, "web replica ready", func() bool { return ready(ctx, "http://"+p.Addr("web")) })
	})
	s.Webs = append(s.Webs, ps...)
	return ps, err
}

var readyClient = &http.Client{Timeout: 10 * time.Second}

// ready reports whether the replica at base answers /readyz with 200.
func ready(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := readyClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// startMany runs start k times concurrently; it returns what started.
func startMany(k int, start func() (*Proc, error)) ([]*Proc, error) {
	ps := make([]*Proc, k)
	var g errgroup.Group
	for i := range ps {
		g.Go(func() (err error) { ps[i], err = start(); return err })
	}
	err := g.Wait()
	return slices.DeleteFunc(ps, func(p *Proc) bool { return p == nil }), err
}

// Close stops every process of the stack, replicas and fetchers at once.
func (s *Stack) Close() {
	var wg sync.WaitGroup
	for _, p := range append(s.Webs, s.Fetchers...) {
		wg.Go(p.Stop)
	}
	wg.Wait()
	if s.Sim != nil {
		s.Sim.Stop()
	}
}

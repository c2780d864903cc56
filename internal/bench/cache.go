package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// cacheMaxAge is the replicas' CACHE_MAX_AGE behind the microcache, as in
// docker-compose.yml.
const cacheMaxAge = "1s"

// errSkip: without nginx there is nothing to measure.
var errSkip = errors.New("skipped")

// stillSeries are the replicas' metrics of still requests: what got
// through nginx's cache (a 304 is nginx revalidating its copy).
var stillSeries = []string{
	`camrelay_web_requests_total{code="200",route="/preview/{esn}.jpg"}`,
	`camrelay_web_requests_total{code="304",route="/preview/{esn}.jpg"}`,
}

// cacheScenario measures deployments/nginx.conf's microcache in front of
// 3 replicas (CACHE_MAX_AGE=1s): its req/s beside nginx serving the same
// bytes as a static file, and how many still requests reach the replicas
// when 1,000 viewers poll live cameras through it.
func cacheScenario(ctx context.Context, e *env) ([]Row, error) {
	rows, err := cacheThroughput(ctx, e)
	if errors.Is(err, errSkip) {
		return rows, nil
	}
	if err != nil {
		return rows, err
	}
	more, err := cacheViewers(ctx, e)
	return append(rows, more...), err
}

// cacheThroughput alternates the microcache and the static nginx at 50
// and 500 keep-alive connections over one 25 KB still, Runs times each
// after a warm-up, and counts the requests that reached the replicas.
func cacheThroughput(ctx context.Context, e *env) ([]Row, error) {
	s, body, err := e.imageStack(ctx, "cache", map[string]string{"CACHE_MAX_AGE": cacheMaxAge})
	if s != nil {
		defer s.close()
	}
	if err != nil {
		return nil, err
	}
	static, err := startNginx(ctx, filepath.Join(e.dir, "cache-static"), string(imageESN)+".jpg", body, runtime.NumCPU())
	if errors.Is(err, errNoNginx) {
		return []Row{{Figure: "nginx.conf's microcache", Camrelay: "skipped: nginx not found"}}, errSkip
	}
	if err != nil {
		return nil, err
	}
	defer static.stop()
	cached, err := startShippedNginx(ctx, filepath.Join(e.dir, "cache-lb"), s.webAddrs())
	if err != nil {
		return nil, err
	}
	defer cached.stop()
	path := "/preview/" + string(imageESN) + ".jpg"
	total := e.sized(60000, 1500)
	var rows []Row
	for _, conns := range []int{50, 500} {
		peer := &target{name: "nginx static", addr: static.addr, cpu: static.workersCPU}
		three := &target{name: "3 replicas behind the microcache", addr: cached.addr, cpu: cached.workersCPU}
		r0, t0 := s.stillRequests(ctx), time.Now()
		if err := alternate(ctx, e, []*target{three, peer}, path, conns, total); err != nil {
			return rows, err
		}
		through := (s.stillRequests(ctx) - r0) / time.Since(t0).Seconds()
		rs := pairRatios(three.rates, peer.rates)
		rows = append(rows,
			Row{Figure: fmt.Sprintf("req/s, 3 replicas behind nginx.conf's microcache, %d conns (%s)", conns, ofRuns(len(rs))),
				Camrelay: num(median(three.rates)) + " req/s", Peer: num(median(peer.rates)) + " req/s",
				Ratio: fmt.Sprintf("%.2f", median(rs)), Target: "≥ 0.90 × nginx", Met: met(median(rs) >= 0.9)},
			Row{Figure: fmt.Sprintf("p99 latency, microcache, %d conns", conns),
				Camrelay: ms(time.Duration(median(three.p99s))), Peer: ms(time.Duration(median(peer.p99s))),
				Ratio: fmt.Sprintf("%.2f", median(pairRatios(three.p99s, peer.p99s)))},
			cpuRow(fmt.Sprintf("nginx workers' CPU per request, microcache vs static, %d conns", conns), three, peer),
			Row{Figure: fmt.Sprintf("still requests reaching the 3 replicas during the %d-conn loads", conns),
				Camrelay: fmt.Sprintf("%.2f /s", through), Target: "≈ 1 /s (one camera)"})
	}
	return rows, nil
}

// cacheViewers runs 16 simulated cameras at 4 frames a second, a real
// fetcher and 3 replicas behind the microcache; 1,000 viewers poll their
// camera's still once a second through it. The replicas' own counters
// say how many still requests got through, per camera per second; the
// peer is what reached nginx, what the replicas would get without it.
func cacheViewers(ctx context.Context, e *env) ([]Row, error) {
	ncams, viewers := 16, e.sized(1000, 200)
	interval, win := 250*time.Millisecond, e.window(20*time.Second, 4*time.Second)
	s, err := e.startStack(ctx, "cache", ncams, interval, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if _, err := s.AddFetcher(ctx, nil); err != nil {
		return nil, err
	}
	if _, err := s.AddWebs(ctx, 3, map[string]string{"CACHE_MAX_AGE": cacheMaxAge}); err != nil {
		return nil, err
	}
	if err := testbed.Wait(ctx, 30*time.Second, "every camera served", func() bool { return s.allServed(ctx) }); err != nil {
		return nil, err
	}
	lb, err := startShippedNginx(ctx, filepath.Join(e.dir, "cache-viewers-lb"), s.webAddrs())
	if err != nil {
		return nil, err
	}
	defer lb.stop()
	urls := make([]string, viewers)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://%s/preview/%s.jpg", lb.addr, s.cams[i%ncams])
	}
	reached := func(ctx context.Context) (int64, error) { return int64(s.stillRequests(ctx)), nil }
	f, err := measureAmplify(ctx, reached, urls, time.Second, win, func() int64 { return 0 })
	if err != nil {
		return nil, err
	}
	per := func(n int64) float64 { return float64(n) / float64(ncams) / win.Seconds() }
	return []Row{{
		Figure: fmt.Sprintf("still requests reaching the replicas per camera per second: %s viewers polling %d cameras (4 frames/s) once a second, %s",
			num(float64(viewers)), ncams, win),
		Camrelay: fmt.Sprintf("%.2f", per(f.calls)), Peer: fmt.Sprintf("%.1f at nginx (%d failed)", per(f.ok+f.failed), f.failed),
		Ratio: ratio(per(f.calls), per(f.ok+f.failed)), Target: "≤ 1.1", Met: met(per(f.calls) <= 1.1 && f.failed == 0),
	}}, nil
}

// cpuRow compares two servers' CPU per request (figure names them): what
// a request costs each, less sensitive than req/s to what else runs on
// the machine.
func cpuRow(figure string, ours, peer *target) Row {
	r := Row{Figure: figure}
	if len(ours.cpus) == 0 || len(peer.cpus) == 0 {
		r.Camrelay = "not measured (no CPU times in /proc)"
		return r
	}
	r.Camrelay, r.Peer = usText(median(ours.cpus)), usText(median(peer.cpus))
	r.Ratio = fmt.Sprintf("%.2f", median(pairRatios(ours.cpus, peer.cpus)))
	return r
}

// webAddrs are the replicas' public host:port.
func (s *stack) webAddrs() []string {
	var addrs []string
	for _, w := range s.Webs {
		addrs = append(addrs, w.Addr("web"))
	}
	return addrs
}

// stillRequests is the still requests the replicas answered so far.
func (s *stack) stillRequests(ctx context.Context) float64 {
	var n float64
	for _, w := range s.Webs {
		n += testbed.MetricSum(ctx, "http://"+w.Addr("admin")+"/metrics", stillSeries...)
	}
	return n
}

// pairRatios are a[i] ÷ b[i], run by run.
func pairRatios(a, b []float64) []float64 {
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, a[i]/b[i])
	}
	return rs
}

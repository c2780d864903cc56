package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// swarmEnv carries the SSE client child's job: "addr path clients frames
// warm", the first warm frames being a warm-up left out of the figures.
const swarmEnv = "CAMRELAY_BENCH_SWARM"

// fanoutScenario connects many SSE clients (a swarm, in a child process)
// to one camera on one web replica (another child) and stores frames one
// at a time, each once every client has the last: the delay from storing
// a frame to every client reading it, the replica's memory per client,
// and its CPU time per event delivered. Each of Runs runs has a new
// replica; the figures are medians over runs.
func fanoutScenario(ctx context.Context, e *env) ([]Row, error) {
	n, frames := cmp.Or(e.Clients, e.sized(10000, 200)), e.sized(30, 5)
	rds, err := startRedis(filepath.Join(e.dir, "fanout-redis"))
	if err != nil {
		return nil, err
	}
	s := newStack(rds, nil, 0)
	defer s.close()
	pub, err := newPublisher(ctx, rds, imageESN)
	if err != nil {
		return nil, err
	}
	if err := pub.save(ctx, make([]byte, 1000)); err != nil {
		return nil, err
	}
	var figs []fanoutFigures
	for r := range e.Runs {
		f, err := fanoutOnce(ctx, s, pub, n, frames)
		if err != nil {
			return nil, err
		}
		e.log("fanout: run %d: last client p50 %.1f ms, p99 %.1f ms, max %.1f ms; each client p50 %.1f ms, p99 %.1f ms; "+
			"%.1f KB RSS, %.1f KB Go heap + stacks per client; %.1f µs per event",
			r+1, f[lastP50], f[lastP99], f[lastMax], f[eachP50], f[eachP99], f[kbRSS], f[kbHeap], f[usCPU])
		figs = append(figs, f)
	}
	med := func(i int) float64 {
		var xs []float64
		for _, f := range figs {
			xs = append(xs, f[i])
		}
		return median(xs)
	}
	runs := fmt.Sprintf("%d frames, %s", frames, ofRuns(e.Runs))
	return []Row{
		{Figure: fmt.Sprintf("publish → last of %s clients, p50 / p99 (%s)", num(float64(n)), runs),
			Camrelay: fmt.Sprintf("%.1f ms / %.1f ms", med(lastP50), med(lastP99)), Target: "p99 ≤ 100 ms", Met: met(med(lastP99) <= 100)},
		{Figure: "publish → each client, p50 / p99", Camrelay: fmt.Sprintf("%.1f ms / %.1f ms", med(eachP50), med(eachP99))},
		{Figure: "replica resident memory per SSE client", Camrelay: fmt.Sprintf("%.1f KB", med(kbRSS)), Target: "≤ 16 KB", Met: met(med(kbRSS) <= 16)},
		{Figure: "replica Go heap + stacks per SSE client", Camrelay: fmt.Sprintf("%.1f KB", med(kbHeap))},
		{Figure: "replica CPU per delivered event", Camrelay: fmt.Sprintf("%.1f µs", med(usCPU))},
	}, nil
}

// fanoutFigures is what one fan-out run measured, indexed by the
// constants below: delays in ms (publish → the last client to read the
// frame, publish → each client), memory per client in KB, CPU per event
// delivered in µs.
type fanoutFigures [nFanoutFigures]float64

const (
	lastP50 = iota
	lastP99
	lastMax
	eachP50
	eachP99
	kbRSS
	kbHeap
	usCPU
	nFanoutFigures
)

// fanoutOnce runs n clients and frames frames (after 2 warm-up frames)
// against a new replica.
func fanoutOnce(ctx context.Context, s *stack, pub *publisher, n, frames int) (fanoutFigures, error) {
	const warm = 2
	var fig fanoutFigures
	web, err := s.AddWeb(ctx, map[string]string{"FRAME_TTL": "1h",
		"MAX_STREAMS": strconv.Itoa(n + 100), "MAX_STREAMS_PER_CLIENT": strconv.Itoa(n + 100)})
	if err != nil {
		return fig, err
	}
	defer web.Stop()
	mem0, err := memoryOf(web)
	if err != nil {
		return fig, err
	}
	sw, err := startProc(ctx, "swarm", map[string]string{swarmEnv: fmt.Sprintf("%s /preview/%s/events %d %d %d", web.Addr("web"), imageESN, n, warm+frames, warm)})
	if err != nil {
		return fig, err
	}
	defer sw.Stop()
	if _, err := sw.Expect("ready", time.Until(deadlineOf(ctx, time.Now().Add(3*time.Minute)))); err != nil {
		return fig, err
	}
	mem1, err := memoryOf(web)
	if err != nil {
		return fig, err
	}
	var cpu0 time.Duration
	for k := 1; k <= warm+frames; k++ {
		if k == warm+1 {
			cpu0, _ = cpuOf(web)
		}
		sw.Send("pub %d %d", k, time.Now().UnixNano())
		if err := pub.save(ctx, make([]byte, 1000)); err != nil {
			return fig, err
		}
		if _, err := sw.Expect("got "+strconv.Itoa(k), 30*time.Second); err != nil {
			return fig, err
		}
	}
	cpu1, _ := cpuOf(web)
	sw.Send("end")
	line, err := sw.Expect("result", 30*time.Second)
	if err != nil {
		return fig, err
	}
	var v [6]int64 // ns: each p50, p99, max; last p50, p99, max
	if _, err := fmt.Sscanf(line, "result %d %d %d %d %d %d", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
		return fig, fmt.Errorf("clients said %q: %w", line, err)
	}
	perClient := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) / 1024 }
	return fanoutFigures{lastP50: float64(v[3]) / 1e6, lastP99: float64(v[4]) / 1e6, lastMax: float64(v[5]) / 1e6,
		eachP50: float64(v[0]) / 1e6, eachP99: float64(v[1]) / 1e6,
		kbRSS: perClient(mem0.rss, mem1.rss), kbHeap: perClient(mem0.heap, mem1.heap),
		usCPU: (cpu1 - cpu0).Seconds() * 1e6 / float64(frames*n)}, nil
}

// runSwarmChild is the SSE client child: it connects the clients, says
// "ready" once all have the current frame, then for each "pub k ns" says
// "got k" once all have frame k, and at "end" says the result over the
// frames after the warm-up: every client's delay p50, p99, max, and the
// last client's p50, p99, max (ns).
func runSwarmChild(ctx context.Context, cmds <-chan string) error {
	var addr, path string
	var n, frames, warm int
	if _, err := fmt.Sscan(os.Getenv(swarmEnv), &addr, &path, &n, &frames, &warm); err != nil {
		return fmt.Errorf("%s: %w", swarmEnv, err)
	}
	if err := raiseFileLimit(uint64(n + 256)); err != nil {
		return err
	}
	s := newSwarm(n, frames)
	defer s.close()
	if err := s.connect(ctx, addr, path); err != nil {
		return err
	}
	if err := s.wait(0, 2*time.Minute); err != nil {
		return err
	}
	say("ready")
	pub := make([]int64, frames+1)
	for {
		var c string
		select {
		case c = <-cmds:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c == "end" {
			all, last := s.latencies(pub)
			all, last = all[warm*n:], last[warm:] // frame k's clients are all[(k-1)*n : k*n]
			say("result %d %d %d %d %d %d", percentile(all, 50), percentile(all, 99), percentile(all, 100),
				percentile(last, 50), percentile(last, 99), percentile(last, 100))
			return nil
		}
		var k int
		var ns int64
		if _, err := fmt.Sscanf(c, "pub %d %d", &k, &ns); err != nil || k < 1 || k > frames {
			return fmt.Errorf("bad command %q", c)
		}
		pub[k] = ns
		if err := s.wait(k, 30*time.Second); err != nil {
			return err
		}
		say("got %d", k)
	}
}

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
// and its CPU time per event delivered. The peer, alternated with the
// replica in each run, is the floor: the same swarm fed by a bare loop of
// writes (runWriteLoopChild). Each of Runs runs has a new replica; the
// figures are medians over runs.
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
	var figs, floors []fanoutFigures
	for r := range e.Runs {
		f, err := fanoutOnce(ctx, s, pub, n, frames)
		if err != nil {
			return nil, err
		}
		e.log("fanout: run %d: %s", r+1, f)
		figs = append(figs, f)
		if f, err = floorOnce(ctx, n, frames); err != nil {
			return nil, fmt.Errorf("write loop: %w", err)
		}
		e.log("fanout: run %d, bare write loop: %s", r+1, f)
		floors = append(floors, f)
	}
	return fanoutRows(n, fmt.Sprintf("%d frames, %s", frames, ofRuns(e.Runs)), figs, floors), nil
}

// fanoutRows are the medians of the runs, camrelay's beside the floor's.
func fanoutRows(n int, runs string, figs, floors []fanoutFigures) []Row {
	med := func(fs []fanoutFigures, i int) float64 {
		var xs []float64
		for _, f := range fs {
			xs = append(xs, f[i])
		}
		return median(xs)
	}
	pair := func(a, b int, unit string) (string, string) {
		return fmt.Sprintf("%.1f %s / %.1f %s", med(figs, a), unit, med(figs, b), unit),
			fmt.Sprintf("%.1f %s / %.1f %s", med(floors, a), unit, med(floors, b), unit)
	}
	ratio := func(i int) string { return fmt.Sprintf("%.2f", med(figs, i)/med(floors, i)) }
	last, lastPeer := pair(lastP50, lastP99, "ms")
	each, eachPeer := pair(eachP50, eachP99, "ms")
	return []Row{
		{Figure: fmt.Sprintf("publish → last of %s clients, p50 / p99 (%s)", num(float64(n)), runs),
			Camrelay: last, Peer: lastPeer, Ratio: ratio(lastP99), Target: "p99 ≤ 100 ms", Met: met(med(figs, lastP99) <= 100)},
		{Figure: "publish → each client, p50 / p99", Camrelay: each, Peer: eachPeer, Ratio: ratio(eachP99)},
		{Figure: "replica resident memory per SSE client", Camrelay: fmt.Sprintf("%.1f KB", med(figs, kbRSS)), Target: "≤ 16 KB", Met: met(med(figs, kbRSS) <= 16)},
		{Figure: "replica Go heap + stacks per SSE client", Camrelay: fmt.Sprintf("%.1f KB", med(figs, kbHeap))},
		{Figure: "replica CPU per delivered event (peer: bare write loop)", Camrelay: fmt.Sprintf("%.1f µs", med(figs, usCPU)),
			Peer: fmt.Sprintf("%.1f µs", med(floors, usCPU)), Ratio: ratio(usCPU), Target: "≤ 8 µs", Met: met(med(figs, usCPU) <= 8)},
	}
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

func (f fanoutFigures) String() string {
	return fmt.Sprintf("last client p50 %.1f ms, p99 %.1f ms, max %.1f ms; each client p50 %.1f ms, p99 %.1f ms; "+
		"%.1f KB RSS, %.1f KB Go heap + stacks per client; %.1f µs per event",
		f[lastP50], f[lastP99], f[lastMax], f[eachP50], f[eachP99], f[kbRSS], f[kbHeap], f[usCPU])
}

// fanoutOnce runs n clients and frames frames against a new replica.
func fanoutOnce(ctx context.Context, s *stack, pub *publisher, n, frames int) (fanoutFigures, error) {
	web, err := s.AddWeb(ctx, map[string]string{"FRAME_TTL": "1h",
		"MAX_STREAMS": strconv.Itoa(n + 100), "MAX_STREAMS_PER_CLIENT": strconv.Itoa(n + 100)})
	if err != nil {
		return fanoutFigures{}, err
	}
	defer web.Stop()
	return fanoutRun(ctx, fanoutServer{proc: web, addr: web.Addr("web"), path: "/preview/" + string(imageESN) + "/events",
		publish: func(ctx context.Context, _ int) error { return pub.save(ctx, make([]byte, 1000)) }, memory: true}, n, frames)
}

// floorOnce runs n clients and frames frames against a new write loop.
func floorOnce(ctx context.Context, n, frames int) (fanoutFigures, error) {
	p, err := startProc(ctx, "writeloop", nil, "writeloop")
	if err != nil {
		return fanoutFigures{}, err
	}
	defer p.Stop()
	return fanoutRun(ctx, fanoutServer{proc: p, addr: p.Addr("writeloop"), path: "/",
		publish: func(_ context.Context, k int) error { return p.Send("pub %d", k) }}, n, frames)
}

// fanoutServer is what a fan-out run streams from: a child process, the
// stream's address and path, and how to publish frame k.
type fanoutServer struct {
	proc       *proc
	addr, path string
	publish    func(ctx context.Context, k int) error
	memory     bool // the child answers "gc" (a camrelay program): measure memory per client
}

// fanoutRun connects n clients to srv and publishes frames frames (after
// 2 warm-up frames), each once every client has the last.
func fanoutRun(ctx context.Context, srv fanoutServer, n, frames int) (fanoutFigures, error) {
	const warm = 2
	var fig fanoutFigures
	var mem0, mem1 memory
	var err error
	if srv.memory {
		if mem0, err = memoryOf(srv.proc); err != nil {
			return fig, err
		}
	}
	sw, err := startProc(ctx, "swarm", map[string]string{swarmEnv: fmt.Sprintf("%s %s %d %d %d", srv.addr, srv.path, n, warm+frames, warm)})
	if err != nil {
		return fig, err
	}
	defer sw.Stop()
	if _, err := sw.Expect("ready", time.Until(deadlineOf(ctx, time.Now().Add(3*time.Minute)))); err != nil {
		return fig, err
	}
	if srv.memory {
		if mem1, err = memoryOf(srv.proc); err != nil {
			return fig, err
		}
	}
	var cpu0 time.Duration
	for k := 1; k <= warm+frames; k++ {
		if k == warm+1 {
			cpu0, _ = cpuOf(srv.proc)
		}
		sw.Send("pub %d %d", k, time.Now().UnixNano())
		if err := srv.publish(ctx, k); err != nil {
			return fig, err
		}
		if _, err := sw.Expect("got "+strconv.Itoa(k), 30*time.Second); err != nil {
			return fig, err
		}
	}
	cpu1, _ := cpuOf(srv.proc)
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

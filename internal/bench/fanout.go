package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/camrelay/camrelay/internal/webbench"
)

// swarmEnv carries the SSE client child's job: "addr path clients frames
// warm", the first warm frames being a warm-up left out of the figures.
const swarmEnv = "CAMRELAY_BENCH_SWARM"

// fanoutScenario connects many SSE clients (webbench.Swarm, in a child
// process) to one camera on one web replica (another child) and stores
// frames one at a time, each once every client has the last: the delay
// from storing a frame to every client reading it, the replica's resident
// memory per client, and its CPU time per event delivered. Each of Runs
// runs has a new replica; the figures are medians over runs.
func fanoutScenario(ctx context.Context, e *env) ([]Row, error) {
	n, frames := e.sized(10000, 200), e.sized(30, 5)
	rds, err := startRedis(ctx, filepath.Join(e.dir, "fanout-redis"))
	if err != nil {
		return nil, err
	}
	s := &stack{rds: rds}
	defer s.close()
	pub, err := newPublisher(ctx, rds, imageESN)
	if err != nil {
		return nil, err
	}
	if err := pub.save(ctx, make([]byte, 1000)); err != nil {
		return nil, err
	}
	var figs [][6]float64 // last p50, last p99, each p50, each p99, KB per client, µs per event
	for r := range e.Runs {
		f, err := fanoutOnce(ctx, s, pub, n, frames)
		if err != nil {
			return nil, err
		}
		e.log("fanout: run %d: last client p50 %.1f ms, p99 %.1f ms; each client p50 %.1f ms, p99 %.1f ms; %.1f KB per client; %.1f µs per event",
			r+1, f[0], f[1], f[2], f[3], f[4], f[5])
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
			Camrelay: fmt.Sprintf("%.1f ms / %.1f ms", med(0), med(1)), Target: "p99 ≤ 100 ms", Met: met(med(1) <= 100)},
		{Figure: "publish → each client, p50 / p99", Camrelay: fmt.Sprintf("%.1f ms / %.1f ms", med(2), med(3))},
		{Figure: "replica resident memory per SSE client", Camrelay: fmt.Sprintf("%.1f KB", med(4)), Target: "≤ 16 KB", Met: met(med(4) <= 16)},
		{Figure: "replica CPU per delivered event", Camrelay: fmt.Sprintf("%.1f µs", med(5))},
	}, nil
}

// fanoutOnce runs n clients and frames frames (after 2 warm-up frames)
// against a new replica, and returns the last client's p50 and p99 and
// every client's p50 and p99 (ms), KB of RSS per client and µs of CPU per
// event delivered.
func fanoutOnce(ctx context.Context, s *stack, pub *publisher, n, frames int) ([6]float64, error) {
	const warm = 2
	var fig [6]float64
	web, err := s.startWeb(ctx, map[string]string{"FRAME_TTL": "1h",
		"MAX_STREAMS": strconv.Itoa(n + 100), "MAX_STREAMS_PER_CLIENT": strconv.Itoa(n + 100)})
	if err != nil {
		return fig, err
	}
	defer web.stop()
	rss0, err := gcRSS(web)
	if err != nil {
		return fig, err
	}
	sw, err := startProc(ctx, "swarm", map[string]string{swarmEnv: fmt.Sprintf("%s /preview/%s/events %d %d %d", web.addr("web"), imageESN, n, warm+frames, warm)})
	if err != nil {
		return fig, err
	}
	defer sw.stop()
	if _, err := sw.expect("ready", time.Until(deadlineOf(ctx, time.Now().Add(3*time.Minute)))); err != nil {
		return fig, err
	}
	rss1, err := gcRSS(web)
	if err != nil {
		return fig, err
	}
	var cpu0 time.Duration
	for k := 1; k <= warm+frames; k++ {
		if k == warm+1 {
			cpu0, _ = web.cpu()
		}
		sw.send("pub %d %d", k, time.Now().UnixNano())
		if err := pub.save(ctx, make([]byte, 1000)); err != nil {
			return fig, err
		}
		if _, err := sw.expect("got "+strconv.Itoa(k), 30*time.Second); err != nil {
			return fig, err
		}
	}
	cpu1, _ := web.cpu()
	sw.send("end")
	line, err := sw.expect("result", 30*time.Second)
	if err != nil {
		return fig, err
	}
	var v [6]int64 // ns: each p50, p99, max; last p50, p99, max
	if _, err := fmt.Sscanf(line, "result %d %d %d %d %d %d", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
		return fig, fmt.Errorf("clients said %q: %w", line, err)
	}
	return [6]float64{float64(v[3]) / 1e6, float64(v[4]) / 1e6, float64(v[0]) / 1e6, float64(v[1]) / 1e6,
		float64(int64(rss1)-int64(rss0)) / float64(n) / 1024, (cpu1 - cpu0).Seconds() * 1e6 / float64(frames*n)}, nil
}

// gcRSS is a program child's resident memory after a collection that
// returned freed memory to the system.
func gcRSS(p *proc) (uint64, error) {
	if err := p.gc(); err != nil {
		return 0, err
	}
	return p.rss()
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
	if err := webbench.RaiseFileLimit(uint64(n + 256)); err != nil {
		return err
	}
	s := webbench.NewSwarm(n, frames)
	defer s.Close()
	if err := s.Connect(ctx, addr, path); err != nil {
		return err
	}
	if err := s.Wait(0, 2*time.Minute); err != nil {
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
			all, last := s.Latencies(pub)
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
		if err := s.Wait(k, 30*time.Second); err != nil {
			return err
		}
		say("got %d", k)
	}
}

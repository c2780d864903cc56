package bench

import (
	"context"
	"fmt"
	"os"
	"time"
)

// loadEnv carries the load generator child's job: "addr path conns total size".
const loadEnv = "CAMRELAY_BENCH_LOAD"

// loadFigures is what one load run measured.
type loadFigures struct {
	rate     float64 // requests per second
	p50, p99 time.Duration
}

// runLoad sends total GETs of path to addr over conns keep-alive
// connections from a child process (generateLoad), so the server
// measured shares no process with its clients, and every server is
// measured by the same generator.
func runLoad(ctx context.Context, addr, path string, conns, total, size int) (loadFigures, error) {
	p, err := startProc(ctx, "load", map[string]string{loadEnv: fmt.Sprintf("%s %s %d %d %d", addr, path, conns, total, size)})
	if err != nil {
		return loadFigures{}, err
	}
	defer p.Stop()
	d := time.Until(deadlineOf(ctx, time.Now().Add(5*time.Minute)))
	line, err := p.Expect("load ", d)
	if err != nil {
		return loadFigures{}, err
	}
	var n, ns, p50, p99 int64
	if _, err := fmt.Sscanf(line, "load %d %d %d %d", &n, &ns, &p50, &p99); err != nil || n != int64(total) || ns <= 0 {
		return loadFigures{}, fmt.Errorf("load generator said %q", line)
	}
	return loadFigures{rate: float64(n) / time.Duration(ns).Seconds(), p50: time.Duration(p50), p99: time.Duration(p99)}, nil
}

// runLoadChild is the load generator child.
func runLoadChild(ctx context.Context) error {
	var addr, path string
	var conns, total, size int
	if _, err := fmt.Sscan(os.Getenv(loadEnv), &addr, &path, &conns, &total, &size); err != nil {
		return fmt.Errorf("%s: %w", loadEnv, err)
	}
	if err := raiseFileLimit(uint64(conns + 256)); err != nil {
		return err
	}
	res, lat, err := generateLoad(ctx, addr, path, conns, int64(total), size)
	if err != nil {
		return err
	}
	say("load %d %d %d %d", res.requests, res.elapsed.Nanoseconds(), percentile(lat, 50), percentile(lat, 99))
	return nil
}

// deadlineOf is ctx's deadline, or def without one.
func deadlineOf(ctx context.Context, def time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return def
}

// Package bench measures camrelay against what a user would pick instead:
// nginx serving the same image as a static file, and a naive proxy that
// fetches from the upstream for every viewer. It starts everything it
// needs on loopback (redis-server, nginx, and camrelay's programs as
// child processes of its own executable), runs bounded loads, and prints
// one table. cmd/bench is its command; docs/BENCHMARKS.md describes each
// scenario.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Options choose what a run measures.
type Options struct {
	Smoke   bool     // seconds in all, small sizes: proves every scenario runs
	Runs    int      // repeats of the image loads, for medians; default 3 (smoke 1)
	Only    []string // scenario names; all when empty
	Clients int      // SSE clients of the fan-out scenario; 0: 10,000 (smoke 200)
	Cameras int      // cameras of the scale scenario; 0: 2,000 (smoke 100)
	Profile string   // directory for the camrelay children's CPU profiles (see profileEnv); none when empty
	Out     io.Writer
	Log     io.Writer // progress; default io.Discard
}

// scenario is one measurement: its rows come back whatever happens, an
// error becomes a row of its own.
type scenario struct {
	name     string
	title    string
	deadline time.Duration // full run; a smoke run gets a quarter, at least 45 s
	run      func(ctx context.Context, e *env) ([]Row, error)
}

// Scenarios are the names of the scenarios, in the order they run.
func Scenarios() []string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return names
}

var scenarios = []scenario{
	{"image", "Image throughput", 5 * time.Minute, imageScenario},
	{"amplify", "Upstream amplification", 2 * time.Minute, amplifyScenario},
	{"fresh", "Freshness", time.Minute, freshScenario},
	{"fanout", "Fan-out", 3 * time.Minute, fanoutScenario},
	{"scale", "Camera scale", 3 * time.Minute, scaleScenario},
	{"failover", "Failover", 4 * time.Minute, failoverScenario},
	{"watched", "Watched cameras", 3 * time.Minute, watchedScenario},
	{"thumbs", "Thumbnails", 3 * time.Minute, thumbsScenario},
	{"cache", "nginx microcache", 4 * time.Minute, cacheScenario},
	{"cluster", "Redis Cluster", 3 * time.Minute, clusterScenario},
}

// env is what a scenario gets: the options and a scratch directory.
type env struct {
	Options
	dir string
	log func(format string, a ...any)
}

// Report is what a run measured.
type Report struct {
	Machine Machine
	Rows    []Row
	Elapsed time.Duration
}

// Run runs the chosen scenarios one after another and prints the table.
func Run(ctx context.Context, o Options) (Report, error) {
	gin.SetMode(gin.ReleaseMode)
	o.Runs = max(o.Runs, 0)
	if o.Runs == 0 {
		o.Runs = 3
		if o.Smoke {
			o.Runs = 1
		}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	for _, name := range o.Only {
		if !slices.Contains(Scenarios(), name) {
			return Report{}, fmt.Errorf("bench: no scenario %q (have %s)", name, strings.Join(Scenarios(), ", "))
		}
	}
	if o.Profile != "" {
		if err := os.MkdirAll(o.Profile, 0o755); err != nil {
			return Report{}, err
		}
		os.Setenv(profileEnv, o.Profile) // the children take their environment from ours
	}
	if err := raiseFileLimit(16384); err != nil {
		fmt.Fprintf(o.Log, "bench: %v\n", err)
	}
	dir, err := os.MkdirTemp("", "camrelay-bench")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	rep := Report{Machine: machineNow()}
	e := &env{Options: o, dir: dir, log: func(f string, a ...any) {
		fmt.Fprintf(o.Log, "bench: %5.1fs "+f+"\n", append([]any{time.Since(start).Seconds()}, a...)...)
	}}
	for _, s := range scenarios {
		if len(o.Only) > 0 && !slices.Contains(o.Only, s.name) {
			continue
		}
		rep.Rows = append(rep.Rows, runScenario(ctx, e, s)...)
		if ctx.Err() != nil {
			break
		}
	}
	transport.CloseIdleConnections()
	rep.Machine.LoadEnd = loadAvg()
	rep.Elapsed = time.Since(start)
	if o.Out != nil {
		rep.Print(o.Out, o.Smoke)
	}
	return rep, ctx.Err()
}

// runScenario runs s under its hard deadline.
func runScenario(ctx context.Context, e *env, s scenario) []Row {
	d := s.deadline
	if e.Smoke {
		d = max(d/4, 45*time.Second)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	e.log("%s: starting (deadline %s)", s.name, d)
	t0 := time.Now()
	rows, err := s.run(ctx, e)
	for i := range rows {
		rows[i].Scenario = s.title
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("deadline %s passed: %w", d, err)
		}
		rows = append(rows, Row{Scenario: s.title, Figure: "error", Camrelay: oneLine(err.Error(), 240), Err: true})
		e.log("%s: %v", s.name, err)
	}
	e.log("%s: done in %s", s.name, time.Since(t0).Round(100*time.Millisecond))
	return rows
}

// sized picks the full or the smoke value.
func (e *env) sized(full, smoke int) int {
	if e.Smoke {
		return smoke
	}
	return full
}

// window picks the full or the smoke duration.
func (e *env) window(full, smoke time.Duration) time.Duration {
	if e.Smoke {
		return smoke
	}
	return full
}

// oneLine squeezes s onto one line of at most n characters, for the table.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// Command bench measures camrelay against what a user would pick instead
// (nginx serving the same image, a naive proxy) on loopback, and prints
// one table: image throughput, upstream amplification, freshness, SSE
// fan-out, camera scale, failover and watched cameras. See docs/BENCHMARKS.md.
//
//	go run ./cmd/bench              # full run, about 9 minutes on 2 cores
//	go run ./cmd/bench -smoke       # seconds: every scenario, small sizes
//	go run ./cmd/bench -only image,failover -runs 5
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/camrelay/camrelay/internal/bench"
)

func main() {
	bench.MaybeChild() // the benchmark's own child processes start here
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smoke := fs.Bool("smoke", false, "small sizes and short loads: seconds in all (what CI runs)")
	runs := fs.Int("runs", 0, "repeats of each image load, for medians (default 3, smoke 1)")
	only := fs.String("only", "", "comma-separated scenarios to run: "+strings.Join(bench.Scenarios(), ","))
	clients := fs.Int("clients", 0, "SSE clients of the fanout scenario (default 10000, smoke 200)")
	cameras := fs.Int("cameras", 0, "cameras of the scale scenario (default 2000, smoke 100)")
	profile := fs.String("cpuprofile-dir", "", "write a CPU profile of each camrelay program the bench starts (web, fetcher, simulator) to `dir`/<role>-<pid>.pprof")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bench [-smoke] [-runs N] [-only name,...] [-clients N] [-cameras N] [-cpuprofile-dir DIR] [-q]\n\n"+
			"Starts redis-server, nginx and camrelay's programs on loopback, runs bounded loads,\n"+
			"and prints one table of figures, each beside its peer and target.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *clients < 0 || *cameras < 0 {
		fmt.Fprintf(stderr, "bench: -clients and -cameras take a positive count\n")
		return 2
	}
	o := bench.Options{Smoke: *smoke, Runs: *runs, Clients: *clients, Cameras: *cameras, Profile: *profile, Out: stdout, Log: stderr}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if *quiet {
		o.Log = io.Discard
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	for _, r := range rep.Rows {
		if r.Err {
			return 1
		}
	}
	return 0
}

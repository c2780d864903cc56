package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"

	"github.com/camrelay/camrelay/internal/app"
)

// childEnv names the role of a process the benchmark started again as one
// of its children: a camrelay program, the load generator or SSE clients.
const childEnv = "CAMRELAY_BENCH_CHILD"

// profileEnv, set in the benchmark's environment to a directory, makes
// every camrelay program child write a CPU profile there (see
// docs/BENCHMARKS.md, "Profiling").
const profileEnv = "CAMRELAY_BENCH_CPUPROFILE"

// MaybeChild runs this process as one of the benchmark's children and
// exits, when it was started as one; otherwise it returns at once. The
// benchmark starts its children by running its own executable again
// (cmd/bench, or this package's test binary), so it needs no Go toolchain
// and no other binaries. Call it first thing in main or TestMain.
func MaybeChild() {
	role := os.Getenv(childEnv)
	if role == "" {
		return
	}
	os.Exit(runChild(role))
}

// say writes one line for the parent on stdout; lines are whole even
// when several goroutines say something at once.
var sayMu sync.Mutex

func say(format string, a ...any) {
	sayMu.Lock()
	defer sayMu.Unlock()
	fmt.Printf("bench: "+format+"\n", a...)
}

func runChild(role string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmds := make(chan string, 16)
	go readCommands(os.Stdin, cmds, cancel)
	var err error
	switch role {
	case "web":
		err = runProgram(ctx, role, app.RunWeb, cmds)
	case "fetcher":
		err = runProgram(ctx, role, app.RunFetcher, cmds)
	case "eensim":
		err = runProgram(ctx, role, app.RunSim, cmds)
	case "load":
		err = runLoadChild(ctx)
	case "swarm":
		err = runSwarmChild(ctx, cmds)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		say("error %v", err)
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", role, err)
		return 1
	}
	return 0
}

// readCommands passes the parent's lines on; the end of stdin means the
// parent is gone (or done with us), so the child stops: no child outlives
// the benchmark.
func readCommands(r io.Reader, cmds chan<- string, cancel context.CancelFunc) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cmds <- sc.Text()
	}
	cancel()
}

// runProgram runs a camrelay program, telling the parent its listeners,
// and answers "gc" (collect garbage, return memory to the system) with
// the Go heap and stacks in use, so the parent can read a resident size
// without garbage in it. With $CAMRELAY_BENCH_CPUPROFILE set to a
// directory, it writes a CPU profile of its whole run there.
func runProgram(ctx context.Context, role string, run func(context.Context, app.Env) error, cmds <-chan string) error {
	if dir := os.Getenv(profileEnv); dir != "" {
		stop, err := cpuProfile(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", role, os.Getpid())))
		if err != nil {
			return err
		}
		defer stop()
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case c := <-cmds:
				if c == "gc" {
					runtime.GC()
					debug.FreeOSMemory()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					say("gc done %d", ms.HeapInuse+ms.StackInuse)
				}
			}
		}
	}()
	return run(ctx, app.Env{
		Getenv:    os.Getenv,
		Stdout:    os.Stderr,
		Stderr:    os.Stderr,
		Listening: func(name string, a net.Addr) { say("listening %s %s", name, a) },
	})
}

// cpuProfile starts a CPU profile written to path; stop ends it.
func cpuProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

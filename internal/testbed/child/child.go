// Package child runs camrelay's programs, and other roles a caller adds,
// as child processes by starting the running executable again with a
// hidden role: tests (kill -9, SIGSTOP, a process's own memory) and the
// bench command need no Go toolchain and no other binaries. The parent
// learns a child's listeners from lines it writes on stdout; the end of
// the child's stdin means the parent is gone, and the child stops.
package child

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

// RoleEnv names the role of a process started again as a child.
const RoleEnv = "CAMRELAY_TESTBED_CHILD"

// ProfileEnv, set in the parent's environment to a directory, makes every
// camrelay program child write a CPU profile there (see
// docs/BENCHMARKS.md, "Profiling").
const ProfileEnv = "CAMRELAY_BENCH_CPUPROFILE"

// Role is what a child runs; cmds are the parent's lines (see Proc.Send).
type Role func(ctx context.Context, cmds <-chan string) error

// MaybeRun runs this process as a child and exits, when it was started as
// one; otherwise it returns at once. extra adds roles to camrelay's
// programs (web, fetcher, eensim). Call it first thing in main or TestMain.
func MaybeRun(extra map[string]Role) {
	role := os.Getenv(RoleEnv)
	if role == "" {
		return
	}
	os.Exit(run(role, extra))
}

// sayMu keeps lines whole when several goroutines say something at once.
var sayMu sync.Mutex

// Say writes one line for the parent on stdout.
func Say(format string, a ...any) {
	sayMu.Lock()
	defer sayMu.Unlock()
	fmt.Printf(linePrefix+format+"\n", a...)
}

// linePrefix marks the lines meant for the parent.
const linePrefix = "child: "

func run(role string, extra map[string]Role) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmds := make(chan string, 16)
	go readCommands(os.Stdin, cmds, cancel)
	programs := map[string]func(context.Context, app.Env) error{"web": app.RunWeb, "fetcher": app.RunFetcher, "eensim": app.RunSim}
	var err error
	if prog, ok := programs[role]; ok {
		err = runProgram(ctx, role, prog, nil, cmds)
	} else if r, ok := extra[role]; ok {
		err = r(ctx, cmds)
	} else {
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		Say("error %v", err)
		fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
		return 1
	}
	return 0
}

// readCommands passes the parent's lines on; the end of stdin means the
// parent is gone (or done with us), so the child stops: no child outlives
// its parent.
func readCommands(r io.Reader, cmds chan<- string, cancel context.CancelFunc) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cmds <- sc.Text()
	}
	cancel()
}

// Setup changes a program's Env before it runs (test seams such as
// app.Env.GrantHooks); cmds are the parent's lines other than "gc".
type Setup func(env *app.Env, cmds <-chan string)

// Program is a role that runs prog as camrelay's own programs run (see
// runProgram), with its Env first changed by setup: a test adds a role
// "fetcher-hooked", say, whose fetchers take orders from the parent.
func Program(name string, prog func(context.Context, app.Env) error, setup Setup) Role {
	return func(ctx context.Context, cmds <-chan string) error {
		return runProgram(ctx, name, prog, setup, cmds)
	}
}

// runProgram runs a camrelay program, telling the parent its listeners,
// and answers "gc" (collect garbage, return memory to the system) with
// the Go heap and stacks in use, so the parent can read a resident size
// without garbage in it; other lines go to setup's channel. With
// $CAMRELAY_BENCH_CPUPROFILE set to a directory, it writes a CPU profile
// of its whole run there.
func runProgram(ctx context.Context, role string, run func(context.Context, app.Env) error, setup Setup, cmds <-chan string) error {
	if dir := os.Getenv(ProfileEnv); dir != "" {
		stop, err := cpuProfile(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", role, os.Getpid())))
		if err != nil {
			return err
		}
		defer stop()
	}
	env := app.Env{
		Getenv:    os.Getenv,
		Stdout:    os.Stderr,
		Stderr:    os.Stderr,
		Listening: func(name string, a net.Addr) { Say("listening %s %s", name, a) },
	}
	others := make(chan string, 16)
	if setup != nil {
		setup(&env, others)
	}
	go answer(ctx, cmds, others)
	return run(ctx, env)
}

// answer answers "gc" and passes other lines on, dropping them when
// nobody reads them.
func answer(ctx context.Context, cmds <-chan string, others chan<- string) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-cmds:
			if c != "gc" {
				select {
				case others <- c:
				default:
				}
				continue
			}
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			Say("gc done %d", ms.HeapInuse+ms.StackInuse)
		}
	}
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

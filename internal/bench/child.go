package bench

import (
	"context"

	"github.com/camrelay/camrelay/internal/testbed/child"
)

// profileEnv, set in the benchmark's environment to a directory, makes
// every camrelay program child write a CPU profile there.
const profileEnv = child.ProfileEnv

// MaybeChild runs this process as one of the benchmark's children and
// exits, when it was started as one; otherwise it returns at once. The
// benchmark starts its children by running its own executable again
// (cmd/bench, or this package's test binary), so it needs no Go toolchain
// and no other binaries: camrelay's programs, the load generator and SSE
// clients. Call it first thing in main or TestMain.
func MaybeChild() {
	child.MaybeRun(map[string]child.Role{
		"load":      func(ctx context.Context, _ <-chan string) error { return runLoadChild(ctx) },
		"swarm":     runSwarmChild,
		"writeloop": runWriteLoopChild,
		"bare":      func(ctx context.Context, _ <-chan string) error { return runBareChild(ctx) },
	})
}

// say writes one line for the parent on stdout.
func say(format string, a ...any) { child.Say(format, a...) }

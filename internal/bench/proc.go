package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/testbed/child"
)

// proc is a child process of the benchmark (see MaybeChild).
type proc = child.Proc

// startProc runs this executable again as role with vars as its whole
// environment (plus PATH), and waits until it has opened listeners.
// The child ends with ctx.
func startProc(ctx context.Context, role string, vars map[string]string, listeners ...string) (*proc, error) {
	return child.Start(ctx, child.Spec{Role: role, Vars: vars, Listeners: listeners, LogTail: 4 << 10})
}

// memory is a camrelay program child's memory in bytes.
type memory struct {
	heap uint64 // Go heap and stacks in use
	rss  uint64 // resident
}

// memory asks a camrelay program child to collect garbage and return
// memory to the system, then reads its memory.
func memoryOf(p *proc) (memory, error) {
	var m memory
	if err := p.Send("gc"); err != nil {
		return m, err
	}
	line, err := p.Expect("gc done", 30*time.Second)
	if err != nil {
		return m, err
	}
	if _, err := fmt.Sscanf(line, "gc done %d", &m.heap); err != nil {
		return m, fmt.Errorf("%s said %q: %w", p.Role, line, err)
	}
	m.rss, err = rss(p)
	return m, err
}

// cpu is the child's user + system CPU time so far, from /proc.
func cpuOf(p *proc) (time.Duration, error) { return pidCPU(p.Pid()) }

// pidCPU is process pid's user + system CPU time so far, from /proc.
func pidCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which may hold spaces: state is the
	// 3rd field of the line, utime and stime the 14th and 15th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc/pid/stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTicks = 100

// rss is the child's resident memory in bytes, from /proc.
func rss(p *proc) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("bench: no VmRSS")
}

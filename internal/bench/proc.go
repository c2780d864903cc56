package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// proc is a child process of the benchmark (see MaybeChild).
type proc struct {
	role   string
	cmd    *exec.Cmd
	in     io.WriteCloser
	addrs  map[string]string // listener name → host:port
	lines  chan string       // what the child said, less its listeners
	logs   *testbed.SyncBuffer
	exited chan struct{}
}

// startProc runs this executable again as role with vars as its whole
// environment (plus PATH), and waits until it has opened listeners.
// The child ends with ctx.
func startProc(ctx context.Context, role string, vars map[string]string, listeners ...string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	// A race-enabled child (the package's test binary under -race) would
	// otherwise wait a second at every exit.
	cmd.Env = []string{childEnv + "=" + role, "PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0"}
	if dir := os.Getenv(profileEnv); dir != "" {
		cmd.Env = append(cmd.Env, profileEnv+"="+dir)
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{role: role, cmd: cmd, addrs: map[string]string{}, lines: make(chan string, 64),
		logs: &testbed.SyncBuffer{Keep: 4 << 10}, exited: make(chan struct{})}
	cmd.Stderr = p.logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan [2]string, 8)
	go p.read(out, found)
	timeout := time.After(20 * time.Second)
	for len(p.addrs) < len(listeners) {
		select {
		case l := <-found:
			p.addrs[l[0]] = l[1]
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start: %s", role, p.logs)
		case <-timeout:
			p.kill()
			return nil, fmt.Errorf("%s did not listen within 20s: %s", role, p.logs)
		}
	}
	return p, nil
}

// read sorts the child's lines until it exits.
func (p *proc) read(out io.Reader, found chan<- [2]string) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "bench: ")
		if !ok {
			continue
		}
		if f := strings.Fields(line); len(f) == 3 && f[0] == "listening" {
			found <- [2]string{f[1], f[2]}
			continue
		}
		select {
		case p.lines <- line:
		default: // nobody is listening for it
		}
	}
	p.cmd.Wait()
	close(p.exited)
}

// addr is host:port of the named listener.
func (p *proc) addr(name string) string { return p.addrs[name] }

// send writes one command line to the child.
func (p *proc) send(format string, a ...any) error {
	_, err := fmt.Fprintf(p.in, format+"\n", a...)
	return err
}

// expect waits for the child to say something starting with want and
// returns the whole line; an "error" line, the child's exit or d passing
// is an error.
func (p *proc) expect(want string, d time.Duration) (string, error) {
	timeout := time.After(d)
	for {
		select {
		case line := <-p.lines:
			if strings.HasPrefix(line, want) {
				return line, nil
			}
			if strings.HasPrefix(line, "error") {
				return "", fmt.Errorf("%s: %s", p.role, line)
			}
		case <-p.exited:
			return "", fmt.Errorf("%s exited before %q: %s", p.role, want, p.logs)
		case <-timeout:
			return "", fmt.Errorf("%s: no %q within %s", p.role, want, d)
		}
	}
}

// memory is a camrelay program child's memory in bytes.
type memory struct {
	heap uint64 // Go heap and stacks in use
	rss  uint64 // resident
}

// memory asks a camrelay program child to collect garbage and return
// memory to the system, then reads its memory.
func (p *proc) memory() (memory, error) {
	var m memory
	if err := p.send("gc"); err != nil {
		return m, err
	}
	line, err := p.expect("gc done", 30*time.Second)
	if err != nil {
		return m, err
	}
	if _, err := fmt.Sscanf(line, "gc done %d", &m.heap); err != nil {
		return m, fmt.Errorf("%s said %q: %w", p.role, line, err)
	}
	m.rss, err = p.rss()
	return m, err
}

// stop ends the child gracefully (SIGTERM), killing it after 5 s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.kill()
	}
}

// kill ends the child at once (SIGKILL), as a crash would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// cpu is the child's user + system CPU time so far, from /proc.
func (p *proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
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
func (p *proc) rss() (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
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

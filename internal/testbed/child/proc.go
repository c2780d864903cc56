package child

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// Spec says what child to start.
type Spec struct {
	Role      string
	Vars      map[string]string // the child's whole environment, with PATH
	Listeners []string          // wait until these are open
	LogTail   int               // keep about this many bytes of stderr; 0 keeps all
}

// Proc is a child process (see MaybeRun).
type Proc struct {
	Role   string
	Logs   *testbed.SyncBuffer // what the child wrote to stderr
	cmd    *exec.Cmd
	in     io.WriteCloser
	addrs  map[string]string // listener name → host:port
	lines  chan string       // what the child said, less its listeners
	exited chan struct{}
}

// Start runs this executable again as spec.Role and waits until it has
// opened spec.Listeners. The child ends with ctx.
func Start(ctx context.Context, spec Spec) (*Proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	// A race-enabled child (a test binary under -race) would otherwise
	// wait a second at every exit.
	cmd.Env = []string{RoleEnv + "=" + spec.Role, "PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0"}
	if dir := os.Getenv(ProfileEnv); dir != "" {
		cmd.Env = append(cmd.Env, ProfileEnv+"="+dir)
	}
	for k, v := range spec.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Proc{Role: spec.Role, cmd: cmd, addrs: map[string]string{}, lines: make(chan string, 64),
		Logs: &testbed.SyncBuffer{Keep: spec.LogTail}, exited: make(chan struct{})}
	cmd.Stderr = p.Logs
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
	for len(p.addrs) < len(spec.Listeners) {
		select {
		case l := <-found:
			p.addrs[l[0]] = l[1]
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start: %s", spec.Role, p.Logs)
		case <-timeout:
			p.Kill()
			return nil, fmt.Errorf("%s did not listen within 20s: %s", spec.Role, p.Logs)
		}
	}
	return p, nil
}

// read sorts the child's lines until it exits.
func (p *Proc) read(out io.Reader, found chan<- [2]string) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), linePrefix)
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

// Addr is host:port of the named listener.
func (p *Proc) Addr(name string) string { return p.addrs[name] }

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the child has ended.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Send writes one command line to the child.
func (p *Proc) Send(format string, a ...any) error {
	_, err := fmt.Fprintf(p.in, format+"\n", a...)
	return err
}

// Expect waits for the child to say something starting with want and
// returns the whole line; an "error" line, the child's exit or d passing
// is an error.
func (p *Proc) Expect(want string, d time.Duration) (string, error) {
	timeout := time.After(d)
	for {
		select {
		case line := <-p.lines:
			if strings.HasPrefix(line, want) {
				return line, nil
			}
			if strings.HasPrefix(line, "error") {
				return "", fmt.Errorf("%s: %s", p.Role, line)
			}
		case <-p.exited:
			return "", fmt.Errorf("%s exited before %q: %s", p.Role, want, p.Logs)
		case <-timeout:
			return "", fmt.Errorf("%s: no %q within %s", p.Role, want, d)
		}
	}
}

// Signal sends sig to the child (SIGTERM to stop it, SIGSTOP to freeze it).
func (p *Proc) Signal(sig os.Signal) { p.cmd.Process.Signal(sig) }

// Stop ends the child gracefully (SIGTERM), killing it after 5 s.
func (p *Proc) Stop() {
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.Kill()
	}
}

// Kill ends the child at once (SIGKILL), as a crash would; a frozen child
// is resumed first.
func (p *Proc) Kill() {
	p.Signal(syscall.SIGCONT)
	p.cmd.Process.Kill()
	<-p.exited
}

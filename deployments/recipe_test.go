package deployments

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// TestReadmeScaleOutRecipe runs the README's by-hand scale-out recipe
// exactly as written, each command with bash at the repository root, then
// checks what the README says to look at: both web replicas serve fresh
// images of every demo camera, the two fetchers share the cameras out, and
// one fetcher stopped with Ctrl-C leaves the other leading them all.
func TestReadmeScaleOutRecipe(t *testing.T) {
	r := loadRecipe(t)
	for _, tool := range []string{"bash", "go", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, tool+" not found: cannot run the README's scale-out recipe (redis-server: apt-get install redis-server)")
		}
	}
	checkRecipePorts(t, r.cmds)
	procs := make([]*recipeProc, len(r.cmds))
	for i, c := range r.cmds {
		procs[i] = startRecipe(t, c)
	}
	up := time.Now()
	t.Logf("the recipe's %d commands are up", len(r.cmds))

	demo := demoNames()
	for _, w := range r.webs {
		v := newViewer("http://" + w)
		waitFor(t, 15*time.Second, "web replica "+w+" to serve an image of every demo camera taken after the recipe was up", func() bool {
			for esn := range demo {
				if !v.freshAfter(esn, up) {
					return false
				}
			}
			return true
		})
		checkCameraNames(t, v, demo)
	}
	waitLeaders(t, r.fetchers, demo, 15*time.Second, "the two fetchers to share the demo cameras, one leader each")
	t.Logf("both web replicas serve fresh images of the %d demo cameras; the two fetchers share them", len(demo))

	// "Stop one fetcher with Ctrl-C and the other leads all four within
	// about LOCK_TTL (5 s); start it again and they share again."
	second := slices.IndexFunc(r.cmds, func(c recipeCommand) bool { return strings.Contains(c.line, "ADMIN_ADDR="+r.fetchers[1]) })
	procs[second].interrupt(t)
	took := waitLeaders(t, r.fetchers[:1], demo, recipeLockTTL+2*time.Second, "the other fetcher to lead every camera after a Ctrl-C")
	t.Logf("the other fetcher led every camera %s after the Ctrl-C", took.Round(time.Millisecond))
	startRecipe(t, r.cmds[second])
	waitLeaders(t, r.fetchers, demo, 15*time.Second, "the restarted fetcher to take its share again")
}

// recipeLockTTL is the fetchers' LOCK_TTL in the recipe: the default, as the README says.
const recipeLockTTL = 5 * time.Second

// checkRecipePorts fails unless every port the recipe listens on is below
// the ephemeral range (so no test's :0 listener can take it), and skips
// (fails under CAMRELAY_NO_SKIP=1) when one is in use on this machine.
func checkRecipePorts(t *testing.T, cmds []recipeCommand) {
	t.Helper()
	low := 32768 // Linux's default first ephemeral port
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			low, _ = strconv.Atoi(f[0])
		}
	}
	for _, c := range cmds {
		for _, addr := range c.listens {
			_, port, _ := net.SplitHostPort(addr)
			if p, _ := strconv.Atoi(port); p >= low {
				t.Fatalf("the recipe's port %d is in the ephemeral range (from %d): other programs' :0 listeners may take it", p, low)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				skipOrFail(t, fmt.Sprintf("%s is taken on this machine (%v): the README's scale-out recipe needs it", addr, err))
			}
			ln.Close()
		}
	}
}

// recipeProc is one command of the recipe, running in its own process
// group (bash, go run and the program it builds).
type recipeProc struct {
	cmd  *exec.Cmd
	out  *testbed.SyncBuffer
	done chan struct{} // closed when the whole group has exited
}

// startRecipe runs c and waits until it listens on each of its
// addresses; the first run of a `go run` compiles, so it may take long.
// The command is interrupted when the test ends.
func startRecipe(t *testing.T, c recipeCommand) *recipeProc {
	t.Helper()
	p := &recipeProc{cmd: exec.Command("bash", "-c", c.line), out: &testbed.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = ".."
	p.cmd.Env = recipeEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }() // Wait returns once every holder of the output pipe exited
	t.Cleanup(func() {
		p.interrupt(t)
		if t.Failed() {
			t.Logf("output of %s:\n%s", c.line, p.out)
		}
	})
	waitFor(t, 3*time.Minute, "`"+c.line+"` to listen on "+strings.Join(c.listens, ", "), func() bool {
		select {
		case <-p.done:
			t.Fatalf("`%s` exited: %v\n%s", c.line, p.cmd.ProcessState, p.out)
		default:
		}
		for _, addr := range c.listens {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return false
			}
			conn.Close()
		}
		return true
	})
	return p
}

// interrupt is Ctrl-C in the command's terminal: SIGINT to its process
// group. The whole group must be gone within 10 s (then it is killed).
func (p *recipeProc) interrupt(t *testing.T) {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-pgid, syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		t.Errorf("`%s` did not stop within 10 s of a Ctrl-C", p.cmd.Args[2])
	}
}

// recipeEnv is the environment of the recipe's commands: what finds the
// tools, Go's caches and a proxy, and nothing else, so that a developer's
// own REDIS_URL, LOG_LEVEL or EEN_PASSWORD cannot change the recipe.
func recipeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH", k == "HOME", k == "TMPDIR", strings.HasPrefix(k, "XDG_"),
			strings.HasPrefix(k, "GO"), strings.HasPrefix(k, "CGO_"), strings.HasSuffix(strings.ToUpper(k), "_PROXY"):
			env = append(env, kv)
		}
	}
	return env
}

// checkCameraNames checks that the replica lists every demo camera by its
// demo name: the fetchers' CAMERAS in the recipe name them as the demo does.
func checkCameraNames(t *testing.T, v *viewer, demo map[string]string) {
	t.Helper()
	var cams []struct{ ESN, Name string }
	if err := v.getJSON("/api/cameras", &cams); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]string)
	for _, c := range cams {
		got[c.ESN] = c.Name
	}
	if fmt.Sprint(got) != fmt.Sprint(demo) {
		t.Errorf("%s/api/cameras lists %v, want the demo cameras %v", v.base, got, demo)
	}
}

// waitLeaders waits until each demo camera is led by exactly one of the
// fetchers (their /status on their admin addresses) and each leads some,
// and returns how long that took.
func waitLeaders(t *testing.T, fetchers []string, demo map[string]string, within time.Duration, what string) time.Duration {
	t.Helper()
	var seen []map[string]bool
	defer func() {
		if t.Failed() {
			t.Logf("cameras led, per fetcher %v: %v", fetchers, seen)
		}
	}()
	return waitFor(t, within, what, func() bool {
		seen = seen[:0]
		leaders := make(map[string]int)
		for _, f := range fetchers {
			var status map[string]struct{ Leading bool }
			if err := newViewer("http://"+f).getJSON("/status", &status); err != nil {
				return false
			}
			led := make(map[string]bool)
			for esn, s := range status {
				if s.Leading {
					led[esn] = true
					leaders[esn]++
				}
			}
			seen = append(seen, led)
			if len(led) == 0 {
				return false
			}
		}
		for esn := range demo {
			if leaders[esn] != 1 {
				return false
			}
		}
		return true
	})
}

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds a camrelay command once per test run and returns its path.
func binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "camrelay-bin")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir, "../../cmd/fetcher", "../../cmd/web", "../../cmd/eensim").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// fetcherProc is a fetcher running as its own process, so a test can
// kill -9 or freeze it.
type fetcherProc struct {
	cmd   *exec.Cmd
	admin string
	logs  *testbed.SyncBuffer
	exit  chan error
}

var adminRe = regexp.MustCompile(`msg="fetcher: starting".* admin=(\S+)`)

func startFetcherProc(t *testing.T, vars map[string]string) *fetcherProc {
	t.Helper()
	cmd := exec.Command(binary(t, "fetcher"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, _ := cmd.StderrPipe()
	p := &fetcherProc{cmd: cmd, logs: &testbed.SyncBuffer{}, exit: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.logs, line)
			if m := adminRe.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
		p.exit <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGCONT); cmd.Process.Kill() })
	select {
	case p.admin = <-found:
	case <-time.After(10 * time.Second):
		t.Fatalf("fetcher did not start:\n%s", p.logs)
	}
	return p
}

// status reads the fetcher's per-camera state from its admin port.
func (p *fetcherProc) status() map[preview.ESN]fetcher.CameraState {
	st, _ := testbed.FetcherStatus(context.Background(), "http://"+p.admin)
	return st
}

// leaderOf returns the index of the fetcher leading esn, or -1.
func leaderOf(procs []*fetcherProc, esn preview.ESN) int {
	for i, p := range procs {
		if st := p.status(); st[esn].Leading {
			return i
		}
	}
	return -1
}

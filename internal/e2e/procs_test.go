package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	resp, err := http.Get("http://" + p.admin + "/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st map[preview.ESN]fetcher.CameraState
	json.NewDecoder(resp.Body).Decode(&st)
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

// frameWatcher records every frame event published, per camera, with the
// time the test saw it.
type frameWatcher struct {
	mu     sync.Mutex
	events map[preview.ESN][]frameSeen
}

type frameSeen struct {
	ts preview.Timestamp
	at time.Time
}

func watchFrames(t *testing.T, rdb *redis.Client, prefix string) *frameWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub := rdb.Subscribe(ctx, preview.Keys{Prefix: prefix}.FramesChannel())
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	w := &frameWatcher{events: make(map[preview.ESN][]frameSeen)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range sub.Channel() {
			var ev preview.FrameEvent
			if json.Unmarshal([]byte(m.Payload), &ev) == nil {
				w.mu.Lock()
				w.events[ev.ESN] = append(w.events[ev.ESN], frameSeen{ts: ev.TS, at: time.Now()})
				w.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { sub.Close(); cancel(); <-done })
	return w
}

// after returns the first frame of esn seen after t.
func (w *frameWatcher) after(esn preview.ESN, t time.Time) (frameSeen, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.events[esn] {
		if f.at.After(t) {
			return f, true
		}
	}
	return frameSeen{}, false
}

// inOrder checks that esn's frames were published in strictly increasing
// time order: no write ever went back in time.
func (w *frameWatcher) inOrder(esn preview.ESN) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.events[esn]
	for i := 1; i < len(ev); i++ {
		if !ev[i].ts.After(ev[i-1].ts) {
			return fmt.Errorf("frame %s published after %s", ev[i].ts, ev[i-1].ts)
		}
	}
	return nil
}

package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
)

// proc is a camrelay program running in-process through its real Run
// function, as its binary would run it.
type proc struct {
	name   string
	cancel context.CancelFunc
	done   chan error
	addrs  map[string]string // listener name → host:port
	logs   *syncBuffer
}

// start runs program with env vars and waits until it listens.
func start(t *testing.T, name string, run func(context.Context, app.Env) error, vars map[string]string, wantListeners ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{name: name, cancel: cancel, done: make(chan error, 1), addrs: map[string]string{}, logs: &syncBuffer{}}
	got := make(chan [2]string, 4)
	env := app.Env{
		Getenv: func(k string) string { return vars[k] },
		Stdout: p.logs,
		Stderr: p.logs,
		Listening: func(n string, a net.Addr) {
			got <- [2]string{n, a.String()}
		},
	}
	go func() { p.done <- run(ctx, env) }()
	timeout := time.After(10 * time.Second)
	for len(p.addrs) < len(wantListeners) {
		select {
		case l := <-got:
			p.addrs[l[0]] = l[1]
		case err := <-p.done:
			t.Fatalf("%s exited at start: %v\n%s", name, err, p.logs)
		case <-timeout:
			t.Fatalf("%s did not listen within 10s\n%s", name, p.logs)
		}
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop cancels the program and checks that it shut down cleanly and soon.
func (p *proc) stop(t *testing.T) {
	if p.cancel == nil {
		return
	}
	// Connections the test's clients dialled but never used look "new" to
	// the server, and Shutdown waits up to 5 s for those: close them.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: exit error: %v", p.name, err)
		}
	case <-time.After(5 * time.Second):
		var dump strings.Builder
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("%s did not stop within 5s; goroutines:\n%s", p.name, dump.String())
	}
}

func (p *proc) url(listener string) string { return "http://" + p.addrs[listener] }

// syncBuffer collects a program's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct{ name, id, data string }

// readSSE reads events from an SSE response until n are read or ctx ends.
func readSSE(ctx context.Context, t *testing.T, url string, n int) []sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("SSE %s: %v", url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("SSE %s: status %d, Content-Type %q", url, resp.StatusCode, ct)
	}
	var out []sseEvent
	var cur sseEvent
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for len(out) < n {
		k, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:k]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line := string(buf[:i])
			buf = buf[i+1:]
			switch {
			case line == "":
				if cur.name != "" {
					out = append(out, cur)
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				cur.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
		if err != nil {
			break
		}
	}
	return out
}

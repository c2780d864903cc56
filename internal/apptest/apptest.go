// Package apptest runs camrelay's programs in-process for tests, through
// their real Run functions, as their binaries would run them.
package apptest

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

// Proc is a program running in-process.
type Proc struct {
	Name   string
	Logs   *SyncBuffer
	cancel context.CancelFunc
	done   chan error
	addrs  map[string]string // listener name → host:port
}

// Start runs program with env vars, waits until every listener in
// wantListeners is open, and stops it when the test ends.
func Start(t testing.TB, name string, run func(context.Context, app.Env) error, vars map[string]string, wantListeners ...string) *Proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{Name: name, cancel: cancel, done: make(chan error, 1), addrs: map[string]string{}, Logs: &SyncBuffer{}}
	got := make(chan [2]string, 4)
	env := app.Env{
		Getenv:    func(k string) string { return vars[k] },
		Stdout:    p.Logs,
		Stderr:    p.Logs,
		Listening: func(n string, a net.Addr) { got <- [2]string{n, a.String()} },
	}
	go func() { p.done <- run(ctx, env) }()
	timeout := time.After(10 * time.Second)
	for !p.listening(wantListeners) {
		select {
		case l := <-got:
			p.addrs[l[0]] = l[1]
		case err := <-p.done:
			t.Fatalf("%s exited at start: %v\n%s", name, err, p.Logs)
		case <-timeout:
			t.Fatalf("%s did not listen within 10s\n%s", name, p.Logs)
		}
	}
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// Stop cancels the program and checks that it shut down cleanly within
// 5 s; it does nothing the second time.
func (p *Proc) Stop(t testing.TB) {
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
			t.Errorf("%s: exit error: %v", p.Name, err)
		}
	case <-time.After(5 * time.Second):
		var dump strings.Builder
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("%s did not stop within 5s; goroutines:\n%s", p.Name, dump.String())
	}
}

// listening reports whether every named listener is open.
func (p *Proc) listening(names []string) bool {
	for _, n := range names {
		if p.addrs[n] == "" {
			return false
		}
	}
	return true
}

// URL is http://host:port of the named listener.
func (p *Proc) URL(listener string) string { return "http://" + p.addrs[listener] }

// SyncBuffer collects a program's output for failure messages.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

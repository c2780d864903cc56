// Package inproc runs camrelay's programs in-process for tests, through
// their real Run functions, as their binaries would run them, and builds
// whole stacks of them over a testbed Redis. It is apart from testbed
// because it imports internal/app, which imports internal/httpserver,
// whose own tests use testbed.
package inproc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Proc is a program running in-process.
type Proc struct {
	Name   string
	Logs   *testbed.SyncBuffer
	cancel context.CancelFunc
	done   chan error
	addrs  map[string]string // listener name → host:port
}

// Run runs program with env vars, waits until every listener in
// wantListeners is open, and stops it when the test ends.
func Run(t testing.TB, name string, run func(context.Context, app.Env) error, vars map[string]string, wantListeners ...string) *Proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{Name: name, cancel: cancel, done: make(chan error, 1), addrs: map[string]string{}, Logs: &testbed.SyncBuffer{}}
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

//go:build unix

package httpserver

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// raiseFileLimit lifts the soft limit on open files to at least n (up to
// the hard limit): a test with a thousand clients holds two descriptors
// per client in this one process.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = min(n, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < n {
		t.Fatalf("need %d open files, the hard limit allows %d (%v): raise it with ulimit -n", n, lim.Max, err)
	}
}

// dialStalled connects with a tiny receive buffer, set before the
// connection opens so the window is small from the start: a client that
// then never reads stalls the server after a few kilobytes.
func dialStalled(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

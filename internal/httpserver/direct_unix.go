//go:build unix

package httpserver

import (
	"net"
	"syscall"
)

// rawConn is conn's file descriptor for writes that must not wait (see
// stream.try); nil where there is none, such as a TLS connection.
func rawConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// writeNow writes as much of b as the socket takes without waiting: Go's
// sockets are non-blocking, and returning true from the callback tells
// the runtime not to wait for room. It fails once the connection is
// closed or its write deadline has passed.
func writeNow(raw syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true
	})
	if n < 0 {
		n = 0 // EAGAIN: no room at all
	}
	if err != nil {
		return n, err
	}
	if werr == syscall.EAGAIN {
		werr = nil
	}
	return n, werr
}

//go:build !unix

package httpserver

import (
	"net"
	"syscall"
)

// rawConn is nil: without a Unix write(2) every event goes through the
// stream's own goroutine.
func rawConn(net.Conn) syscall.RawConn { return nil }

func writeNow(syscall.RawConn, []byte) (int, error) { return 0, nil }

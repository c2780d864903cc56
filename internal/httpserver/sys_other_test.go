//go:build !unix

package httpserver

import (
	"net"
	"testing"
)

func raiseFileLimit(t *testing.T, n uint64) {}

func dialStalled(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(4096)
	return c
}

package httpserver

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// deadlineConn is a connection that takes every write and records the
// write deadlines it is given.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.set = append(c.set, t); return nil }

func TestStreamMovesItsWriteDeadlineOnlyWhenHalfIsGone(t *testing.T) {
	const timeout = time.Minute
	conn := &deadlineConn{}
	st := &stream{conn: conn, chunked: true, timeout: timeout, bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "b"})}
	for range 100 {
		if !st.send([]byte("data: x\n\n")) {
			t.Fatal("send failed")
		}
	}
	if len(conn.set) != 1 {
		t.Fatalf("100 quick sends set the deadline %d times, want once", len(conn.set))
	}
	first := conn.set[0]
	// Still more than half the timeout left: no move.
	st.arm(first.Add(timeout / 2))
	if len(conn.set) != 1 {
		t.Errorf("deadline moved with half the timeout left")
	}
	// Less than half left: it moves.
	st.arm(first.Add(timeout/2 + time.Millisecond))
	if len(conn.set) != 2 || !conn.set[1].Equal(first.Add(timeout/2+time.Millisecond)) {
		t.Errorf("deadlines set %v, want a move to %v", conn.set, first.Add(timeout/2+time.Millisecond))
	}
	// An earlier deadline (end's one second) always applies.
	early := time.Now().Add(time.Second)
	st.arm(early)
	if got := conn.set[len(conn.set)-1]; !got.Equal(early) {
		t.Errorf("last deadline %v, want the earlier %v", got, early)
	}
}

func TestTryLeavesWhatTheSocketCannotTakeToTheStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.(*net.TCPConn).SetWriteBuffer(8 << 10)
	st := &stream{conn: server, raw: rawConn(server), chunked: true, timeout: time.Minute,
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "b"})}
	if st.raw == nil {
		t.Skip("no raw socket writes on this platform")
	}
	chunk := func(i int) []byte {
		ev := fmt.Sprintf("data: %d %s\n\n", i, strings.Repeat("x", 300))
		return fmt.Appendf(nil, "%x\r\n%s\r\n", len(ev), ev)
	}

	// A stream whose last write's deadline has passed takes nothing until
	// its goroutine, done writing, lifts it.
	st.setDeadline(time.Now().Add(-time.Second))
	if st.try(chunk(0), 1) {
		t.Fatal("try wrote past the write deadline")
	}
	if rest := st.takeRest(); !bytes.Equal(rest, chunk(0)) {
		t.Fatalf("rest %q, want the whole event", rest)
	}
	st.idle()

	// The client does not read: the socket takes events until it is full.
	var sent bytes.Buffer
	i := 0
	for ; i < 10000 && st.try(chunk(i), 1); i++ {
		sent.Write(chunk(i))
	}
	if i < 10 || i == 10000 {
		t.Fatalf("the socket took %d events, want a few, then full", i)
	}
	rest := st.takeRest()
	if len(rest) == 0 || !bytes.HasSuffix(chunk(i), rest) {
		t.Fatalf("rest of event %d: %q, want the end of %q", i, rest, chunk(i))
	}
	if st.takeRest() != nil {
		t.Error("rest given twice")
	}
	sent.Write(chunk(i)[:len(chunk(i))-len(rest)])
	sent.Write(rest)

	// The stream's goroutine writes the rest, waiting for the client.
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(sent.Len())))
		read <- b
	}()
	if !st.sendFramed(rest, 1) {
		t.Fatal("sendFramed failed")
	}
	if got := <-read; !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("client read %d bytes unlike the %d sent", len(got), sent.Len())
	}

	st.abort()
	if st.try(chunk(0), 1) {
		t.Error("an aborted stream took an event")
	}
}

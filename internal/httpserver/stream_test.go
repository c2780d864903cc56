package httpserver

import (
	"net"
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

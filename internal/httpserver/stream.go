package httpserver

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// admitStream counts a streaming client, refusing past the replica's cap
// (503: another replica may have room) and past the per-address cap (429:
// one address cannot take every slot). release gives the slot back.
func (s *Server) admitStream(c *gin.Context) (release func(), ok bool) {
	if s.streams.Add(1) > int64(s.cfg.MaxStreams) {
		s.streams.Add(-1)
		s.metrics.rejected.WithLabelValues("replica").Inc()
		c.Header("Retry-After", "5")
		fail(c, http.StatusServiceUnavailable, "too many live viewers on this server")
		return nil, false
	}
	ip := c.ClientIP()
	if !s.perClient.take(ip, s.cfg.MaxStreamsPerClient) {
		s.streams.Add(-1)
		s.metrics.rejected.WithLabelValues("client").Inc()
		c.Header("Retry-After", "10")
		fail(c, http.StatusTooManyRequests, "too many live streams from your address")
		return nil, false
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.perClient.give(ip)
			s.streams.Add(-1)
		})
	}, true
}

// clientSlots counts live streams per client address.
type clientSlots struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *clientSlots) take(ip string, limit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	if c.n[ip] >= limit {
		return false
	}
	c.n[ip]++
	return true
}

func (c *clientSlots) give(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[ip]--; c.n[ip] <= 0 {
		delete(c.n, ip)
	}
}

// stream is the body of one SSE or MJPEG response once its headers are
// out. The replica takes the connection over from net/http (Hijack) and
// writes the HTTP/1.1 chunks itself on a goroutine of its own: net/http's
// per-connection buffers, request state and two goroutines are freed, so
// an idle viewer costs a few kilobytes. Where the connection cannot be
// taken over (HTTP/2), it writes through net/http on the handler's
// goroutine instead. Every write that may wait has a deadline, so a
// stalled client cannot hold a goroutine forever; writes that cannot
// wait (try) come from the hub's writers, sparing the stream's goroutine
// a wake-up per event.
type stream struct {
	// What try touches first, for every client at every event: a cache
	// line or two (at 10,000 clients cache misses are much of the cost).
	mu       sync.Mutex
	aborted  bool // dropped or cut off: no clean end
	finished bool // its connection is no longer this stream's
	chunked  bool // HTTP/1.1: frame each write as a chunk
	err      error
	raw      syscall.RawConn // conn's, for try; nil: no writes but the goroutine's
	rest     []byte          // what try left of an event, for the goroutine to write first
	bytes    prometheus.Counter
	deadline time.Time // the connection's write deadline

	conn    net.Conn // taken over; nil when writing through net/http
	rc      *http.ResponseController
	w       http.ResponseWriter
	done    <-chan struct{} // the request's end, through net/http only
	timeout time.Duration
	vec     [8][]byte // scratch for one vectored write
	hdr     [18]byte  // scratch for a chunk header
}

var errAborted = errors.New("stream aborted")

// startStream sends the response headers (set by the caller) and takes
// the connection over where it can, making st the stream of the response.
func (s *Server) startStream(c *gin.Context, route string, st *stream) error {
	c.Status(http.StatusOK)
	st.w, st.rc, st.done = c.Writer, http.NewResponseController(c.Writer), c.Request.Context().Done()
	st.timeout, st.bytes = s.cfg.WriteTimeout, s.metrics.bytes.WithLabelValues(route)
	if err := st.rc.Flush(); err != nil {
		return err
	}
	if c.Request.ProtoMajor != 1 || !canHijack(c.Writer) {
		return nil // gin's Hijack panics on a writer that cannot (HTTP/2, tests)
	}
	if conn, _, err := st.rc.Hijack(); err == nil {
		st.conn, st.raw, st.chunked = conn, rawConn(conn), c.Request.ProtoAtLeast(1, 1)
		st.w, st.rc, st.done = nil, nil, nil
	}
	return nil
}

// serveStream runs loop, which returns when the stream ends, then ends the
// stream: on a goroutine of its own when the connection was taken over
// (the handler returns at once), else before it returns.
func (s *Server) serveStream(st *stream, gauge prometheus.Gauge, release func(), loop func()) {
	gauge.Inc()
	s.live.add()
	run := func() {
		defer s.live.done()
		defer release()
		defer gauge.Dec()
		defer st.end()
		loop()
	}
	if st.conn == nil {
		run()
		return
	}
	go run()
}

// send writes parts as one chunk and pushes it to the client; false once
// the stream has failed or was aborted.
func (st *stream) send(parts ...[]byte) bool {
	return st.put(func() (int, error) { return st.write(parts) })
}

// sendFramed writes b, already framed for the connection (a chunk where
// chunked), of which payload bytes are the body's; taken-over
// connections only.
func (st *stream) sendFramed(b []byte, payload int) bool {
	return st.put(func() (int, error) {
		if _, err := st.conn.Write(b); err != nil {
			return 0, err
		}
		return payload, nil
	})
}

// put runs write under the write deadline and records its outcome.
func (st *stream) put(write func() (int, error)) bool {
	if !st.arm(time.Now().Add(st.timeout)) {
		return false
	}
	n, err := write()
	st.bytes.Add(float64(n))
	st.mu.Lock()
	defer st.mu.Unlock()
	st.err = firstErr(st.err, err)
	return st.err == nil
}

// try writes b (as sendFramed) if the socket takes all of it at once. It
// runs on one of the hub's writers (fanout.SubscribeDirect), so it never
// waits: when the socket is full, or the stream failed, it keeps what is
// left for the stream's goroutine (takeRest), which writes it, with a
// deadline, before anything else.
func (st *stream) try(b []byte, payload int) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	if !st.aborted && st.err == nil {
		var err error
		if n, err = writeNow(st.raw, b); n == len(b) && err == nil {
			st.bytes.Add(float64(payload))
			return true
		}
	}
	st.rest = b[n:]
	return false
}

// takeRest returns, once, what try left of the last event it was given.
func (st *stream) takeRest() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	rest := st.rest
	st.rest = nil
	return rest
}

// idle lifts the write deadline once the goroutine's writes are done:
// try's writes need none, and would fail once an old one has passed.
func (st *stream) idle() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.aborted && !st.finished && st.err == nil && st.raw != nil {
		st.setDeadline(time.Time{})
	}
}

func (st *stream) write(parts [][]byte) (int, error) {
	if st.conn == nil {
		n := 0
		for _, p := range parts {
			m, err := st.w.Write(p)
			if n += m; err != nil {
				return n, err
			}
		}
		return n, st.rc.Flush()
	}
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	v := net.Buffers(st.vec[:0])
	if st.chunked {
		v = append(v, append(strconv.AppendInt(st.hdr[:0], int64(size), 16), '\r', '\n'))
	}
	v = append(v, parts...)
	if st.chunked {
		v = append(v, crlf)
	}
	_, err := v.WriteTo(st.conn)
	if err != nil {
		return 0, err
	}
	return size, nil
}

// arm sets the write deadline; false once the stream failed or was aborted.
func (st *stream) arm(deadline time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.aborted {
		st.err = firstErr(st.err, errAborted)
	}
	if st.err != nil {
		return false
	}
	// Moving a deadline updates a runtime timer under the connection's
	// lock, on every event of every client (issue 17's profile: 4 % of a
	// stream's CPU). It moves only when asked for an earlier one or when
	// less than half the timeout is left, so a write still gets at least
	// half of it.
	if deadline.Before(st.deadline) || deadline.Sub(st.deadline) > st.timeout/2 {
		st.setDeadline(deadline)
	}
	return true
}

func (st *stream) setDeadline(t time.Time) {
	st.deadline = t
	if st.conn != nil {
		st.conn.SetWriteDeadline(t)
	} else {
		st.rc.SetWriteDeadline(t)
	}
}

// abort makes the stream's current or next write fail at once. Any
// goroutine may call it, any time: once the stream has ended it does
// nothing, so it never touches a connection net/http has reused.
func (st *stream) abort() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.aborted = true
	if !st.finished {
		st.setDeadline(time.Now())
	}
}

// end finishes the stream. A taken-over connection gets the last chunk
// if all went well, so the client sees a clean end, and is closed.
func (st *stream) end() {
	if st.conn != nil && st.chunked && st.arm(time.Now().Add(time.Second)) {
		st.conn.Write(lastChunk)
	}
	st.mu.Lock()
	st.finished = true
	st.mu.Unlock()
	if st.conn != nil {
		st.conn.Close()
	}
}

var lastChunk = []byte("0\r\n\r\n")

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// canHijack reports whether the writer under gin's can give up its
// connection.
func canHijack(w gin.ResponseWriter) bool {
	u, ok := w.(interface{ Unwrap() http.ResponseWriter })
	if !ok {
		return false
	}
	_, ok = u.Unwrap().(http.Hijacker)
	return ok
}

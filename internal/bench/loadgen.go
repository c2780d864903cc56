package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what a load run measured.
type loadResult struct {
	requests int64
	bytes    int64 // body bytes received
	elapsed  time.Duration
}

// generateLoad sends total GET requests for path to addr over conns
// keep-alive connections, each waiting for its answer before sending the
// next, checks every answer is a 200 with wantBody bytes of body, and
// returns every request's latency (writing the request to reading the
// last byte of its answer). It speaks HTTP/1.1 by hand, so the generator
// costs little next to the server and costs the same whichever server it
// measures.
func generateLoad(ctx context.Context, addr, path string, conns int, total int64, wantBody int) (loadResult, []time.Duration, error) {
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\nUser-Agent: camrelay-bench\r\n\r\n")
	var left, bytes atomic.Int64
	left.Store(total)
	lats := make([][]time.Duration, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		lats[i] = make([]time.Duration, 0, total/int64(conns)+1)
		wg.Go(func() {
			n, err := loadConn(ctx, addr, req, &left, wantBody, &lats[i])
			bytes.Add(n)
			errs[i] = err
		})
	}
	wg.Wait()
	res := loadResult{requests: total - max(left.Load(), 0), bytes: bytes.Load(), elapsed: time.Since(start)}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	for _, err := range errs {
		if err != nil {
			return res, all, err
		}
	}
	return res, all, nil
}

// loadConn runs requests on one connection until left runs out,
// appending each request's latency to lat. When the server closes the
// connection (Connection: close, as nginx does after keepalive_requests),
// it opens another, as a browser would.
func loadConn(ctx context.Context, addr string, req []byte, left *atomic.Int64, wantBody int, lat *[]time.Duration) (int64, error) {
	var got int64
	for left.Load() > 0 {
		n, err := loadOneConn(ctx, addr, req, left, wantBody, lat)
		got += n
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// loadOneConn is loadConn on one connection, until left runs out or the
// server closes it.
func loadOneConn(ctx context.Context, addr string, req []byte, left *atomic.Int64, wantBody int, lat *[]time.Duration) (int64, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReaderSize(c, 64<<10)
	var got int64
	for left.Add(-1) >= 0 {
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			return got, err
		}
		n, closing, err := readResponse(br, wantBody)
		if err != nil {
			return got, err
		}
		got += int64(n)
		*lat = append(*lat, time.Since(t0))
		if closing {
			break
		}
	}
	return got, nil
}

// readResponse reads one response with a Content-Length body and discards
// the body; anything but a 200 of wantBody bytes is an error. closing says
// the server closes the connection after it.
func readResponse(br *bufio.Reader, wantBody int) (n int, closing bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || string(line[9:12]) != "200" {
		return 0, false, fmt.Errorf("bench: status line %q", strings.TrimSpace(string(line)))
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		switch {
		case !ok:
		case bytes.EqualFold(k, contentLength):
			length = atoi(bytes.TrimSpace(v))
		case bytes.EqualFold(k, connection):
			closing = bytes.EqualFold(bytes.TrimSpace(v), []byte("close"))
		}
	}
	if length != wantBody {
		return 0, false, fmt.Errorf("bench: Content-Length %d, want %d", length, wantBody)
	}
	n, err = br.Discard(length)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, closing, err
}

var (
	contentLength = []byte("Content-Length")
	connection    = []byte("Connection")
)

// atoi parses a decimal without allocating; -1 when b is not one.
func atoi(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

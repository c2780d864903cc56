package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// swarm is many SSE clients of one stream, each recording when it read
// each frame event. Frames must come one at a time (the next published
// only once every client has the last), so a client's k-th frame event is
// frame k for every client.
type swarm struct {
	n, frames int
	recv      [][]int64 // recv[client][k]: unix ns when client read frame k
	counts    []atomic.Int64
	done      []chan struct{}
	conns     []net.Conn
	errs      chan error
}

// newSwarm prepares n clients for the initial frame plus frames more.
func newSwarm(n, frames int) *swarm {
	s := &swarm{n: n, frames: frames, recv: make([][]int64, n), counts: make([]atomic.Int64, frames+1),
		done: make([]chan struct{}, frames+1), conns: make([]net.Conn, n), errs: make(chan error, n)}
	for k := range s.done {
		s.done[k] = make(chan struct{})
	}
	for i := range s.recv {
		s.recv[i] = make([]int64, frames+1)
	}
	return s
}

// connect opens every client's stream to addr+path, a bounded number at a
// time so the listen backlog never overflows, and starts its reader.
func (s *swarm) connect(ctx context.Context, addr, path string) error {
	var g errgroup.Group
	g.SetLimit(128)
	for i := range s.n {
		g.Go(func() error {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			s.conns[i] = c
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n", path); err != nil {
				return err
			}
			go s.read(i, c)
			return nil
		})
	}
	return g.Wait()
}

// read records client i's frame events until the stream ends.
func (s *swarm) read(i int, c net.Conn) {
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
	if err != nil {
		s.errs <- fmt.Errorf("client %d: %w", i, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		s.errs <- fmt.Errorf("client %d: %s", i, resp.Status)
		return
	}
	br := bufio.NewReaderSize(resp.Body, 512)
	for k := 0; k <= s.frames; {
		line, err := br.ReadSlice('\n')
		if err != nil {
			s.errs <- fmt.Errorf("client %d after %d frames: %w", i, k, err)
			return
		}
		if !bytes.HasPrefix(line, idPrefix) {
			continue
		}
		s.recv[i][k] = time.Now().UnixNano()
		if s.counts[k].Add(1) == int64(s.n) {
			close(s.done[k])
		}
		k++
	}
}

var idPrefix = []byte("id: ")

// wait waits until every client has frame k, a client fails, or d passes.
func (s *swarm) wait(k int, d time.Duration) error {
	select {
	case <-s.done[k]:
		return nil
	case err := <-s.errs:
		return err
	case <-time.After(d):
		return fmt.Errorf("frame %d: %d of %d clients after %v", k, s.counts[k].Load(), s.n, d)
	}
}

// close ends every client.
func (s *swarm) close() {
	for _, c := range s.conns {
		if c != nil {
			c.Close()
		}
	}
}

// latencies returns, for frames 1..frames published at pub[k] (unix ns),
// every client's delay and each frame's delay to its last client.
func (s *swarm) latencies(pub []int64) (all, last []time.Duration) {
	for k := 1; k <= s.frames; k++ {
		var worst int64
		for i := range s.recv {
			d := s.recv[i][k] - pub[k]
			all = append(all, time.Duration(d))
			worst = max(worst, d)
		}
		last = append(last, time.Duration(worst))
	}
	return all, last
}

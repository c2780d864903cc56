package httpserver

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// connectSSE opens n event streams on path, each read up to its first
// event, which must be want.
func connectSSE(t *testing.T, addr, path string, n int, want string) []*sseConn {
	t.Helper()
	conns := make([]*sseConn, n)
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	var g errgroup.Group
	g.SetLimit(64) // under the listen backlog
	for i := range conns {
		g.Go(func() error {
			c, err := dialSSE(addr, path)
			if err != nil {
				return err
			}
			conns[i] = c
			if ev, err := c.next(20 * time.Second); ev != want {
				return fmt.Errorf("client %d: first event %q (%v), want %q", i, ev, err, want)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return conns
}

func TestThousandSSEClientsAllGetANewFrame(t *testing.T) {
	t.Parallel()
	const n = 1000
	raiseFileLimit(t, 2*n+256)
	r := newRedisReplica(t, Config{MaxStreamsPerClient: 2000}, nil, preview.Camera{ESN: camA}) // every client dials from 127.0.0.1
	f1 := r.save(camA, jpeg(100, "one"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f1.TS })
	conns := connectSSE(t, r.ts.Listener.Addr().String(), "/preview/1006073b/events", n, frameEvent(f1))
	if got := r.metric("camrelay_web_sse_clients"); got != n {
		t.Fatalf("sse_clients = %v, want %d", got, n)
	}

	start := time.Now()
	f2 := r.save(camA, jpeg(100, "two"))
	var g errgroup.Group
	for i, c := range conns {
		g.Go(func() error {
			if ev, err := c.next(20 * time.Second); ev != frameEvent(f2) {
				return fmt.Errorf("client %d: %q (%v), want the new frame", i, ev, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d SSE clients on one replica all had the new frame %v after it was stored", n, time.Since(start).Round(time.Millisecond))
	if d := r.metric("camrelay_web_slow_clients_dropped_total"); d != 0 {
		t.Errorf("%v clients dropped", d)
	}
}

// sendRequest writes a GET for path and never reads the answer.
func sendRequest(t *testing.T, c net.Conn, path string) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
}

func TestSlowClientIsDroppedWithoutDelayingOthers(t *testing.T) {
	t.Parallel()
	const fast, frames = 20, 400
	// A minute-long write deadline: were the fan-out ever to wait for the
	// stalled clients, the others would wait a minute and time out.
	r := newRedisReplica(t, Config{WriteTimeout: time.Minute}, smallBuffers, preview.Camera{ESN: camA})
	f0 := r.save(camA, jpeg(4<<10, "zero"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f0.TS })
	addr := r.ts.Listener.Addr().String()
	sendRequest(t, dialStalled(t, addr), "/preview/1006073b/events")
	sendRequest(t, dialStalled(t, addr), "/preview/1006073b.mjpg")
	conns := connectSSE(t, addr, "/preview/1006073b/events", fast, frameEvent(f0))
	testbed.WaitFor(t, 5*time.Second, "all streams open", func() bool {
		return r.metric("camrelay_web_sse_clients") == fast+1 && r.metric("camrelay_web_mjpeg_clients") == 1
	})

	got := make([][]string, fast)
	progress := make([]atomic.Int64, fast)
	var g errgroup.Group
	for i, c := range conns {
		g.Go(func() error {
			for range frames {
				ev, err := c.next(10 * time.Second)
				if err != nil {
					return fmt.Errorf("fast client %d after %d events: %w", i, len(got[i]), err)
				}
				got[i] = append(got[i], ev)
				progress[i].Add(1)
			}
			return nil
		})
	}
	// Frames come in batches smaller than a client's buffer, each once the
	// fast clients have the last: a camera's pace, not a flood no reader
	// could keep up with, while the stalled clients never read at all.
	start := time.Now()
	want := make([]string, 0, frames)
	for len(want) < frames {
		for range 8 {
			want = append(want, frameEvent(r.save(camA, jpeg(4<<10, "n"))))
		}
		testbed.WaitFor(t, 5*time.Second, "fast clients have the batch", func() bool {
			for i := range progress {
				if progress[i].Load() < int64(len(want)) {
					return false
				}
			}
			return true
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d fast clients had all %d frames %v after the first was stored", fast, frames, time.Since(start).Round(time.Millisecond))
	for i := range got {
		for j := range want {
			if got[i][j] != want[j] {
				t.Fatalf("fast client %d event %d: %q, want %q", i, j, got[i][j], want[j])
			}
		}
	}
	// Both stalled clients are dropped, and their handlers end at once,
	// not at their minute-long write deadline.
	testbed.WaitFor(t, 5*time.Second, "stalled clients dropped", func() bool {
		return r.metric("camrelay_web_slow_clients_dropped_total") == 2 &&
			r.metric("camrelay_web_sse_clients") == fast && r.metric("camrelay_web_mjpeg_clients") == 0
	})
}

func TestStalledStreamEndsAtItsWriteDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 300 * time.Millisecond
	r := newRedisReplica(t, Config{WriteTimeout: deadline}, smallBuffers, preview.Camera{ESN: camA})
	f := r.save(camA, jpeg(256<<10, "big"))
	testbed.WaitFor(t, 5*time.Second, "frame known", func() bool { m, _ := r.srv.hub.Current(camA, time.Now()); return m.TS == f.TS })
	start := time.Now()
	// The first part alone overfills the socket buffers, and no event
	// follows: only the write deadline can end this stream.
	sendRequest(t, dialStalled(t, r.ts.Listener.Addr().String()), "/preview/1006073b.mjpg")
	testbed.WaitFor(t, 5*time.Second, "stream started", func() bool { // counted once its headers are out
		return r.metric("camrelay_web_requests_total", "route", mjpegRoute, "code", "200") == 1
	})
	testbed.WaitFor(t, 5*time.Second, "stalled stream ended", func() bool { return r.srv.streams.Load() == 0 && r.metric("camrelay_web_mjpeg_clients") == 0 })
	if took := time.Since(start); took < deadline {
		t.Errorf("stream ended after %v, before its write deadline", took)
	}
	if d := r.metric("camrelay_web_slow_clients_dropped_total"); d != 0 {
		t.Errorf("%v clients dropped; the deadline alone should end this one", d)
	}
}

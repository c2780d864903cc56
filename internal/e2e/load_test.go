package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// clientFrom returns an HTTP client whose connections come from ip, so a
// test on loopback can be several client addresses.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// Thousands of idle connections, slowloris headers and a flood of SSE
// connections from one address do not take a replica down: limits answer
// 429, the server drops the idle and slow ones, and a viewer elsewhere
// keeps receiving every frame.
func TestReplicaSurvivesAbuse(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: not in -short mode")
	}
	rds := testbed.Redis(t)
	_, _, web := camStack(t, rds.URL(), "", nil, map[string]string{"MAX_STREAMS_PER_CLIENT": "20"})
	w := web.URL("web")
	addr := strings.TrimPrefix(w, "http://")

	// A viewer at another address follows the camera throughout.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gaps := viewer(ctx, t, clientFrom("127.0.0.2"), w+"/preview/"+camA+"/events")

	attackStart := time.Now()
	idle := dialMany(t, addr, 2000, nil)
	slow := dialMany(t, addr, 200, []byte("GET /preview/"+camA+".jpg HTTP/1.1\r\nHost: x\r\n"))
	go dribble(ctx, slow) // one header byte a second, never finishing
	codes := floodSSE(ctx, t, w+"/preview/"+camA+"/events", 100)
	t.Logf("SSE flood from one address: %v", codes)
	if codes[200] != 20 || codes[429] != 80 {
		t.Errorf("flood of 100 streams from one address: %v, want 20×200 and 80×429", codes)
	}
	other := clientFrom("127.0.0.3")
	for range 20 {
		resp, err := other.Get(w + "/preview/" + camA + ".jpg")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a viewer's image request failed under attack: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	// The server closes connections that never finish their headers.
	closed := waitClosed(append(idle, slow...), 10*time.Second)
	t.Logf("%d of %d idle or slowloris connections closed by the server %s after they opened",
		closed, len(idle)+len(slow), time.Since(attackStart).Round(time.Millisecond))
	if closed != len(idle)+len(slow) {
		t.Errorf("%d idle or slow connections still open after 10 s", len(idle)+len(slow)-closed)
	}
	cancel()
	if worst := <-gaps; worst > time.Second {
		t.Errorf("the viewer went %s without a frame during the attack (frames every 250 ms)", worst)
	} else {
		t.Logf("the viewer's longest wait between frames during the attack: %s", worst.Round(time.Millisecond))
	}
}

// viewer reads SSE frames until ctx ends and sends the longest gap.
func viewer(ctx context.Context, t *testing.T, c *http.Client, url string) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("viewer: %v %v", resp, err)
	}
	go func() {
		defer resp.Body.Close()
		var worst time.Duration
		last := time.Now()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: frame") {
				worst = max(worst, time.Since(last))
				last = time.Now()
			}
		}
		out <- worst
	}()
	return out
}

// dialMany opens n connections and writes first on each.
func dialMany(t *testing.T, addr string, n int, first []byte) []net.Conn {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		if first != nil {
			c.Write(first)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// dribble sends one header byte a second on each connection.
func dribble(ctx context.Context, conns []net.Conn) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, c := range conns {
				c.Write([]byte("X"))
			}
		}
	}
}

// floodSSE opens n SSE streams at once and counts the statuses.
func floodSSE(ctx context.Context, t *testing.T, url string, n int) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	tr := &http.Transport{MaxConnsPerHost: 0}
	t.Cleanup(tr.CloseIdleConnections)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				codes[0]++
				return
			}
			codes[resp.StatusCode]++
			if resp.StatusCode != 200 {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return
			}
			go func() { <-ctx.Done(); resp.Body.Close() }() // stays open until the test ends
		})
	}
	wg.Wait()
	return codes
}

// waitClosed waits until the server has closed the connections (a read
// sees EOF or a reset) and returns how many it closed.
func waitClosed(conns []net.Conn, within time.Duration) int {
	deadline := time.Now().Add(within)
	var closed sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, c := range conns {
		closed.Go(func() {
			c.SetReadDeadline(deadline)
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						mu.Lock()
						n++
						mu.Unlock()
					}
					return
				}
			}
		})
	}
	closed.Wait()
	return n
}

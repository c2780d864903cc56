package e2e

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// hostileIDs are camera ids an attacker might try: not on the allow-list,
// traversal, encoded slashes, overlong, look-alikes, control bytes.
var hostileIDs = []string{
	"deadbeef", "DEADBEEF", "..", "../../etc/passwd", "%2e%2e%2f", "1006073b%2F..", "1006073b%2f..%2f..",
	"1006073b1006073b", "１００６０７３b", "1006073Ь", "1006073b%00", "%00", "1006073\u200bb",
	"*", "camrelay:*", "{1006073b}", strings.Repeat("a", 4000),
}

// camrelay is not an open proxy: no hostile id on any route gets more than
// a 400 or 404, and none reaches a Redis command or the upstream.
func TestHostilePathsReachNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	rds := testbed.Redis(t)
	sim, _, web := camStack(t, rds.URL(), "deadbeef", nil, nil)
	w := web.URL("web")

	commands := monitor(t, rds)
	for _, id := range hostileIDs {
		for _, path := range []string{"/preview/" + id + ".jpg", "/preview/" + id + ".mjpg", "/preview/" + id + "/events",
			"/events?esn=" + url.QueryEscape(id), "/events?esn=" + camA + "&esn=" + url.QueryEscape(id), "/embed/" + id} {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, w+path, nil)
			if err != nil {
				cancel()
				continue // not even a URL
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				cancel()
				t.Errorf("%.60s: %v", path, err)
				continue
			}
			resp.Body.Close()
			cancel()
			if resp.StatusCode != 400 && resp.StatusCode != 404 {
				t.Errorf("%.60s: status %d, want 400 or 404", path, resp.StatusCode)
			}
		}
	}
	seen := commands()
	for _, line := range seen {
		// Image bytes in a frame write are binary: by chance they may hold
		// ".." or "aaaa". A hostile id would stand in a printable argument.
		l := strings.ToLower(binaryArg.ReplaceAllString(line, `"<binary>"`))
		if strings.Contains(l, "deadbeef") || strings.Contains(l, "..") || strings.Contains(l, "passwd") || strings.Contains(l, "aaaa") {
			t.Errorf("a hostile id reached Redis: %.200s", line)
		}
	}
	if n := (&system{sim: sim}).simStats(t); imageCalls(n, "deadbeef") > 0 {
		t.Error("a camera that is not public was fetched upstream")
	}
	t.Logf("%d hostile requests answered 400/404; %d Redis commands watched, none about them", len(hostileIDs)*6, len(seen))
}

// binaryArg is a MONITOR argument with escaped bytes (an image).
var binaryArg = regexp.MustCompile(`"(?:[^"\\]|\\.)*\\x[0-9a-f]{2}(?:[^"\\]|\\.)*"`)

// monitor records every command Redis runs from now until the returned
// func is called, over a raw MONITOR connection.
func monitor(t *testing.T, rds *testbed.RedisServer) func() []string {
	conn, err := net.Dial("tcp", rds.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(conn)
	conn.Write([]byte("MONITOR\r\n"))
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+OK") {
		t.Fatalf("MONITOR: %q %v", l, err)
	}
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines = append(lines, l)
			if strings.Contains(l, "monitor-end-marker") {
				return
			}
		}
	}()
	return func() []string {
		rds.Client().Echo(context.Background(), "monitor-end-marker")
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the end marker never came through MONITOR")
		}
		conn.Close()
		<-done
		return lines
	}
}

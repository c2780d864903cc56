package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/apptest"
)

type proc = apptest.Proc

type syncBuffer = apptest.SyncBuffer

func start(t *testing.T, name string, run func(context.Context, app.Env) error, vars map[string]string, listeners ...string) *proc {
	t.Helper()
	return apptest.Start(t, name, run, vars, listeners...)
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	apptest.WaitFor(t, within, what, cond)
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct{ name, id, data string }

// readSSE reads events from an SSE response until n are read or ctx ends.
func readSSE(ctx context.Context, t *testing.T, url string, n int) []sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("SSE %s: %v", url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("SSE %s: status %d, Content-Type %q", url, resp.StatusCode, ct)
	}
	var out []sseEvent
	var cur sseEvent
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for len(out) < n {
		k, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:k]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line := string(buf[:i])
			buf = buf[i+1:]
			switch {
			case line == "":
				if cur.name != "" {
					out = append(out, cur)
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				cur.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
		if err != nil {
			break
		}
	}
	return out
}

package testbed

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
)

// SSEEvent is one parsed Server-Sent Event.
type SSEEvent struct{ Name, ID, Data string }

// ReadSSE reads events from the event stream at url until n are read, the
// stream ends or ctx ends; an answer that is not a stream is an error.
func ReadSSE(ctx context.Context, url string, n int) ([]SSEEvent, error) {
	var out []SSEEvent
	if n <= 0 {
		return out, EachSSE(ctx, url, nil)
	}
	err := EachSSE(ctx, url, func(ev SSEEvent) bool {
		out = append(out, ev)
		return len(out) < n
	})
	return out, err
}

// EachSSE passes each event of the stream at url to each until it returns
// false, the stream ends or ctx ends (nil each: return once connected); an
// answer that is not a stream is an error.
func EachSSE(ctx context.Context, url string, each func(SSEEvent) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("SSE %s: %w", url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("SSE %s: status %d, Content-Type %q", url, resp.StatusCode, ct)
	}
	var cur SSEEvent
	sc := bufio.NewScanner(resp.Body)
	for more := each != nil; more && sc.Scan(); {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Name != "" {
				more = each(cur)
			}
			cur = SSEEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.Name = line[7:]
		case strings.HasPrefix(line, "id: "):
			cur.ID = line[4:]
		case strings.HasPrefix(line, "data: "):
			cur.Data = line[6:]
		}
	}
	return nil
}

package deployments

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// viewer is an anonymous viewer of the relay through nginx.
type viewer struct {
	base   string
	client *http.Client
}

func newViewer(base string) *viewer {
	return &viewer{base: base, client: &http.Client{Timeout: 10 * time.Second}}
}

// frame GETs /preview/{esn}.jpg and returns the image's EEN timestamp; an
// error for anything but a 200 with a JPEG.
func (v *viewer) frame(esn string) (preview.Timestamp, error) {
	resp, err := v.client.Get(v.base + "/preview/" + esn + ".jpg")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if !preview.IsJPEG(body) {
		return "", fmt.Errorf("%d bytes that are not a JPEG", len(body))
	}
	return preview.ParseHeaderTimestamp(resp.Header.Get("X-Frame-Timestamp"))
}

// freshAfter reports whether camera esn serves an image taken after t.
func (v *viewer) freshAfter(esn string, t time.Time) bool {
	ts, err := v.frame(esn)
	return err == nil && ts.Time().After(t)
}

// getJSON GETs path and decodes its JSON answer into out; an error for
// anything but a 200.
func (v *viewer) getJSON(path string, out any) error {
	resp, err := v.client.Get(v.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s%s: %s", v.base, path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name, id string
	ts       preview.Timestamp
}

// events opens an SSE stream and delivers its events until the stream or
// ctx ends; then the channel closes.
func (v *viewer) events(ctx context.Context, path, lastID string) (<-chan sseEvent, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := (&http.Client{}).Do(req) // no overall timeout: a stream
	if err != nil {
		return nil, err
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s, %s", path, resp.Status, ct)
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			field, value, _ := strings.Cut(sc.Text(), ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				ev.name = value
			case "id":
				ev.id = value
			case "data":
				var d struct{ TS preview.Timestamp }
				json.Unmarshal([]byte(value), &d)
				ev.ts = d.TS
			case "":
				if ev.name != "" {
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
			}
		}
	}()
	return ch, nil
}

// sseFrame is a frame event as a viewer got it.
type sseFrame struct {
	ts         preview.Timestamp
	at         time.Time // when it arrived
	reconnects int       // how often the viewer had to reconnect before
}

// follow is a viewer of an SSE stream that reconnects with Last-Event-ID
// when the stream ends, as a browser's EventSource does. It delivers the
// frame events until ctx ends; the buffer holds a minute of them, so
// nobody needs to read while the test does something else.
func (v *viewer) follow(ctx context.Context, path string) <-chan sseFrame {
	out := make(chan sseFrame, 1024)
	go func() {
		defer close(out)
		var lastID string
		reconnects := -1
		for ctx.Err() == nil {
			ch, err := v.events(ctx, path, lastID)
			if err != nil {
				select { // the relay is not answering: retry as EventSource does
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
				continue
			}
			reconnects++
			for ev := range ch {
				if ev.name != "frame" {
					continue
				}
				lastID = ev.id
				select {
				case out <- sseFrame{ts: ev.ts, at: time.Now(), reconnects: reconnects}:
				default: // a full buffer: the test stopped reading
				}
			}
		}
	}()
	return out
}

// mjpegParts reads an MJPEG stream until n parts have arrived.
func (v *viewer) mjpegParts(ctx context.Context, esn string, n int) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, v.base+"/preview/"+esn+".mjpg", nil)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ct, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || ct != "multipart/x-mixed-replace" || params["boundary"] == "" {
		return fmt.Errorf("%s, %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	boundary := "--" + params["boundary"]
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	parts := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), boundary) {
			if parts++; parts > n { // the boundary after the nth part
				return nil
			}
		}
	}
	return fmt.Errorf("stream ended after %d parts: %v", parts, sc.Err())
}

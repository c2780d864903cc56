package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// freshScenario measures, for every frame of a few cameras over a window,
// the time from the frame existing upstream (the simulator makes frame k
// exist at its timestamp) to its SSE event reaching a client of a web
// replica, and to that client having the new image's bytes from
// /preview/{esn}.jpg. One fetcher, one replica, all on loopback.
func freshScenario(ctx context.Context, e *env) ([]Row, error) {
	ncams, interval, win := 4, 250*time.Millisecond, e.window(10*time.Second, 2*time.Second)
	s, err := e.startStack(ctx, "fresh", ncams, interval, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if _, err := s.AddFetcher(ctx, nil); err != nil {
		return nil, err
	}
	web, err := s.AddWeb(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := testbed.Wait(ctx, 30*time.Second, "every camera led and served", func() bool {
		return s.settled(ctx) && s.allServed(ctx)
	}); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, c := range s.cams {
		q.Add("esn", string(c))
	}
	base := "http://" + web.Addr("web")
	var sse, img [2][]float64 // p50s, p99s over runs, ms
	frames := 0
	for r := range e.Runs {
		f, err := freshOnce(ctx, base, base+"/events?"+q.Encode(), win)
		if err != nil {
			return nil, err
		}
		e.log("fresh: run %d: %d events, %d images, %d answers older than the event", r+1, len(f.sse), len(f.img), f.older)
		for i, p := range []float64{50, 99} {
			sse[i] = append(sse[i], float64(percentile(f.sse, p))/1e6)
			img[i] = append(img[i], float64(percentile(f.img, p))/1e6)
		}
		frames += len(f.sse)
	}
	row := func(what string, ps [2][]float64) Row {
		return Row{Figure: fmt.Sprintf("frame upstream → %s, p50 / p99 (%d frames, %s)", what, frames, ofRuns(e.Runs)),
			Camrelay: fmt.Sprintf("%.1f ms / %.1f ms", median(ps[0]), median(ps[1])), Target: "p99 ≤ 50 ms", Met: met(median(ps[1]) <= 50)}
	}
	return []Row{row("SSE event at client", sse), row("new bytes served", img)}, nil
}

// freshOnce follows the stream at u for win and returns what it measured.
func freshOnce(ctx context.Context, base, u string, win time.Duration) (*freshness, error) {
	wctx, cancel := context.WithTimeout(ctx, win)
	defer cancel()
	f := &freshness{base: base}
	err := f.follow(wctx, u)
	f.wg.Wait()
	if err != nil && wctx.Err() == nil {
		return nil, err
	}
	if len(f.sse) == 0 || len(f.img) == 0 {
		return nil, fmt.Errorf("no new frames in %s", win)
	}
	return f, nil
}

// freshness follows an SSE stream and fetches each new image.
type freshness struct {
	base  string
	wg    sync.WaitGroup
	mu    sync.Mutex
	sse   []time.Duration
	img   []time.Duration
	older int // image answers older than the event that announced them
}

// follow reads frame events until the stream or ctx ends; each camera's
// first event (its frame at connect time) is not a new frame and is skipped.
func (f *freshness) follow(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := streamClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	seen := make(map[preview.ESN]bool)
	br := bufio.NewReader(resp.Body)
	isFrame := false
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return err
		}
		now := time.Now()
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			isFrame = string(bytes.TrimSpace(line[7:])) == "frame"
		case isFrame && bytes.HasPrefix(line, []byte("data: ")):
			var ev struct {
				ESN preview.ESN       `json:"esn"`
				TS  preview.Timestamp `json:"ts"`
			}
			if err := json.Unmarshal(line[6:], &ev); err != nil {
				return err
			}
			if seen[ev.ESN] {
				f.mu.Lock()
				f.sse = append(f.sse, now.Sub(ev.TS.Time()))
				f.mu.Unlock()
				f.wg.Go(func() { f.fetch(ctx, ev.ESN, ev.TS) })
			}
			seen[ev.ESN] = true
		}
	}
}

// fetch GETs the camera's image until it is the announced frame (or a
// newer one) and records when its bytes were all in.
func (f *freshness) fetch(ctx context.Context, esn preview.ESN, ts preview.Timestamp) {
	for range 20 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/preview/"+string(esn)+".jpg", nil)
		if err != nil {
			return
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		now := time.Now()
		if err != nil || resp.StatusCode != http.StatusOK {
			return
		}
		f.mu.Lock()
		if got := preview.Timestamp(resp.Header.Get("X-Frame-Timestamp")); got >= ts {
			f.img = append(f.img, now.Sub(ts.Time()))
			f.mu.Unlock()
			return
		}
		f.older++
		f.mu.Unlock()
	}
}

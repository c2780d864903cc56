package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// amplifyScenario counts upstream image calls per frame with viewers
// polling each camera's image once a frame interval: camrelay (2
// fetchers, 3 replicas, viewers spread over the replicas) against a naive
// proxy that fetches the latest image from the upstream for every viewer
// request; then camrelay again on EEN API v3, whose upstream calls are
// liveImage's. The simulator's own counters say how many calls it
// answered.
func amplifyScenario(ctx context.Context, e *env) ([]Row, error) {
	ncams, viewers := e.sized(10, 5), e.sized(1000, 200)
	interval, win := time.Second, e.window(10*time.Second, 2*time.Second)
	cam, err := amplifyCamrelay(ctx, e, false, ncams, viewers, interval, win)
	if err != nil {
		return nil, err
	}
	e.log("amplify: camrelay %d calls, %d frames, %d polls answered, %d failed", cam.calls, cam.frames, cam.ok, cam.failed)
	naive, err := amplifyNaive(ctx, ncams, viewers, interval, win)
	if err != nil {
		return nil, err
	}
	e.log("amplify: naive %d calls, %d frames, %d polls answered, %d failed", naive.calls, naive.frames, naive.ok, naive.failed)
	c, n := cam.perFrame(), naive.perFrame()
	fig := fmt.Sprintf("upstream calls per frame, 2 fetchers, 3 replicas, %s viewers", num(float64(viewers)))
	rows := []Row{
		{Figure: fig, Camrelay: fmt.Sprintf("%.2f", c), Peer: fmt.Sprintf("%.2f (naive proxy)", n), Ratio: ratio(c, n),
			Target: "1.00", Met: met(c <= 1.05 && c > 0)},
		{Figure: "viewer polls answered 200, per second", Camrelay: num(cam.okRate(win)), Peer: num(naive.okRate(win)),
			Ratio: ratio(cam.okRate(win), naive.okRate(win))},
	}
	v3, err := amplifyCamrelay(ctx, e, true, ncams, viewers, interval, win)
	if err != nil {
		return rows, err
	}
	e.log("amplify: camrelay on EEN API v3 %d liveImage calls, %d frames, %d polls answered, %d failed", v3.calls, v3.frames, v3.ok, v3.failed)
	c3 := v3.perFrame()
	return append(rows, Row{Figure: "the same on EEN API v3: liveImage calls per frame", Camrelay: fmt.Sprintf("%.2f", c3),
		Peer: fmt.Sprintf("%.2f (naive proxy, v1)", n), Ratio: ratio(c3, n), Target: "1.00", Met: met(c3 <= 1.05 && c3 > 0)}), nil
}

// amplifyCamrelay measures camrelay, on EEN API v1 or v3: 2 fetchers, 3
// replicas, each viewer polling one replica. The upstream calls are the
// simulator's image calls: v1's, or v3's liveImage.
func amplifyCamrelay(ctx context.Context, e *env, v3 bool, ncams, viewers int, interval, win time.Duration) (ampFigures, error) {
	start, calls := e.startStack, simCalls
	if v3 {
		start, calls = e.startStackV3, liveImageCalls
	}
	s, err := start(ctx, "amplify", ncams, interval, 5*time.Second)
	if err != nil {
		return ampFigures{}, err
	}
	defer s.close()
	if _, err := s.AddFetchers(ctx, 2, nil); err != nil {
		return ampFigures{}, err
	}
	if _, err := s.AddWebs(ctx, 3, nil); err != nil {
		return ampFigures{}, err
	}
	if err := testbed.Wait(ctx, 30*time.Second, "every camera led and served", func() bool {
		return s.balanced(ctx) && s.allServed(ctx)
	}); err != nil {
		return ampFigures{}, err
	}
	urls := make([]string, viewers)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://%s/preview/%s.jpg", s.Webs[i%len(s.Webs)].Addr("web"), s.cams[i%ncams])
	}
	stored := func() int64 { _, n := leaders(ctx, s.Fetchers); return n }
	return measureAmplify(ctx, calls(s.Sim), urls, interval, win, stored)
}

// amplifyNaive measures the naive proxy with its own simulator, once
// camrelay has stopped.
func amplifyNaive(ctx context.Context, ncams, viewers int, interval, win time.Duration) (ampFigures, error) {
	cams := cameraList(ncams, 0x30000000)
	sim, err := startSim(ctx, cams, interval)
	if err != nil {
		return ampFigures{}, err
	}
	defer sim.Stop()
	nv, err := startNaive("http://" + sim.Addr("eensim"))
	if err != nil {
		return ampFigures{}, err
	}
	defer nv.close()
	urls := make([]string, viewers)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://%s/preview/%s.jpg", nv.addr, cams[i%ncams])
	}
	return measureAmplify(ctx, simCalls(sim), urls, interval, win, nv.frames.Load)
}

// allServed reports whether every web replica serves every camera's image.
func (s *stack) allServed(ctx context.Context) bool {
	for _, esn := range s.cams {
		if !s.served(ctx, esn) {
			return false
		}
	}
	return true
}

// served reports whether every web replica serves esn's image.
func (s *stack) served(ctx context.Context, esn preview.ESN) bool {
	for _, w := range s.Webs {
		if httpStatus(ctx, fmt.Sprintf("http://%s/preview/%s.jpg", w.Addr("web"), esn)) != http.StatusOK {
			return false
		}
	}
	return true
}

type ampFigures struct{ calls, frames, ok, failed int64 }

func (a ampFigures) perFrame() float64 {
	if a.frames == 0 {
		return 0
	}
	return float64(a.calls) / float64(a.frames)
}

func (a ampFigures) okRate(win time.Duration) float64 { return float64(a.ok) / win.Seconds() }

// measureAmplify runs the viewers (each polls its url once per interval,
// from a random phase), and after a warm-up of one interval counts the
// simulator's image calls and the frames over win.
func measureAmplify(ctx context.Context, calls func(context.Context) (int64, error), urls []string, interval, win time.Duration, frames func() int64) (ampFigures, error) {
	vctx, stop := context.WithCancel(ctx)
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: len(urls), DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, u := range urls {
		wg.Go(func() { poll(vctx, client, u, interval, &ok, &failed) })
	}
	defer func() { stop(); wg.Wait() }()
	select {
	case <-time.After(interval): // warm-up: every viewer has asked once
	case <-ctx.Done():
		return ampFigures{}, ctx.Err()
	}
	c0, err := calls(ctx)
	f0, ok0, failed0 := frames(), ok.Load(), failed.Load()
	if err != nil {
		return ampFigures{}, err
	}
	select {
	case <-time.After(win): // the measured window
	case <-ctx.Done():
		return ampFigures{}, ctx.Err()
	}
	c1, err := calls(ctx)
	return ampFigures{calls: c1 - c0, frames: frames() - f0, ok: ok.Load() - ok0, failed: failed.Load() - failed0}, err
}

// poll GETs u once per interval until ctx ends, counting the answers.
func poll(ctx context.Context, client *http.Client, u string, interval time.Duration, ok, failed *atomic.Int64) {
	select {
	case <-time.After(rand.N(interval)):
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && resp.StatusCode == http.StatusOK:
			ok.Add(1)
		default:
			failed.Add(1)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// naive is the proxy a user might write first: every viewer request is
// one upstream call for the latest image, through one shared session.
type naive struct {
	addr   string
	srv    *http.Server
	frames atomic.Int64 // distinct frames fetched
	mu     sync.Mutex
	seen   map[string]bool
}

func startNaive(upstream string) (*naive, error) {
	client, err := een.New(een.Config{BaseURL: upstream, Username: testbed.SimUser, Password: testbed.SimPassword})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &naive{addr: ln.Addr().String(), seen: make(map[string]bool)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /preview/{file}", func(w http.ResponseWriter, r *http.Request) {
		esn, err := preview.ParseESN(strings.TrimSuffix(r.PathValue("file"), ".jpg"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		img, err := client.Prev(r.Context(), esn, "now")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		n.count(string(esn) + string(img.TS))
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(img.JPEG)
	})
	n.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go n.srv.Serve(ln)
	return n, nil
}

func (n *naive) count(frame string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.seen[frame] {
		n.seen[frame] = true
		n.frames.Add(1)
	}
}

func (n *naive) close() { n.srv.Close() }

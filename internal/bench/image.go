package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

const (
	imageESN  = preview.ESN("1006073b")
	imageSize = 25 << 10 // a typical preview image
)

// target is one server the image loads measure.
type target struct {
	name  string
	addr  string
	path  string // what it is asked; "" for the scenario's path
	rates []float64
	p99s  []float64                     // ns
	cpu   func() (time.Duration, error) // the server's CPU so far; nil: not measured
	cpus  []float64                     // ns per request
}

// imageScenario measures GET /preview/{esn}.jpg of a 25 KB image at 50
// and 500 keep-alive connections: one web replica, a bare net/http
// handler serving the same bytes from memory (the floor of Go's own
// HTTP; see bares), the same with only two headers, nginx serving them as
// a static file, and three replicas behind nginx. They alternate, Runs times each after a warm-up, so a busy machine hurts
// them alike; medians are reported.
func imageScenario(ctx context.Context, e *env) ([]Row, error) {
	s, body, err := e.imageStack(ctx, "image", map[string]string{"SIGNING_KEYS": benchKeys})
	if s != nil {
		defer s.close()
	}
	if err != nil {
		return nil, err
	}
	path := "/preview/" + string(imageESN) + ".jpg"
	signedPath, err := seedSigned(ctx, s, body)
	if err != nil {
		return nil, err
	}
	static, lb, skip, err := startNginxes(ctx, e, body, s)
	if err != nil {
		return nil, err
	}
	if static != nil {
		defer static.stop()
		defer lb.stop()
	}
	bare, err := startBares(ctx, e.dir, s.Webs[0].Addr("web"), path, body)
	if err != nil {
		return nil, err
	}
	defer bare.stop()
	total := e.sized(60000, 1500)
	var rows []Row
	for _, conns := range []int{50, 500} {
		cpu := func(p *proc) func() (time.Duration, error) { return func() (time.Duration, error) { return cpuOf(p) } }
		one := &target{name: "camrelay", addr: s.Webs[0].Addr("web"), cpu: cpu(s.Webs[0])}
		floor := &target{name: "bare net/http", addr: bare.same.Addr("bare"), cpu: cpu(bare.same)}
		plain := &target{name: "bare net/http, Content-Type and Content-Length only", addr: bare.plain.Addr("bare"), cpu: cpu(bare.plain)}
		signed := &target{name: "camrelay, signed still", addr: one.addr, path: signedPath}
		targets := []*target{one, floor, plain, signed}
		peer, three := &target{name: "nginx"}, &target{name: "3 replicas behind nginx"}
		if static != nil {
			peer.addr, three.addr = static.addr, lb.addr
			targets = append(targets, peer, three)
		}
		if err := alternate(ctx, e, targets, path, conns, total); err != nil {
			return rows, err
		}
		rows = append(rows, imageRows(conns, one, peer, three, skip)...)
		rows = append(rows, bareRow(conns, one, floor), cpuRow(fmt.Sprintf("server CPU per request, 1 replica vs bare net/http (same headers and body), %d conns", conns), one, floor), plainRow(conns, one, plain), signedRow(conns, signed, one))
	}
	return rows, nil
}

// bareRow compares one replica with the bare net/http handler sending
// the same bytes: what the framework path (router, middleware, store)
// costs.
func bareRow(conns int, one, bare *target) Row {
	r := median(pairRatios(one.rates, bare.rates))
	return Row{Figure: fmt.Sprintf("req/s, 1 replica vs bare net/http (same headers and body), %d conns", conns),
		Camrelay: num(median(one.rates)) + " req/s", Peer: num(median(bare.rates)) + " req/s",
		Ratio: fmt.Sprintf("%.2f", r), Target: "≥ 0.95 × bare", Met: met(r >= 0.95)}
}

// plainRow compares one replica with the bare handler sending only
// Content-Type and Content-Length, for information: beside bareRow, what
// net/http itself charges for the replica's other headers.
func plainRow(conns int, one, plain *target) Row {
	return Row{Figure: fmt.Sprintf("req/s, 1 replica vs bare net/http (Content-Type and Content-Length only), %d conns", conns),
		Camrelay: num(median(one.rates)) + " req/s", Peer: num(median(plain.rates)) + " req/s",
		Ratio: fmt.Sprintf("%.2f", median(pairRatios(one.rates, plain.rates)))}
}

// imageStack is Redis holding one 25 KB image stored the way a fetcher
// stores it, and 3 replicas serving it with settings extra; the stack
// comes back (to close) even when a replica fails to start.
func (e *env) imageStack(ctx context.Context, name string, extra map[string]string) (*stack, []byte, error) {
	rds, err := startRedis(filepath.Join(e.dir, name+"-redis"))
	if err != nil {
		return nil, nil, err
	}
	s := newStack(rds, nil, 0)
	body := make([]byte, imageSize)
	rand.Read(body)
	copy(body, "\xff\xd8\xff")
	if err := seedFrame(ctx, rds, imageESN, body); err != nil {
		return s, nil, err
	}
	if _, err := s.AddWebs(ctx, 3, testbed.With(extra, "FRAME_TTL", "1h")); err != nil {
		return s, nil, err
	}
	err = testbed.Wait(ctx, 10*time.Second, "image served", func() bool { return s.served(ctx, imageESN) })
	return s, body, err
}

// alternate warms each target up, then loads them in turn, Runs times.
func alternate(ctx context.Context, e *env, targets []*target, path string, conns, total int) error {
	for _, t := range targets { // warm-up: connections, caches, CPU frequency
		if _, err := runLoad(ctx, t.addr, cmp.Or(t.path, path), conns, total/5, imageSize); err != nil {
			return fmt.Errorf("%s, %d connections: %w", t.name, conns, err)
		}
	}
	for range e.Runs {
		for _, t := range targets {
			var cpu0 time.Duration
			if t.cpu != nil {
				cpu0, _ = t.cpu()
			}
			f, err := runLoad(ctx, t.addr, cmp.Or(t.path, path), conns, total, imageSize)
			if err != nil {
				return fmt.Errorf("%s, %d connections: %w", t.name, conns, err)
			}
			if t.cpu != nil {
				if cpu1, err := t.cpu(); err == nil {
					t.cpus = append(t.cpus, float64(cpu1-cpu0)/float64(total))
				}
			}
			t.rates, t.p99s = append(t.rates, f.rate), append(t.p99s, float64(f.p99))
			e.log("%s, %d connections: %.0f req/s, p99 %s", t.name, conns, f.rate, ms(f.p99))
		}
	}
	return nil
}

// startNginxes starts nginx serving body as a static file and nginx
// balancing over the stack's replicas; without nginx, skip says why.
func startNginxes(ctx context.Context, e *env, body []byte, s *stack) (static, lb *nginx, skip string, err error) {
	workers := runtime.NumCPU()
	static, err = startNginx(ctx, filepath.Join(e.dir, "nginx-static"), string(imageESN)+".jpg", body, workers)
	if errors.Is(err, errNoNginx) {
		return nil, nil, "skipped: nginx not found", nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	lb, err = startNginxLB(ctx, filepath.Join(e.dir, "nginx-lb"), s.webAddrs(), workers)
	if err != nil {
		static.stop()
		return nil, nil, "", err
	}
	return static, lb, "", nil
}

// imageRows turns the runs into rows: each figure a median over runs, each
// ratio the median of the runs' own ratios.
func imageRows(conns int, one, peer, three *target, skip string) []Row {
	rate := func(t *target) string { return num(median(t.rates)) + " req/s" }
	p99 := func(t *target) string { return ms(time.Duration(median(t.p99s))) }
	ratio := func(a, b []float64) (string, float64) {
		r := median(pairRatios(a, b))
		return fmt.Sprintf("%.2f", r), r
	}
	rows := []Row{
		{Figure: fmt.Sprintf("req/s, 1 replica, %d conns (%s)", conns, ofRuns(len(one.rates))), Camrelay: rate(one), Target: "≥ 0.90 × nginx"},
		{Figure: fmt.Sprintf("p99 latency, 1 replica, %d conns", conns), Camrelay: p99(one)},
	}
	if skip != "" {
		rows[0].Peer, rows[1].Peer = skip, skip
		return rows
	}
	var r float64
	rows[0].Peer, rows[1].Peer = rate(peer), p99(peer)
	rows[0].Ratio, r = ratio(one.rates, peer.rates)
	rows[0].Met = met(r >= 0.9)
	rows[1].Ratio, _ = ratio(one.p99s, peer.p99s)
	rows = append(rows,
		Row{Figure: fmt.Sprintf("req/s, 3 replicas behind nginx, %d conns", conns), Camrelay: rate(three), Peer: rate(peer)},
		Row{Figure: fmt.Sprintf("p99 latency, 3 replicas behind nginx, %d conns", conns), Camrelay: p99(three), Peer: p99(peer)})
	rows[2].Ratio, _ = ratio(three.rates, peer.rates)
	rows[3].Ratio, _ = ratio(three.p99s, peer.p99s)
	return rows
}

// publisher stores frames of one camera the way a fetcher does: it made
// the camera public and holds its lock.
type publisher struct {
	w   *testbed.FrameWriter
	esn preview.ESN
}

func newPublisher(ctx context.Context, rds *redisServer, esn preview.ESN) (*publisher, error) {
	store := redisstore.New(rds.client, preview.DefaultKeyPrefix)
	if err := store.PublishCameras(ctx, []preview.Camera{{ESN: esn, Name: "bench"}}, time.Now()); err != nil {
		return nil, err
	}
	w := testbed.NewFrameWriter(store, time.Hour, time.Hour)
	w.Clock = time.Now().Add(-time.Hour)
	return &publisher{w: w, esn: esn}, nil
}

// save stores body as the camera's next frame, with an hour to live.
func (p *publisher) save(ctx context.Context, body []byte) error {
	_, err := p.w.Save(ctx, p.esn, body)
	return err
}

// seedFrame makes esn public and stores body as its frame.
func seedFrame(ctx context.Context, rds *redisServer, esn preview.ESN, body []byte) error {
	p, err := newPublisher(ctx, rds, esn)
	if err != nil {
		return err
	}
	return p.save(ctx, body)
}

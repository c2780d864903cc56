package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/image/draw"

	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/httpserver"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/thumb"
)

// thumbsScenario measures thumbnails on the simulator's frames (640×360,
// one a second): the time of one resize per width with the chosen
// resampler beside CatmullRom (one goroutine, so about one core's CPU);
// what a 16-camera grid viewer downloads a second at w=320 beside full
// size; and req/s of a cached ?w=320 beside the full-size still from one
// replica, loaded in turn in the same run.
func thumbsScenario(ctx context.Context, e *env) ([]Row, error) {
	r, err := framegen.New(640, 360)
	if err != nil {
		return nil, err
	}
	frames := make([][]byte, 16)
	t0 := time.Now()
	for i := range frames {
		frames[i] = r.Frame(string(imageESN), "Front door", t0.Add(time.Duration(i)*time.Second))
	}
	var rows []Row
	n := e.sized(200, 20)
	for _, w := range httpserver.DefaultWidths[:2] { // 640 is the frame itself
		ours, err := resizeTime(thumb.Scaler, frames, w, n)
		if err != nil {
			return rows, err
		}
		cr, err := resizeTime(draw.CatmullRom, frames, w, n)
		if err != nil {
			return rows, err
		}
		e.log("thumbs: w=%d: %s ApproxBiLinear, %s CatmullRom per resize", w, ours, cr)
		rows = append(rows, Row{Figure: fmt.Sprintf("µs per resize 640→%d (ApproxBiLinear; peer CatmullRom)", w),
			Camrelay: fmt.Sprint(ours.Microseconds()), Peer: fmt.Sprint(cr.Microseconds()), Ratio: ratio(float64(ours), float64(cr))})
	}
	small, err := thumb.Resize(frames[0], 320)
	if err != nil {
		return rows, err
	}
	const grid, fps = 16, 1
	rows = append(rows, Row{Figure: "bytes/s to one viewer of a 16-camera grid, w=320 (peer: full size)",
		Camrelay: num(float64(grid * fps * len(small.JPEG))), Peer: num(float64(grid * fps * len(frames[0]))),
		Ratio: ratio(float64(len(small.JPEG)), float64(len(frames[0])))})
	more, err := thumbRates(ctx, e, frames[0], len(small.JPEG))
	return append(rows, more...), err
}

// resizeTime is the mean time of n resizes of the frames to width w.
func resizeTime(sc draw.Scaler, frames [][]byte, w, n int) (time.Duration, error) {
	start := time.Now()
	for i := range n {
		if _, err := thumb.ResizeWith(sc, frames[i%len(frames)], w); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(n), nil
}

// thumbRates loads one replica with ?w=320 and the full-size still of the
// same frame in turn, Runs times, 50 connections.
func thumbRates(ctx context.Context, e *env, frame []byte, thumbSize int) ([]Row, error) {
	rds, err := startRedis(filepath.Join(e.dir, "thumbs-redis"))
	if err != nil {
		return nil, err
	}
	s := newStack(rds, nil, 0)
	defer s.close()
	if err := seedFrame(ctx, rds, imageESN, frame); err != nil {
		return nil, err
	}
	web, err := s.AddWeb(ctx, map[string]string{"FRAME_TTL": "1h"})
	if err != nil {
		return nil, err
	}
	if err := testbed.Wait(ctx, 10*time.Second, "image served", func() bool { return s.served(ctx, imageESN) }); err != nil {
		return nil, err
	}
	path, total, conns := "/preview/"+string(imageESN)+".jpg", e.sized(30000, 1500), 50
	var full, small []float64
	for run := range e.Runs + 1 { // the first is a warm-up
		f, err := runLoad(ctx, web.Addr("web"), path, conns, total, len(frame))
		if err != nil {
			return nil, fmt.Errorf("full size: %w", err)
		}
		t, err := runLoad(ctx, web.Addr("web"), path+"?w=320", conns, total, thumbSize)
		if err != nil {
			return nil, fmt.Errorf("w=320: %w", err)
		}
		e.log("thumbs: run %d: %.0f req/s w=320, %.0f req/s full size", run, t.rate, f.rate)
		if run > 0 {
			full, small = append(full, f.rate), append(small, t.rate)
		}
	}
	return []Row{{Figure: fmt.Sprintf("req/s of ?w=320, 1 replica, %d conns (%s; peer: full size)", conns, ofRuns(len(small))),
		Camrelay: num(median(small)) + " req/s", Peer: num(median(full)) + " req/s", Ratio: ratio(median(small), median(full))}}, nil
}

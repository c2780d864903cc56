package eensim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// BenchmarkSimulatorFrames measures what one frame costs the simulator:
// 1,000 cameras, each asked in turn for a frame it has not served yet
// (half by asset, half by prev), through the whole handler (routing,
// session check, counters, rendering) without a network. At 1 frame/s per
// camera, one core serves 1,000 cameras when frames/s/core is over 1,000.
func BenchmarkSimulatorFrames(b *testing.B) {
	const cameras = 1000
	s, key, newest := benchSim(b, cameras)
	h := s.Handler()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			serveFrame(b, h, key, newest, i)
			i++
		}
		report(b, 1)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		next.Store(1 << 30) // rounds far from the serial run's: no frame is cached
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				serveFrame(b, h, key, newest, int(next.Add(1)))
			}
		})
		report(b, runtime.GOMAXPROCS(0))
	})
}

// benchSim builds a simulator of n cameras at 1 frame/s on a still clock,
// logs in, and prepares every camera's renderer outside the timing.
func benchSim(b *testing.B, n int) (*Server, string, []time.Time) {
	b.Helper()
	clk := &fakeClock{t: t0}
	cfg := testConfig()
	cfg.Now, cfg.Cameras, cfg.Denied = clk.Now, nil, nil
	for i := range n {
		cfg.Cameras = append(cfg.Cameras, Camera{ESN: benchESN(i), Name: fmt.Sprintf("Camera %d", i), Interval: time.Second})
	}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	key := login(b, s.Handler())
	newest := make([]time.Time, n)
	for i := range n {
		rec := get(s.Handler(), key, imageURL("prev", benchESN(i), "now"))
		wantCode(b, rec, http.StatusOK)
		newest[i] = frameTS(b, rec, "x-ee-timestamp")
	}
	return s, key, newest
}

func benchESN(i int) preview.ESN { return preview.ESN(fmt.Sprintf("%08x", 0x20000000+i)) }

// serveFrame serves request i: camera i mod n, at a frame time that goes
// one frame further back on each round, within the hour of history.
func serveFrame(b *testing.B, h http.Handler, key string, newest []time.Time, i int) {
	n := len(newest)
	cam := i % n
	at := newest[cam].Add(-time.Duration(i/n%3000) * time.Second)
	target := imageURL("asset", benchESN(cam), stamp(at))
	if cam%2 == 1 {
		target = imageURL("prev", benchESN(cam), stamp(at.Add(time.Millisecond)))
	}
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.AddCookie(&http.Cookie{Name: "auth_key", Value: key})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("x-ee-timestamp") != "preview-"+stamp(at) {
		b.Errorf("%s: %d %s", target, rec.Code, rec.Header().Get("x-ee-timestamp"))
	}
}

// report adds ns/frame and frames/s per core for a run on cores cores.
func report(b *testing.B, cores int) {
	if b.N == 0 || b.Elapsed() == 0 {
		return
	}
	perFrame := float64(b.Elapsed().Nanoseconds()) * float64(cores) / float64(b.N)
	b.ReportMetric(perFrame, "ns/frame")
	b.ReportMetric(1e9/perFrame, "frames/s/core")
}

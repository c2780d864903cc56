package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redistest"
)

// BenchmarkFetcherScale measures how many cameras one fetcher follows at
// 1 frame/s per core, and its memory per camera. The simulator and Redis
// run as other processes, so only the fetcher's own CPU is counted.
// BENCH_CAMERAS (default 2000) and BENCH_SECONDS (default 20) size it.
func BenchmarkFetcherScale(b *testing.B) {
	n := envInt("BENCH_CAMERAS", 2000)
	secs := envInt("BENCH_SECONDS", 20)
	rds := redistest.Start(b)
	var list []string
	for i := range n {
		list = append(list, fmt.Sprintf("%08x", 0x20000000+i))
	}
	cameras := strings.Join(list, ",")
	simAddr := startSimProc(b, cameras)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.RunFetcher(ctx, app.Env{
			Getenv: func(k string) string {
				return map[string]string{
					"REDIS_URL": rds.URL(), "ADMIN_ADDR": "127.0.0.1:0", "CAMERAS": cameras, "LOG_LEVEL": "error",
					"EEN_BASE_URL": "http://" + simAddr, "EEN_USERNAME": "bench@example.com", "EEN_PASSWORD": "bench",
				}[k]
			},
			Stdout: os.Stderr, Stderr: os.Stderr,
			Listening: func(_ string, a net.Addr) { admin <- a.String() },
		})
	}()
	addr := <-admin
	stored := func() int64 {
		resp, err := http.Get("http://" + addr + "/status")
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		var st map[preview.ESN]fetcher.CameraState
		json.NewDecoder(resp.Body).Decode(&st)
		var sum int64
		for _, s := range st {
			sum += s.Stored
		}
		return sum
	}
	// Warm up: every camera led and storing.
	deadline := time.Now().Add(60 * time.Second)
	for stored() < int64(2*n) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // polling a condition with a deadline
	}
	b.ResetTimer()
	cpu0, wall0, frames0 := cpuTime(), time.Now(), stored()
	time.Sleep(time.Duration(secs) * time.Second) // the measured window
	cpu1, wall1, frames1 := cpuTime(), time.Now(), stored()
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	cores := (cpu1 - cpu0).Seconds() / wall1.Sub(wall0).Seconds()
	rate := float64(frames1-frames0) / wall1.Sub(wall0).Seconds()
	b.ReportMetric(float64(n), "cameras")
	b.ReportMetric(rate, "frames/s")
	b.ReportMetric(cores, "cores")
	b.ReportMetric(rate/cores, "cameras@1fps/core")
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(n), "heap-B/camera")
	cancel()
	<-done
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startSimProc runs the simulator binary with the cameras at 1 frame/s.
func startSimProc(b *testing.B, cameras string) string {
	port := freeAddr(b)
	cmd := exec.Command(binary(b, "eensim"), "-addr", port, "-interval", "1s")
	cmd.Env = []string{"CAMERAS=" + cameras, "EEN_USERNAME=bench@example.com", "EEN_PASSWORD=bench"}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get("http://" + port + "/_sim/stats"); err == nil {
			resp.Body.Close()
			return port
		}
		if time.Now().After(deadline) {
			b.Fatal("simulator did not start")
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

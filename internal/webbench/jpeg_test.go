package webbench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/httpserver"
)

const (
	imageSize = 25 << 10 // a typical preview image
	loadConns = 50
)

// BenchmarkPreviewJPEG measures GET /preview/{esn}.jpg of a 25 KB image
// over 50 keep-alive connections, then nginx serving the same bytes as a
// static file to the same generator, and prints the ratio (target ≥ 0.9).
// One op is one request; -benchtime sets how many. It alternates the two
// CAMRELAY_BENCH_ROUNDS times (default 3) and prints each round's ratio
// and the median, so a busy machine hurts both alike.
func BenchmarkPreviewJPEG(b *testing.B) {
	body := jpegOf(imageSize)
	r := startReplica(b, httpserver.Config{FrameTTL: time.Hour})
	r.save(b, body)
	path := "/preview/" + string(benchESN) + ".jpg"
	waitFor(b, "image served", func() bool { return get(r.addr, path) == http.StatusOK })
	n, err := StartNginx(b.TempDir(), string(benchESN)+".jpg", body, runtime.GOMAXPROCS(0))
	if errors.Is(err, ErrNoNginx) {
		fmt.Printf("\n%s\n", err)
	} else if err != nil {
		b.Fatal(err)
	} else {
		defer n.Stop()
	}
	var ratios []float64
	for range benchRounds() {
		var camrelay, nginx float64
		b.Run("camrelay", func(b *testing.B) { camrelay = loadBench(b, r.addr, path) })
		if n == nil {
			continue
		}
		b.Run("nginx", func(b *testing.B) { nginx = loadBench(b, n.Addr, path) })
		ratios = append(ratios, camrelay/nginx)
		fmt.Printf("/preview/{esn}.jpg, %d KB, %d keep-alive connections: camrelay %.0f req/s, nginx %.0f req/s, ratio %.2f\n",
			imageSize>>10, loadConns, camrelay, nginx, camrelay/nginx)
	}
	if len(ratios) > 0 {
		slices.Sort(ratios)
		fmt.Printf("median ratio camrelay/nginx over %d rounds: %.2f (target ≥ 0.90)\n", len(ratios), ratios[len(ratios)/2])
	}
}

func benchRounds() int {
	if n, err := strconv.Atoi(os.Getenv("CAMRELAY_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// loadBench runs b.N requests and reports the rate. The generator runs in
// a child process (this test binary again), so the replica has this
// process's scheduler to itself, as nginx has its own processes.
func loadBench(b *testing.B, addr, path string) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("CAMRELAY_LOAD=%s %s %d %d %d", addr, path, loadConns, b.N, imageSize))
	cmd.Stderr = os.Stderr
	b.SetBytes(imageSize)
	b.ResetTimer()
	out, err := cmd.Output()
	b.StopTimer()
	if err != nil {
		b.Fatalf("load generator: %v", err)
	}
	var n, ns int64
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(line, "load: "); ok {
			fmt.Sscan(v, &n, &ns)
		}
	}
	if n != int64(b.N) || ns <= 0 {
		b.Fatalf("load generator said %q", out)
	}
	rate := LoadResult{Requests: n, Elapsed: time.Duration(ns)}.PerSecond()
	b.ReportMetric(rate, "req/s")
	return rate
}

// TestLoadProcess is the benchmark's load generator: it runs only when
// the benchmark starts it, with CAMRELAY_LOAD="addr path conns total size".
func TestLoadProcess(t *testing.T) {
	var addr, path string
	var conns, size int
	var total int64
	if _, err := fmt.Sscan(os.Getenv("CAMRELAY_LOAD"), &addr, &path, &conns, &total, &size); err != nil {
		t.Skip("the JPEG benchmark's load generator process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Load(ctx, addr, path, conns, total, size)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("load: %d %d\n", res.Requests, res.Elapsed.Nanoseconds())
}

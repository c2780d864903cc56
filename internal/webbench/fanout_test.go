package webbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/httpserver"
)

// fanoutClients is how many SSE clients the fan-out benchmark runs;
// CAMRELAY_BENCH_CLIENTS changes it.
func fanoutClients() int {
	if n, err := strconv.Atoi(os.Getenv("CAMRELAY_BENCH_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// BenchmarkSSEFanout measures, with 10,000 SSE clients of one camera on
// one replica, the delay from storing a frame in Redis to each client
// reading its event (p50, p99) and to the last client (p50, p99, max),
// and the replica's memory per SSE client. One op is one frame delivered
// to every client. The clients run in a child process (this test binary
// again), so each process needs one descriptor per client, not two, and
// the replica's memory is measured without them.
func BenchmarkSSEFanout(b *testing.B) {
	n := fanoutClients()
	if err := RaiseFileLimit(uint64(n + 512)); err != nil {
		b.Skip(err)
	}
	r := startReplica(b, httpserver.Config{FrameTTL: time.Hour, MaxStreams: n, MaxStreamsPerClient: n, Heartbeat: time.Hour})
	r.save(b, jpegOf(1000))
	waitFor(b, "frame known", func() bool { return get(r.addr, "/preview/"+string(benchESN)+".jpg") == 200 })
	before := memory()

	child := startSwarm(b, r.addr, n, b.N)
	if err := child.expect("ready"); err != nil {
		b.Fatal(err)
	}
	after := memory()
	pub := make([]int64, b.N+1)
	b.ResetTimer()
	for k := 1; k <= b.N; k++ {
		pub[k] = time.Now().UnixNano()
		fmt.Fprintf(child.in, "pub %d %d\n", k, pub[k])
		r.save(b, jpegOf(1000))
		if err := child.expect("got " + strconv.Itoa(k)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	fmt.Fprintln(child.in, "end")
	res, err := child.result()
	if err != nil {
		b.Fatal(err)
	}
	perHeap := float64(after.heap-before.heap) / float64(n)
	perRSS := float64(after.rss-before.rss) / float64(n)
	b.ReportMetric(res[1]/1e6, "p99-ms")
	b.ReportMetric(res[4]/1e6, "last-p99-ms")
	b.ReportMetric(perRSS/1024, "KB-RSS/client")
	fmt.Printf("\nSSE fan-out, %d clients, %d frames: publish→client p50 %.1f ms, p99 %.1f ms; publish→last client p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 ≤ 100 ms)\n",
		n, b.N, res[0]/1e6, res[1]/1e6, res[3]/1e6, res[4]/1e6, res[5]/1e6)
	fmt.Printf("memory per SSE client: %.1f KB of Go heap and stacks, %.1f KB of RSS (target ≤ 16 KB)\n", perHeap/1024, perRSS/1024)
}

type mem struct{ heap, rss uint64 }

// memory is the process's Go heap and stacks in use, and its RSS, after
// a collection that hands freed memory back to the system (a second run
// in one process would otherwise start with the first run's pages).
func memory() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := RSS()
	return mem{heap: ms.HeapInuse + ms.StackInuse, rss: rss}
}

// swarmProc is the child process running the clients.
type swarmProc struct {
	in  io.Writer
	out *bufio.Scanner
}

func startSwarm(b *testing.B, addr string, n, frames int) *swarmProc {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSwarmProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "CAMRELAY_SWARM="+addr+" "+strconv.Itoa(n)+" "+strconv.Itoa(frames))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	return &swarmProc{in: in, out: bufio.NewScanner(out)}
}

// expect reads the child's lines until want; an error line fails.
func (p *swarmProc) expect(want string) error {
	for p.out.Scan() {
		line, ok := strings.CutPrefix(p.out.Text(), "swarm: ")
		switch {
		case !ok:
		case line == want:
			return nil
		case strings.HasPrefix(line, "error"):
			return fmt.Errorf("clients: %s", line)
		}
	}
	return fmt.Errorf("clients ended before %q: %v", want, p.out.Err())
}

// result reads the child's six figures, in ns.
func (p *swarmProc) result() ([]float64, error) {
	for p.out.Scan() {
		if line, ok := strings.CutPrefix(p.out.Text(), "swarm: result "); ok {
			var v [6]float64
			_, err := fmt.Sscan(line, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5])
			return v[:], err
		}
	}
	return nil, fmt.Errorf("no result from the clients: %v", p.out.Err())
}

// TestSwarmProcess is the benchmark's child: it runs only when the
// benchmark starts it, with CAMRELAY_SWARM="addr clients frames".
func TestSwarmProcess(t *testing.T) {
	var addr string
	var n, frames int
	if _, err := fmt.Sscan(os.Getenv("CAMRELAY_SWARM"), &addr, &n, &frames); err != nil {
		t.Skip("the SSE fan-out benchmark's client process")
	}
	say := func(format string, a ...any) { fmt.Printf("swarm: "+format+"\n", a...) }
	if err := runSwarm(addr, n, frames, os.Stdin, say); err != nil {
		say("error %v", err)
	}
}

// runSwarm connects n clients, says "ready" once all have the current
// frame, then for each "pub k ns" line says "got k" once all have frame k,
// and at "end" says the result.
func runSwarm(addr string, n, frames int, in io.Reader, say func(string, ...any)) error {
	if err := RaiseFileLimit(uint64(n + 256)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := NewSwarm(n, frames)
	defer s.Close()
	if err := s.Connect(ctx, addr, "/preview/"+string(benchESN)+"/events"); err != nil {
		return err
	}
	if err := s.Wait(0, 2*time.Minute); err != nil {
		return err
	}
	say("ready")
	pub := make([]int64, frames+1)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var k int
		var ns int64
		if sc.Text() == "end" {
			all, last := s.Latencies(pub)
			say("result %d %d %d %d %d %d", Percentile(all, 50), Percentile(all, 99), Percentile(all, 100),
				Percentile(last, 50), Percentile(last, 99), Percentile(last, 100))
			return nil
		}
		if _, err := fmt.Sscanf(sc.Text(), "pub %d %d", &k, &ns); err != nil || k < 1 || k > frames {
			return fmt.Errorf("bad line %q", sc.Text())
		}
		pub[k] = ns
		if err := s.Wait(k, 30*time.Second); err != nil {
			return err
		}
		say("got %d", k)
	}
	return sc.Err()
}

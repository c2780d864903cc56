package webbench

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/camrelay/camrelay/internal/httpserver"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/redistest"
)

const benchESN = preview.ESN("1006073b")

func init() { gin.SetMode(gin.ReleaseMode) }

// replica is a web replica over a real Redis, with a fetcher's lock so the
// benchmark can store frames the way the fetcher does.
type replica struct {
	srv   *httpserver.Server
	store *redisstore.Store
	fence string
	addr  string
	ts    time.Time // the last stored frame's time
}

// startReplica runs a replica on a loopback port until b ends.
func startReplica(b testing.TB, cfg httpserver.Config) *replica {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rs := redistest.Start(b)
	store := redisstore.New(rs.Client(), redistest.Prefix(b))
	if err := store.PublishCameras(ctx, []preview.Camera{{ESN: benchESN, Name: "bench"}}, time.Now()); err != nil {
		b.Fatal(err)
	}
	lease, err := store.Locker().Obtain(ctx, benchESN, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	srv := httpserver.New(cfg, store)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := httpserver.NewHTTPServer(ln.Addr().String(), srv.Handler())
	hs.RegisterOnShutdown(srv.Close)
	done := make(chan struct{}, 2)
	go func() { srv.Run(ctx); done <- struct{}{} }()
	go func() { hs.Serve(ln); done <- struct{}{} }()
	b.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		hs.Shutdown(sctx)
		cancel()
		<-done
		<-done
	})
	r := &replica{srv: srv, store: store, fence: lease.Fence(), addr: ln.Addr().String(), ts: time.Now().Add(-time.Hour)}
	waitFor(b, "replica ready", func() bool { return get(r.addr, "/readyz") == http.StatusOK })
	return r
}

// save stores a new frame of body, as a fetcher does, and returns its time.
func (r *replica) save(b testing.TB, body []byte) preview.Timestamp {
	b.Helper()
	r.ts = r.ts.Add(time.Millisecond)
	f := preview.NewFrame(benchESN, preview.FormatTimestamp(r.ts), body, time.Now())
	if err := r.store.SaveFrame(context.Background(), r.fence, f, time.Hour); err != nil {
		b.Fatal(err)
	}
	return f.TS
}

// jpegOf returns n bytes that start like a JPEG.
func jpegOf(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	copy(b, "\xff\xd8\xff")
	return b
}

func get(addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(b testing.TB, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

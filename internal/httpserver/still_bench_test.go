package httpserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkStill is the still-image hot path as a viewer's request costs
// it: the frame's own URL forms, and a cached thumbnail.
func BenchmarkStill(b *testing.B) {
	store := newFakeStore(preview.Camera{ESN: camA})
	srv := New(Config{ColdWait: -1}, store)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	f := store.put(camA, "20261124040506.250", "one")
	testbed.WaitFor(b, 5*time.Second, "frame known", func() bool { m, ok := srv.hub.Current(camA, time.Now()); return ok && m.TS == f.TS })
	h := srv.Handler()
	for _, target := range []string{"/preview/1006073b.jpg", "/preview/1006073b.jpg?ts=20261124040506.250"} {
		b.Run(target, func(b *testing.B) {
			req := httptest.NewRequest("GET", target, nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}

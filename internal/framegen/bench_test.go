package framegen

import (
	"fmt"
	"testing"
	"time"
)

// step advances frame times by an odd interval so that every digit of the
// clock keeps changing.
const step = 1037 * time.Millisecond

// BenchmarkFrame is the steady state: one prepared camera, varying time.
func BenchmarkFrame(b *testing.B) {
	r := newRenderer(b)
	size := len(r.Frame("1006073b", "Front door", t0))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Frame("1006073b", "Front door", t0.Add(time.Duration(i)*step))
	}
	b.ReportMetric(float64(size), "bytes/frame")
	b.ReportMetric(float64(r.cams["1006073b"].size()), "prepared-B/camera")
}

// BenchmarkFrame1000Cameras cycles through 1000 prepared cameras, as the
// simulator does, so prepared state does not stay in the CPU caches.
func BenchmarkFrame1000Cameras(b *testing.B) {
	r := newRenderer(b)
	esns, names := make([]string, 1000), make([]string, 1000)
	size := 0
	for i := range esns {
		esns[i] = fmt.Sprintf("%08x", 0x10000000+i*7919)
		names[i] = "camera " + esns[i]
		size += len(r.Frame(esns[i], names[i], t0))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j := i % len(esns)
		r.Frame(esns[j], names[j], t0.Add(time.Duration(i)*step))
	}
	mem := 0
	for _, c := range r.cams {
		mem += c.size()
	}
	b.ReportMetric(float64(size)/float64(len(esns)), "bytes/frame")
	b.ReportMetric(float64(mem)/float64(len(esns)), "prepared-B/camera")
}

// BenchmarkFirstFrame is the cost of a camera's first frame, preparation
// included.
func BenchmarkFirstFrame(b *testing.B) {
	r := newRenderer(b)
	esns := make([]string, 1000)
	for i := range esns {
		esns[i] = fmt.Sprintf("%08x", i)
	}
	b.ReportAllocs()
	size := 0
	for i := 0; b.Loop(); i++ {
		if i%len(esns) == 0 {
			r = newRenderer(b) // start cold again without unbounded growth
		}
		size = len(r.Frame(esns[i%len(esns)], "Front door", t0))
	}
	b.ReportMetric(float64(size), "bytes/frame")
	b.ReportMetric(float64(r.cams[esns[0]].size()), "prepared-B/camera")
}

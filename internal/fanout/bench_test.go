package fanout

import (
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// BenchmarkPublish is one new frame fanned out to 1,000 subscribers of
// one camera, each of which takes it: the cost is one encoding whatever
// the number of subscribers, plus a channel send each.
func BenchmarkPublish(b *testing.B) {
	h := New(time.Hour, nil)
	subs := make([]*Subscription, 1000)
	for i := range subs {
		subs[i] = h.Subscribe([]preview.ESN{camA}, nop)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Publish(frameAt(camA, i+1, t0))
		for _, s := range subs {
			<-s.Events()
		}
	}
}

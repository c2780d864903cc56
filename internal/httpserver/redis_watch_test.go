package httpserver

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
)

var _ Marker = (*redisstore.Store)(nil)

// scriptCalls counts the scripts Redis ran (MarkWatched is one EVALSHA).
func (r *redisReplica) scriptCalls() int {
	r.t.Helper()
	info, err := r.redis.Client().Info(context.Background(), "commandstats").Result()
	if err != nil {
		r.t.Fatal(err)
	}
	n := 0
	for _, m := range regexp.MustCompile(`cmdstat_(?:evalsha|eval):calls=(\d+)`).FindAllStringSubmatch(info, -1) {
		c, _ := strconv.Atoi(m[1])
		n += c
	}
	return n
}

// TestRedisViewersMarkOnce, on a real Redis: a cold still request wakes
// the camera (one wake notice) and gets its first frame; then viewers
// by the dozen cost about one mark per interval, not one per request; the
// key ends WatchTTL after the last viewer left.
func TestRedisViewersMarkOnce(t *testing.T) {
	const ttl = 1500 * time.Millisecond // marks every 500 ms
	r := newRedisOnly(t, 0, preview.Camera{ESN: camA, Watched: true})
	r.publishCameras()
	r.start(Config{Marker: r.store, WatchTTL: ttl, ColdWait: 5 * time.Second, Heartbeat: 50 * time.Millisecond}, nil)
	waitReadiness(t, r.srv, true, "replica ready")
	woken := wakeNotices(t, r)
	rdb, key := r.redis.Client(), r.keys.Watch(camA)

	ch := request(context.Background(), http.MethodGet, r.url("/preview/"+string(camA)+".jpg"))
	r.srv.TestSignals.ColdWaiting.WaitOrTimeout(t)
	if esn := recvWake(t, woken); esn != camA {
		t.Fatalf("woke %s, want %s", esn, camA)
	}
	f := r.save(camA, jpeg(100, "first")) // what the woken fetcher does
	if a := await(t, ch, "the cold request"); a.code != 200 || a.body != string(f.JPEG) {
		t.Fatalf("cold request: %d, want 200 with the first frame", a.code)
	}
	if d := rdb.PTTL(context.Background(), key).Val(); d <= 0 || d > ttl {
		t.Errorf("watch key lives %s, want up to WATCH_TTL (%s)", d, ttl)
	}

	before, start := r.scriptCalls(), time.Now()
	var streams []*sseConn
	for range 20 {
		c, err := dialSSE(r.ts.Listener.Addr().String(), "/preview/"+string(camA)+"/events")
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, c)
	}
	var wg sync.WaitGroup
	requests := 0
	var mu sync.Mutex
	for range 10 { // each polls a still every 20 ms for 2 s
		wg.Go(func() {
			for end := start.Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if resp, err := http.Get(r.url("/preview/" + string(camA) + ".jpg")); err == nil {
					resp.Body.Close()
					mu.Lock()
					requests++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	span, marks := time.Since(start), r.scriptCalls()-before
	every := r.srv.interest.every
	t.Logf("20 streams and %d still requests in %s: %d marks (%.1f a second; one each %s)", requests, span.Round(time.Millisecond), marks, float64(marks)/span.Seconds(), every)
	if most := int(span/(every-every/8)) + 2; marks > most {
		t.Errorf("%d marks in %s, want at most %d", marks, span, most)
	}
	select {
	case m := <-woken:
		t.Errorf("viewers of a watched camera woke it again: %s", m.Payload)
	default:
	}

	for _, c := range streams {
		c.Close()
	}
	left := time.Now()
	testbed.WaitFor(t, ttl+5*time.Second, "the watch key gone", func() bool { return rdb.Exists(context.Background(), key).Val() == 0 })
	if after := time.Since(left); after < ttl-100*time.Millisecond {
		t.Errorf("the key ended %s after the last viewer, want WATCH_TTL (%s)", after, ttl)
	}
}

// wakeNotices subscribes to the wake channel, as fetchers do, and returns
// once the subscription is in place.
func wakeNotices(t *testing.T, r *redisReplica) <-chan *redis.Message {
	t.Helper()
	ps := r.redis.Client().Subscribe(context.Background(), r.keys.WakeChannel())
	t.Cleanup(func() { ps.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatalf("subscribing to wake notices: %v", err)
	}
	return ps.Channel()
}

func recvWake(t *testing.T, ch <-chan *redis.Message) preview.ESN {
	t.Helper()
	select {
	case m := <-ch:
		return preview.ESN(m.Payload)
	case <-time.After(5 * time.Second):
		t.Fatal("no wake notice within 5 s")
		return ""
	}
}

package httpserver

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

const (
	redisLost = "web: Redis unreachable"
	redisBack = "web: Redis reachable again"
)

// wantAnswer checks a response's status and that its reason contains want;
// a 503 must also say when to retry.
func wantAnswer(t *testing.T, url string, status int, want string) {
	t.Helper()
	resp, body := get(t, url)
	if resp.StatusCode != status || !strings.Contains(body, want) ||
		(status == 503 && resp.Header.Get("Retry-After") == "") {
		t.Errorf("%s: %d %q Retry-After=%q; want %d with %q", url, resp.StatusCode, strings.TrimSpace(body),
			resp.Header.Get("Retry-After"), status, want)
	}
}

// wantNotReady checks /readyz answers 503 and why.
func wantNotReady(t *testing.T, url, why string) {
	t.Helper()
	if resp, body := get(t, url); resp.StatusCode != 503 || !strings.Contains(body, "not ready: "+why) {
		t.Errorf("/readyz: %d %q, want 503 saying %q", resp.StatusCode, strings.TrimSpace(body), why)
	}
}

// wantOneOutage checks the log says once that Redis was lost and once
// that it came back, with how long it was gone (at most within).
func wantOneOutage(t *testing.T, logs *recordedLogs, within time.Duration) {
	t.Helper()
	lost, back := logs.find(redisLost), logs.find(redisBack)
	if len(lost) != 1 || lost[0].Level != slog.LevelWarn {
		t.Errorf("%d %q lines (%v), want one WARN", len(lost), redisLost, lost)
	}
	if len(back) != 1 || back[0].Level != slog.LevelInfo {
		t.Fatalf("%d %q lines (%v), want one INFO", len(back), redisBack, back)
	}
	var downFor time.Duration
	back[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "down_for" {
			downFor = a.Value.Duration()
		}
		return true
	})
	if downFor <= 0 || downFor > within+50*time.Millisecond { // rounded to 0.1 s
		t.Errorf("down_for=%v, want the outage's length (0 < down_for <= %v)", downFor, within)
	}
}

// waitFailedChecks waits until n more Redis checks of the replica have
// failed, so a test sees what it says over an outage, not at its first
// moment. A failed check takes ~2 s (go-redis retries): one wait each.
func (r *redisReplica) waitFailedChecks(n int64) {
	r.t.Helper()
	from := r.reads.failedChecks.Load()
	for i := range n {
		testbed.WaitFor(r.t, 5*time.Second, fmt.Sprintf("failed Redis check %d", i+1), func() bool { return r.reads.failedChecks.Load() > from+i })
	}
}

// endOutage restarts Redis empty, publishes the cameras as a fetcher
// would, and checks that the replica is ready with them, logged the outage
// begun at down once, and answers about the frame again: camA public
// without a frame, 10060a2c not public.
func (r *redisReplica) endOutage(logs *recordedLogs, down time.Time) {
	r.t.Helper()
	if err := r.redis.Restart(); err != nil {
		r.t.Fatal(err)
	}
	r.publishCameras()
	r.srv.TestSignals.RedisBack.WaitOrTimeout(r.t) // logged before it is signalled
	// A check between the restart and the publication reads an empty
	// allow-list; the later check that reads camA signals nothing.
	testbed.WaitFor(r.t, 5*time.Second, "ready, camera public", func() bool {
		m := r.srv.cameras.Load()
		return m != nil && (*m)[camA].ESN == camA && r.srv.ready(time.Now())
	})
	wantOneOutage(r.t, logs, time.Since(down))
	wantAnswer(r.t, r.url("/preview/1006073b.jpg"), 503, "no fresh image")
	wantAnswer(r.t, r.url("/preview/10060a2c.jpg"), 404, "camera is not public")
}

// Redis lost while serving: a public camera with nothing fresh says Redis
// is unreachable, the allow-list from before still decides what is
// public, and the outage is logged twice, not per check.
func TestRedisOutageSaysWhy(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	r := newRedisReplica(t, Config{Logger: slog.New(logs)}, nil, preview.Camera{ESN: camA})
	still, other := r.url("/preview/1006073b.jpg"), r.url("/preview/10060a2c.jpg")
	wantAnswer(t, other, 404, "camera is not public")
	wantAnswer(t, still, 503, "no fresh image")

	r.redis.Kill()
	lost := time.Now()
	waitReadiness(t, r.srv, false, "not ready")
	r.waitFailedChecks(2)
	wantAnswer(t, still, 503, "Redis unreachable")
	wantAnswer(t, other, 404, "camera is not public")
	wantNotReady(t, r.url("/readyz"), "Redis unreachable")

	r.endOutage(logs, lost)
}

// A replica started while Redis is down cannot tell which cameras are
// public: every route that needs the allow-list says Redis is unreachable
// (never "not public"), until Redis answers.
func TestReplicaStartedWithoutRedis(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	r := newRedisOnly(t, 0, preview.Camera{ESN: camA})
	r.redis.Kill()
	start := time.Now()
	r.start(Config{Logger: slog.New(logs)}, nil)
	r.waitFailedChecks(3)
	for _, path := range []string{"/preview/1006073b.jpg", "/preview/10060a2c.jpg", "/preview/1006073b.mjpg",
		"/preview/1006073b/events", "/events?esn=1006073b", "/embed/1006073b", "/api/cameras"} {
		wantAnswer(t, r.url(path), 503, "Redis unreachable")
	}
	wantAnswer(t, r.url("/preview/1006073.jpg"), 400, "malformed camera id")
	wantNotReady(t, r.url("/readyz"), "Redis unreachable")

	r.endOutage(logs, start)
	wantAnswer(t, r.url("/api/cameras"), 200, `"esn":"1006073b"`)
}

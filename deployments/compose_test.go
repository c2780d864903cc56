package deployments

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// The simulator's demo cameras (app.DemoCameras), as the compose file's
// CAMERAS default lists them. 10060a2c has a new image every 500 ms.
var demoCameras = []string{"1006073b", "10060a2c", "100b4f17", "1009c3de"}

const fastCamera = "10060a2c"

// TestComposeUp builds deployments/Dockerfile and runs docker-compose.yml
// as they are (with stand-ins for the images no registry here can give:
// standin_test.go), and checks the scaled-out form through nginx: images,
// SSE and MJPEG; a killed leading fetcher; a web replica stopped under
// steady polling; a Redis restart.
func TestComposeUp(t *testing.T) {
	cmd := requireCompose(t)
	spec := loadCompose(t)
	lockTTL, err := time.ParseDuration(spec.Services["fetcher1"].Environment["LOCK_TTL"])
	if err != nil {
		t.Fatalf("fetcher1 LOCK_TTL: %v", err)
	}
	began := time.Now()
	tag := "test-" + randomHex(4)
	buildStandins(t, spec, tag)
	t.Logf("stand-in images built in %s", time.Since(began).Round(100*time.Millisecond))

	c, addr := demoProject(t, cmd, tag)
	buildFromDockerfile(t, c, spec, tag)
	upStart := time.Now()
	c.must(4*time.Minute, "up", "-d", "--no-build")
	v := newViewer("http://" + addr)
	waitFor(t, time.Minute, "every camera served through nginx", func() bool {
		for _, esn := range demoCameras {
			if _, err := v.frame(esn); err != nil {
				return false
			}
		}
		return true
	})
	t.Logf("docker compose up: every camera served through nginx %s after up began", time.Since(upStart).Round(100*time.Millisecond))

	t.Run("images, SSE and MJPEG through nginx", func(t *testing.T) { checkStreams(t, v) })
	t.Run("leading fetcher killed", func(t *testing.T) { checkFetcherKill(t, c, spec, v, lockTTL) })
	t.Run("web replica stopped under 20 polling clients", func(t *testing.T) { checkWebStop(t, c, v) })
	t.Run("redis restarted", func(t *testing.T) { checkRedisRestart(t, c, v) })
	t.Logf("compose test took %s before teardown", time.Since(began).Round(100*time.Millisecond))
	c.must(2*time.Minute, "down", "-v", "--remove-orphans", "-t", "5") // the Sentinel form's turn; cleanup's down finds nothing
	t.Run("on Sentinel, primary killed", func(t *testing.T) { checkSentinel(t, cmd, tag, lockTTL) })
}

// demoProject prepares a compose project of docker-compose.yml (and
// extra files) on the simulator's demo cameras, with images tagged tag,
// and returns it and nginx's address, a free loopback port.
func demoProject(t *testing.T, cmd []string, tag string, extra ...string) (*composeCLI, string) {
	addr, err := testbed.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	// Set explicitly, so a developer's .env (real EEN credentials) or shell
	// cannot point the test at real cameras.
	return newCompose(t, cmd, map[string]string{
		"CAMRELAY_TAG": tag, "CAMRELAY_PORT": port,
		"EEN_BASE_URL": "http://eensim:8081", "EEN_USERNAME": "demo@example.com", "EEN_PASSWORD": "demo-password",
		"EEN_API_KEY": "", "CAMERAS": strings.Join(demoCameras, ","), "EEN_API": "v1",
	}, extra...), addr
}

// checkStreams: every camera's image, and live SSE and MJPEG streams that
// nginx passes on as they come (unbuffered).
func checkStreams(t *testing.T, v *viewer) {
	for _, esn := range demoCameras {
		if _, err := v.frame(esn); err != nil {
			t.Errorf("/preview/%s.jpg: %v", esn, err)
		}
	}
	// The camera has a new image every 500 ms: three events within 5 s
	// means nginx passes each on as it comes; buffered, a few hundred bytes
	// of events would wait for a full buffer.
	for _, path := range []string{"/preview/" + fastCamera + "/events", "/events?esn=" + fastCamera + "&esn=1006073b"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ch, err := v.events(ctx, path, "")
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		var frames []sseEvent
		for ev := range ch {
			if ev.name == "frame" {
				if frames = append(frames, ev); len(frames) == 3 {
					break
				}
			}
		}
		cancel()
		if len(frames) < 3 {
			t.Fatalf("%s: %d frame events in 5 s: %v", path, len(frames), ctx.Err())
		}
		if !frames[2].ts.After(frames[1].ts) {
			t.Errorf("%s: frame events out of order: %q then %q", path, frames[1].ts, frames[2].ts)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.mjpegParts(ctx, fastCamera, 3); err != nil {
		t.Errorf("/preview/%s.mjpg: %v", fastCamera, err)
	}
}

// checkFetcherKill: kill -9 (docker compose kill) the fetcher leading a
// camera; frames taken after the kill reach viewers within LOCK_TTL + 2 s.
func checkFetcherKill(t *testing.T, c *composeCLI, spec *composeSpec, v *viewer, lockTTL time.Duration) {
	fetchers := spec.servicesOf("fetcher")
	// Polled, not slept on: the answer must hold over a second, since a
	// handover just after start-up would show within that.
	var leader string
	var prev []string
	var prevAt time.Time
	waitFor(t, 30*time.Second, "one stable leader of "+fastCamera, func() bool {
		now := c.leaders(fetchers, fastCamera)
		if len(now) != 1 || !slices.Equal(now, prev) {
			prev, prevAt = now, time.Now()
			return false
		}
		leader = now[0]
		return time.Since(prevAt) >= time.Second
	})
	id := strings.TrimSpace(c.must(time.Minute, "ps", "-q", leader))
	c.must(time.Minute, "kill", leader)
	// The compose CLI takes a while to start: measure from the moment the
	// container died, as Docker recorded it.
	died := c.finishedAt(id)
	// An image taken after that moment can only come from the new leader.
	waitFor(t, lockTTL+10*time.Second, "frames after the kill", func() bool {
		return v.freshAfter(fastCamera, died)
	})
	failover := time.Since(died)
	t.Logf("killed %s (leader of %s): frames resumed through nginx %s after it died (bound: LOCK_TTL %s + 2s)",
		leader, fastCamera, failover.Round(10*time.Millisecond), lockTTL)
	if failover > lockTTL+2*time.Second {
		t.Errorf("frames resumed %s after the kill, want within %s", failover, lockTTL+2*time.Second)
	}
	// The dead one's log still ends with "leading": ask the survivors.
	survivors := slices.DeleteFunc(slices.Clone(fetchers), func(s string) bool { return s == leader })
	if now := c.leaders(survivors, fastCamera); len(now) != 1 {
		t.Errorf("survivors leading %s after the kill: %q, want one", fastCamera, now)
	}
}

// checkWebStop: while 20 clients poll every 100 ms, stopping one web
// replica costs no client more than one failed request before a success.
func checkWebStop(t *testing.T, c *composeCLI, v *viewer) {
	g := startPolling(v, 20)
	defer g.finish()
	waitFor(t, 30*time.Second, "20 clients polling", g.atLeast(10))
	stopping := time.Now()
	c.must(time.Minute, "stop", "-t", "10", "web2")
	stopped := time.Since(stopping)
	waitFor(t, 30*time.Second, "polling after the stop", g.atLeast(g.pollers[0].requests.Load()+30))
	g.finish()
	var requests, errs int64
	worst, slowest := 0, time.Duration(0)
	for i, p := range g.pollers {
		requests, errs = requests+p.requests.Load(), errs+p.errors.Load()
		worst, slowest = max(worst, p.maxRun), max(slowest, p.slowest)
		if p.maxRun > 1 {
			t.Errorf("client %d: %d failures in a row (last: %v)", i, p.maxRun, p.lastErr)
		}
	}
	t.Logf("stopped web2 in %s under %d clients: %d requests, %d errors, at most %d in a row per client, slowest request %s",
		stopped.Round(10*time.Millisecond), len(g.pollers), requests, errs, worst, slowest.Round(time.Millisecond))
}

// pollGroup is a set of viewers polling images through nginx.
type pollGroup struct {
	pollers []*poller
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// poller is one of them; only its requests and errors may be read before
// the group finishes.
type poller struct {
	requests, errors atomic.Int64
	run, maxRun      int // consecutive failures
	lastErr          error
	slowest          time.Duration
}

func startPolling(v *viewer, n int) *pollGroup {
	g := &pollGroup{stop: make(chan struct{})}
	for i := range n {
		p := &poller{}
		g.pollers = append(g.pollers, p)
		g.wg.Go(func() { p.poll(v, demoCameras[i%len(demoCameras)], g.stop) })
	}
	return g
}

// atLeast is a condition: every client has made n requests.
func (g *pollGroup) atLeast(n int64) func() bool {
	return func() bool {
		for _, p := range g.pollers {
			if p.requests.Load() < n {
				return false
			}
		}
		return true
	}
}

// finish stops the clients and waits for them; it may be called again.
func (g *pollGroup) finish() { g.once.Do(func() { close(g.stop); g.wg.Wait() }) }

// poll fetches the image every 100 ms; after a failure it retries at
// once, as a viewer's script would.
func (p *poller) poll(v *viewer, esn string, stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		start := time.Now()
		_, err := v.frame(esn)
		p.slowest = max(p.slowest, time.Since(start))
		p.requests.Add(1)
		if err != nil {
			p.errors.Add(1)
			p.run++
			p.maxRun, p.lastErr = max(p.maxRun, p.run), err
			select {
			case <-stop:
				return
			default: // retry at once
			}
			continue
		}
		p.run = 0
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// checkRedisRestart: Redis restarts empty; fetchers re-announce the cameras
// and retake their locks, web replicas resubscribe, and a viewer whose SSE
// stream was open before (reconnecting like a browser if it must) gets new
// frames, all with no help.
func checkRedisRestart(t *testing.T, c *composeCLI, v *viewer) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	frames := v.follow(ctx, "/preview/"+fastCamera+"/events")
	id := strings.TrimSpace(c.must(time.Minute, "ps", "-q", "redis"))
	began := time.Now()
	c.must(time.Minute, "restart", "-t", "5", "redis")
	// Measured from when the new Redis started, as Docker recorded it: an
	// image taken after that was stored in the new, empty Redis.
	down, started := c.finishedAt(id), c.startedAt(id)
	// Fresh on three requests in a row, so more than one replica answered.
	waitFor(t, 45*time.Second, "every camera fresh after the restart", func() bool {
		for _, esn := range demoCameras {
			for range 3 {
				if !v.freshAfter(esn, started) {
					return false
				}
			}
		}
		return true
	})
	fresh := time.Since(started)
	var sse sseFrame
	for sse = range frames { // ends with ctx
		if sse.ts.Time().After(started) {
			break
		}
	}
	if !sse.ts.Time().After(started) {
		t.Fatalf("the SSE viewer saw no frame taken after the restart: %v", ctx.Err())
	}
	waitFor(t, 45*time.Second, "every container healthy", func() bool { return len(c.notHealthy()) == 0 })
	t.Logf("docker compose restart redis took %s (Redis down %s); after Redis started: every camera fresh through nginx in %s; "+
		"the SSE viewer's first new frame in %s (%d reconnects); all containers healthy in %s",
		time.Since(began).Round(10*time.Millisecond), started.Sub(down).Round(10*time.Millisecond), fresh.Round(10*time.Millisecond),
		sse.at.Sub(started).Round(10*time.Millisecond), sse.reconnects, time.Since(started).Round(10*time.Millisecond))
}

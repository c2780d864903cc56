// Package browser drives Debian's headless Chromium against a real web
// replica, fetcher, simulator and Redis: what a site owner and a viewer see.
package browser

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

var cams = []preview.ESN{"1006073b", "10060a2c", "100b4f17"}

const frameTTL = 2 * time.Second

// stack is camrelay on loopback: Redis, the simulator, a fetcher that the
// test can stop and start again, and one web replica.
type stack struct {
	t       *testing.T
	rdb     *redis.Client
	prefix  string
	bed     *inproc.Stack
	fetcher *inproc.Proc
	web     string
	admin   string // the replica's operators' port
}

func startStack(t *testing.T) *stack {
	rds := testbed.Redis(t)
	s := &stack{t: t, rdb: rds.Client(), prefix: testbed.Prefix(t)}
	list := string(cams[0]) + "=Construction site," + string(cams[1]) + "=Ski slope," + string(cams[2]) + "=Shop front"
	common := map[string]string{"KEY_PREFIX": s.prefix, "LOG_LEVEL": "warn", "FRAME_TTL": frameTTL.String()}
	s.bed = inproc.StartStack(t, inproc.Options{
		RedisURL: rds.URL(), Cameras: list, Interval: 500 * time.Millisecond, Fetchers: -1,
		Fetcher: testbed.With(common, "LOCK_TTL", "2s"), Web: common,
	})
	s.startFetcher()
	s.web, s.admin = s.bed.Web(), s.bed.Webs[0].URL("admin")
	s.bed.WaitServed(15*time.Second, string(cams[0]), string(cams[1]), string(cams[2]))
	return s
}

func (s *stack) startFetcher() { s.fetcher = s.bed.AddFetcher() }

func (s *stack) stopFetcher() { s.fetcher.Stop(s.t) }

// latest returns the camera's newest stored frame time.
func (s *stack) latest(esn preview.ESN) preview.Timestamp {
	ts, _ := s.rdb.HGet(context.Background(), preview.Keys{Prefix: s.prefix}.Frame(esn), "ts").Result()
	return preview.Timestamp(ts)
}

// otherOrigin serves a page from another origin (another port) that embeds
// a camera the way a site owner would.
func otherOrigin(t *testing.T, html string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(html))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// browser starts headless Chromium for the test, or skips without one.
func browser(t *testing.T) context.Context {
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path, _ = exec.LookPath("chromium")
	}
	if path == "" {
		msg := "chromium not found (apt-get install chromium, or set CHROMIUM): skipping a browser test"
		if os.Getenv("CAMRELAY_NO_SKIP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shown returns, per camera, the frame time the page's elements show: the
// ts of the image in each camrelay-preview (from its URL or dataset).
func shown(t *testing.T, ctx context.Context) map[preview.ESN]preview.Timestamp {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.fromEntries(
		[...document.querySelectorAll("camrelay-preview")].map(p => [p.getAttribute("esn"), (p.ts || "")])))`))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	out := map[preview.ESN]preview.Timestamp{}
	json.Unmarshal([]byte(raw), &out)
	return out
}

// sample records what the page shows every 100 ms until stop.
type sample struct {
	at    time.Time
	shown map[preview.ESN]preview.Timestamp
}

func record(t *testing.T, ctx context.Context, d time.Duration) []sample {
	var out []sample
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		out = append(out, sample{at: time.Now(), shown: shown(t, ctx)})
		time.Sleep(100 * time.Millisecond) // sampling interval of a measured window
	}
	return out
}

// listen collects the frame notices published until the returned stop.
func (s *stack) listen() (stop func() []testbed.SeenFrame) {
	w := testbed.Watch(s.t, s.rdb, s.prefix)
	return func() []testbed.SeenFrame { w.Close(); return w.Seen() }
}

func attr(t *testing.T, ctx context.Context, js string) string {
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return strings.TrimSpace(v)
}

// metric reads one unlabelled series from the replica's /metrics (on
// its admin port).
func metric(t *testing.T, admin, name string) string {
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

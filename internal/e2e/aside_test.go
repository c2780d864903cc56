package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/framegen"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

const (
	goodPassword = "right-Pa55word"
	badPassword  = "wrong-Pa55word-in-a-Secret"
)

// simAccepting returns a simulator of cams (one frame every 250 ms) whose
// user's password is password.
func simAccepting(t *testing.T, password string, cams []preview.ESN) http.Handler {
	t.Helper()
	r, err := framegen.New(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	cfg := eensim.Config{Username: testbed.SimUser, Password: password, Renderer: r}
	for _, esn := range cams {
		cfg.Cameras = append(cfg.Cameras, eensim.Camera{ESN: esn, Interval: 250 * time.Millisecond})
	}
	s, err := eensim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

// refusedCluster is a real Redis and ncams cameras at an upstream of the
// test's that accepts goodPassword, the password of the stack's fetchers;
// it starts no fetcher yet.
func refusedCluster(t *testing.T, ncams int, lockTTL time.Duration) *cluster {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	c := newCluster(t, ncams, 250*time.Millisecond, lockTTL)
	upstream := httptest.NewServer(simAccepting(t, goodPassword, c.cams))
	t.Cleanup(upstream.Close)
	c.stack.UseUpstream(upstream.URL)
	c.stack.Vars.Fetcher["EEN_PASSWORD"] = goodPassword
	return c
}

// startRefused starts one more fetcher, with a wrong password, on an
// upstream of its own the test can switch: at first the simulator with the
// others' password, so EEN refuses this fetcher's login.
func (c *cluster) startRefused(t *testing.T) (*switchedEEN, *fetcherProc) {
	t.Helper()
	een := &switchedEEN{}
	een.use(simAccepting(t, goodPassword, c.cams))
	upstream := httptest.NewServer(een)
	t.Cleanup(upstream.Close)
	return een, c.addFetcher(t, map[string]string{"EEN_BASE_URL": upstream.URL, "EEN_PASSWORD": badPassword})
}

// leadsNone reports whether fetcher p answers and leads no camera.
func leadsNone(p *fetcherProc) bool {
	st := p.status()
	return st != nil && countLeading(st) == 0
}

// countLeading counts the cameras a fetcher's /status says it leads.
func countLeading(st map[preview.ESN]fetcher.CameraState) int {
	n := 0
	for _, s := range st {
		if s.Leading {
			n++
		}
	}
	return n
}

// framesFlow checks that every camera stores frames again within about a
// lock TTL of from, and keeps doing so without a gap longer than half a
// lock TTL for two more lock TTLs.
func (c *cluster) framesFlow(t *testing.T, from time.Time, lockTTL time.Duration) {
	t.Helper()
	settledBy := from.Add(lockTTL + time.Second)
	for _, esn := range c.cams {
		c.nextFrameAfter(t, esn, settledBy.Add(2*lockTTL), time.Until(settledBy)+3*lockTTL+5*time.Second)
		if gap := c.frames.MaxGap(esn, settledBy); gap > lockTTL/2 {
			t.Errorf("camera %s went %s without a frame (from a lock TTL + 1s after %s)", esn, gap.Round(time.Millisecond), from.Format("15:04:05.000"))
		}
	}
}

// Issue 12: in a rolling deploy the new fetcher got a wrong password. It
// must not keep cameras dark: it leads none (not even at start), is
// unready, and its peers lead every camera with fresh frames. Once its
// password is right it rejoins and takes its share; refused again while
// running, it steps aside and its peers take its cameras within about a
// lock TTL.
func TestRefusedFetcherStepsAside(t *testing.T) {
	const lockTTL = 2 * time.Second
	c := refusedCluster(t, 6, lockTTL)
	for range 2 {
		c.addFetcher(t, nil)
	}
	testbed.WaitFor(t, 20*time.Second, "every camera led", func() bool { return c.settled(0) })

	started := time.Now()
	een, bad := c.startRefused(t)
	badAdmin := "http://" + bad.admin
	waitForReadyz(t, badAdmin, http.StatusServiceUnavailable, "not ready: EEN refused the login")
	testbed.WaitFor(t, lockTTL+2*time.Second, "the good fetchers to lead every camera", func() bool {
		return c.settled(0) && leadsNone(bad)
	})
	c.framesFlow(t, started, lockTTL)
	if !leadsNone(bad) || !c.settled(0) {
		t.Errorf("the refused fetcher leads %v; leaders: %v", bad.status(), c.leaders())
	}
	checkLoginBackoff(t, een.loginTimes())

	een.use(simAccepting(t, badPassword, c.cams)) // the EEN user's password is now the fetcher's
	fixed := time.Now()
	waitForReadyz(t, badAdmin, http.StatusOK, "ready")
	testbed.WaitFor(t, 3*lockTTL, "the fixed fetcher to lead some cameras", func() bool {
		return countLeading(bad.status()) > 0 && c.settled(len(c.cams)/3+1)
	})
	t.Logf("fixed fetcher leads %d cameras %s after its password was fixed (%d logins tried)",
		countLeading(bad.status()), time.Since(fixed).Round(time.Millisecond), len(een.loginTimes()))

	een.use(simAccepting(t, goodPassword, c.cams)) // refused again while it leads
	broken := time.Now()
	waitForReadyz(t, badAdmin, http.StatusServiceUnavailable, "not ready: EEN refused the login")
	testbed.WaitFor(t, lockTTL+2*time.Second, "the good fetchers to take its cameras", func() bool {
		return c.settled(0) && leadsNone(bad)
	})
	t.Logf("refused fetcher's cameras taken %s after its login was refused", time.Since(broken).Round(time.Millisecond))
	for _, esn := range c.cams {
		c.nextFrameAfter(t, esn, broken.Add(lockTTL+time.Second), 3*lockTTL+5*time.Second)
	}

	for part, want := range map[string]int{
		"fetcher: stepping aside": 2, "fetcher: rejoining": 1, "level=ERROR": 2, "level=WARN": 0,
	} {
		if n := strings.Count(bad.logs.String(), part); n != want {
			t.Errorf("the refused fetcher logged %q %d times, want %d", part, n, want)
		}
	}
}

// Issue 12: a fetcher with a wrong password that could lead no camera (all
// are held) still checks its login at start: /readyz says so at once. With
// every fetcher refused no camera has a leader, yet the cameras stay public:
// the web replica answers "no fresh image", not "not public".
func TestRefusedFetcherWithNothingToLeadIsNotReady(t *testing.T) {
	const lockTTL = 2 * time.Second
	c := refusedCluster(t, 2, lockTTL)
	keys := preview.Keys{Prefix: c.prefix}
	for _, esn := range c.cams {
		if err := c.rdb.Set(context.Background(), keys.Lock(esn), "held-by-the-test", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	een, bad := c.startRefused(t)
	var body string
	testbed.WaitFor(t, 3*time.Second, "/readyz to say the login is refused", func() bool {
		_, body = get("http://" + bad.admin + "/readyz")
		return strings.Contains(body, "not ready: EEN refused the login")
	})
	for _, esn := range c.cams {
		if v, _ := c.rdb.Get(context.Background(), keys.Lock(esn)).Result(); v != "held-by-the-test" {
			t.Errorf("camera %s lock holds %q", esn, v)
		}
	}

	// The test lets the locks go: with the only fetcher refused, nobody leads.
	for _, esn := range c.cams {
		c.rdb.Del(context.Background(), keys.Lock(esn))
	}
	web, err := c.stack.AddWeb(context.Background(), map[string]string{"LOG_LEVEL": "error"})
	if err != nil {
		t.Fatal(err)
	}
	img := "http://" + web.Addr("web") + "/preview/" + string(c.cams[0]) + ".jpg"
	testbed.WaitFor(t, 5*time.Second, "the web replica to know the camera", func() bool {
		code, body := get(img)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "no fresh image")
	})
	// Watched for two lock TTLs, the time a free camera takes to find a taker.
	end := time.Now().Add(2 * lockTTL)
	testbed.WaitFor(t, 3*lockTTL, "two lock TTLs without a leader", func() bool {
		if !leadsNone(bad) {
			t.Fatalf("the refused fetcher leads: %v", bad.status())
		}
		if code, body := get(img); code != http.StatusServiceUnavailable || !strings.Contains(body, "no fresh image") {
			t.Fatalf("image of a public camera nobody can fetch: %d %q, want 503 no fresh image", code, body)
		}
		return time.Now().After(end)
	})
	checkLoginBackoff(t, een.loginTimes())
}

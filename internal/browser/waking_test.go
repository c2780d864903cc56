package browser

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/redisstore"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// TestWakingUpShows: a camera followed only while watched, with no
// picture yet, shows "waking up" (not "offline") on the grid and in the
// element while a viewer is on it, then its first picture once a fetcher
// (FETCH=watched) follows it.
func TestWakingUpShows(t *testing.T) {
	rds := testbed.Redis(t)
	prefix := testbed.Prefix(t)
	common := map[string]string{"KEY_PREFIX": prefix, "LOG_LEVEL": "warn", "FRAME_TTL": frameTTL.String()}
	bed := inproc.StartStack(t, inproc.Options{
		RedisURL: rds.URL(), Cameras: string(cams[0]) + "=Construction site", Interval: 500 * time.Millisecond, Fetchers: -1,
		Fetcher: testbed.With(testbed.With(testbed.With(common, "LOCK_TTL", "2s"), "FETCH", "watched"), "WATCH_TTL", "2s"),
		Web:     testbed.With(common, "WATCH_TTL", "2s"),
	})
	// No fetcher yet: the allow-list as a FETCH=watched fetcher writes it.
	store := redisstore.New(rds.Client(), prefix)
	if err := store.PublishCameras(context.Background(), []preview.Camera{{ESN: cams[0], Name: "Construction site", Watched: true}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 10*time.Second, "the replica to list the camera asleep", func() bool {
		resp, err := http.Get(bed.Web() + "/api/cameras")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"state":"asleep"`)
	})
	ctx := browser(t)
	waking := func(js string) func() bool { return func() bool { return attr(t, ctx, js) == "true" } }

	if err := chromedp.Do(ctx, chromedp.Navigate(bed.Web()+"/")); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 10*time.Second, `the grid's card "waking up"`,
		waking(`String(!!document.querySelector("figure.card.waking") && !document.querySelector("figure.card.offline"))`))

	if err := chromedp.Do(ctx, chromedp.Navigate(otherOrigin(t, embedPage(bed.Web(), cams[0], "")))); err != nil {
		t.Fatal(err)
	}
	badge := `(() => { const p = document.getElementById("cam"); return String(p.hasAttribute("waking") && !p.hasAttribute("offline") &&
		[...p.querySelectorAll("span")].some((s) => s.textContent === "waking up" && s.style.display !== "none")); })()`
	testbed.WaitFor(t, 10*time.Second, `the element's badge "waking up"`, waking(badge))

	bed.AddFetcher()
	waitShown(t, ctx, cams[0])
	testbed.WaitFor(t, 5*time.Second, "the badge gone once the picture shows", waking(
		`String(!document.getElementById("cam").hasAttribute("waking") && !document.getElementById("cam").hasAttribute("offline"))`))
}

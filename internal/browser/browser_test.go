package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// lag checks that every frame announced was on the page within limit,
// and returns the worst delay seen.
func lag(t *testing.T, events []testbed.SeenFrame, samples []sample, limit time.Duration) time.Duration {
	t.Helper()
	worst := time.Duration(0)
	last := samples[len(samples)-1].at
	for _, ev := range events {
		if ev.At.Add(limit).After(last) {
			continue // too late in the window to judge
		}
		found := false
		for _, s := range samples {
			if !s.at.Before(ev.At) && !ev.TS.After(s.shown[ev.ESN]) {
				worst = max(worst, s.at.Sub(ev.At))
				found = s.at.Sub(ev.At) <= limit
				break
			}
		}
		if !found {
			t.Errorf("frame %s of %s was not on the page within %s", ev.TS, ev.ESN, limit)
		}
	}
	return worst
}

func TestGridShowsEveryCameraLive(t *testing.T) {
	s := startStack(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.web+"/")); err != nil {
		t.Fatal(err)
	}
	waitShown(t, ctx, cams...)
	if n := attr(t, ctx, `String(document.querySelectorAll("figure.card").length)`); n != fmt.Sprint(len(cams)) {
		t.Fatalf("%s cards, want %d", n, len(cams))
	}
	if n := metric(t, s.admin, "camrelay_web_sse_clients"); n != "1" {
		t.Errorf("the grid holds %s event streams open, want exactly 1 for all its cameras", n)
	}
	stop := s.listen()
	samples := record(t, ctx, 4*time.Second)
	events := stop()
	worst := lag(t, events, samples, 2*time.Second)
	t.Logf("%d frames of %d cameras announced; the page showed each within %s", len(events), len(cams), worst.Round(time.Millisecond))
	attr(t, ctx, `document.querySelector("details.embed").open = true; "opened"`) // show the snippets too
	screenshot(t, ctx, "grid.png")
}

// waitShown waits until the page shows a picture of each camera.
func waitShown(t *testing.T, ctx context.Context, esns ...preview.ESN) {
	t.Helper()
	testbed.WaitFor(t, 10*time.Second, "pictures on the page", func() bool {
		got := shown(t, ctx)
		for _, esn := range esns {
			if got[esn] == "" {
				return false
			}
		}
		return true
	})
}

// screenshot saves the page to $CAMRELAY_ARTIFACTS (CI points it outside
// the checkout), else to the test's temporary directory. The README's
// picture is refreshed only on purpose, by pointing it at docs/screenshots.
func screenshot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("CAMRELAY_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if !filepath.IsAbs(dir) { // it would land in this package's directory
		t.Fatalf("CAMRELAY_ARTIFACTS=%s: give an absolute path", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func embedPage(web string, esn preview.ESN, before string) string {
	return `<!doctype html><html><head><title>A site owner's page</title>` + before +
		`<script src="` + web + `/camrelay.js"></script></head><body><h1>Our ski slope</h1>
<camrelay-preview id="cam" esn="` + string(esn) + `" src="` + web + `" style="display:block;width:640px;height:360px"></camrelay-preview>
</body></html>`
}

func TestCustomElementOnAnotherOriginGoesOfflineAndRecovers(t *testing.T) {
	s := startStack(t)
	ctx := browser(t)
	page := otherOrigin(t, embedPage(s.web, cams[1], ""))
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	waitShown(t, ctx, cams[1])
	first := shown(t, ctx)[cams[1]]
	testbed.WaitFor(t, 5*time.Second, "a newer picture (live over SSE across origins)", func() bool {
		return shown(t, ctx)[cams[1]].After(first)
	})

	s.stopFetcher()
	stopped := time.Now()
	testbed.WaitFor(t, frameTTL+5*time.Second, "the element to show offline", func() bool {
		return attr(t, ctx, `String(document.getElementById("cam").hasAttribute("offline"))`) == "true"
	})
	t.Logf("offline shown %s after frames stopped (frame TTL %s)", time.Since(stopped).Round(time.Millisecond), frameTTL)
	before := shown(t, ctx)[cams[1]]

	s.startFetcher()
	testbed.WaitFor(t, 10*time.Second, "the element to recover without a reload", func() bool {
		return attr(t, ctx, `String(document.getElementById("cam").hasAttribute("offline"))`) == "false" &&
			shown(t, ctx)[cams[1]].After(before)
	})
	if nav := attr(t, ctx, `String(performance.getEntriesByType("navigation").length)`); nav != "1" {
		t.Errorf("the page was reloaded (%s navigations)", nav)
	}
}

func TestPollingWithoutEventSource(t *testing.T) {
	s := startStack(t)
	ctx := browser(t)
	noES := `<script>delete window.EventSource; window.EventSource = undefined;</script>`
	page := otherOrigin(t, embedPage(s.web, cams[0], noES))
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	waitShown(t, ctx, cams[0])
	if got := attr(t, ctx, `typeof window.EventSource`); got != "undefined" {
		t.Fatalf("EventSource is %s on the page", got)
	}
	// Polling every second keeps the picture within about a second of Redis.
	for i := range 3 {
		target := s.latest(cams[0])
		testbed.WaitFor(t, 3*time.Second, fmt.Sprintf("poll %d to show frame %s", i, target), func() bool {
			return !target.After(shown(t, ctx)[cams[0]])
		})
	}
}

// The element lets go of its stream while the tab is hidden and takes it
// up again when the tab is shown (Page Visibility).
func TestElementPausesWhileHidden(t *testing.T) {
	s := startStack(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(otherOrigin(t, embedPage(s.web, cams[0], "")))); err != nil {
		t.Fatal(err)
	}
	waitShown(t, ctx, cams[0])
	testbed.WaitFor(t, 5*time.Second, "one stream open", func() bool { return metric(t, s.admin, "camrelay_web_sse_clients") == "1" })
	setHidden := func(hidden bool) {
		attr(t, ctx, fmt.Sprintf(`Object.defineProperty(document, "hidden", {value: %t, configurable: true});
			document.dispatchEvent(new Event("visibilitychange")); "ok"`, hidden))
	}
	setHidden(true)
	testbed.WaitFor(t, 20*time.Second, "the stream closed while hidden", func() bool { return metric(t, s.admin, "camrelay_web_sse_clients") == "0" })
	before := shown(t, ctx)[cams[0]]
	setHidden(false)
	testbed.WaitFor(t, 5*time.Second, "the stream back and a newer picture", func() bool {
		return metric(t, s.admin, "camrelay_web_sse_clients") == "1" && shown(t, ctx)[cams[0]].After(before)
	})
}

package browser

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camrelay/camrelay/internal/testbed"
)

// The grid's cards load thumbnails of an offered width, picked from the
// card's width (1280-px window: three ~400-px cards, so 640), and the
// embed page with ?width=160 shows 160-pixel-wide pictures.
func TestPagesLoadThumbnails(t *testing.T) {
	s := startStack(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.web+"/")); err != nil {
		t.Fatal(err)
	}
	waitShown(t, ctx, cams...)
	src := attr(t, ctx, `[...document.querySelectorAll("camrelay-preview img")].map(i => i.currentSrc).join(" ")`)
	for _, u := range strings.Fields(src) {
		if !strings.Contains(u, "&w=640") {
			t.Errorf("a grid card loads %s, want a w=640 thumbnail", u)
		}
	}
	if n := len(strings.Fields(src)); n != len(cams) {
		t.Errorf("%d card pictures (%s), want %d", n, src, len(cams))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.web+"/embed/"+string(cams[0])+"?width=160")); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 10*time.Second, "a 160-px picture in the embed page", func() bool {
		return attr(t, ctx, `String(document.querySelector("camrelay-preview img").naturalWidth)`) == "160"
	})
}

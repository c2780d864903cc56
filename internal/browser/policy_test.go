package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// recordViolations makes every page the browser opens from now on collect
// its Content-Security-Policy violations in window.cspViolations, from
// before the page's first script runs.
func recordViolations(t *testing.T, ctx context.Context) {
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "")));`,
		})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// The grid and the embed page work under their Content-Security-Policy
// (no inline code): they show live pictures and the browser reports no
// violation, while inline code added to them is refused.
func TestPagesRunUnderTheirPolicy(t *testing.T) {
	s := startStack(t)
	ctx := browser(t)
	recordViolations(t, ctx)
	for _, p := range []struct{ path, want string }{
		{"/", "grid"}, {"/embed/" + string(cams[1]), "embed"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.web+p.path)); err != nil {
			t.Fatal(err)
		}
		if p.want == "grid" {
			waitShown(t, ctx, cams...)
		} else {
			waitShown(t, ctx, cams[1])
		}
		if v := attr(t, ctx, `JSON.stringify(window.cspViolations)`); v != "[]" {
			t.Errorf("%s: policy violations %s", p.path, v)
		}
	}
	// The control: the policy is in force and violations are seen.
	attr(t, ctx, `document.body.insertAdjacentHTML("beforeend", '<img src="/nope" onerror="window.ran = 1">'); "added"`)
	testbed.WaitFor(t, 5*time.Second, "the inline handler refused and reported", func() bool {
		return strings.Contains(attr(t, ctx, `JSON.stringify(window.cspViolations)`), "script-src")
	})
	if ran := attr(t, ctx, `String(window.ran)`); ran != "undefined" {
		t.Errorf("an inline event handler ran under the policy")
	}
}

// Another site may show /embed/{esn} in an iframe, not the grid.
func TestEmbedFramedByAnotherSiteGridNot(t *testing.T) {
	s := startStack(t)
	ctx := browser(t)
	site := otherOrigin(t, `<!doctype html><title>A site owner's page</title>
<iframe id="embed" src="`+s.web+`/embed/`+string(cams[0])+`" width="640" height="360"></iframe>
<iframe id="grid" src="`+s.web+`/" width="640" height="360"></iframe>`)
	if err := chromedp.Do(ctx, chromedp.Navigate(site)); err != nil {
		t.Fatal(err)
	}
	// in counts the nodes matching sel inside the iframe with id frame.
	in := func(frame, sel string) int {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		frames, err := chromedp.Run(qctx, chromedp.Nodes(chromedp.ID(frame)))
		if err != nil || len(frames) != 1 {
			t.Fatalf("iframe %s: %v", frame, err)
		}
		nodes, _ := chromedp.Run(qctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.FromNode(frames[0]), chromedp.AtLeast(0)))
		return len(nodes)
	}
	testbed.WaitFor(t, 10*time.Second, "a picture in the embed iframe", func() bool { return in("embed", "camrelay-preview img[src]") == 1 })
	testbed.WaitFor(t, 5*time.Second, "the grid iframe's document", func() bool { return in("grid", "body") == 1 })
	if n := in("grid", "#grid, camrelay-preview"); n != 0 {
		t.Errorf("the grid page shows inside another site's iframe (%d elements)", n)
	}
}

package browser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camrelay/camrelay/internal/signing"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

const signingKeys = "k1:k1-secret-0123456789abcdefghijklmnopqrstuv"

// site serves whatever page the test sets, from an origin of its own.
func site(t *testing.T) (origin string, set func(html string)) {
	var page atomic.Value
	page.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func(html string) { page.Store(html) }
}

// A signed camera's embed plays on its allowed site, is refused in
// another site's iframe (frame-ancestors), and stops when its link ends.
func TestSignedEmbedOnItsSiteUntilExpiry(t *testing.T) {
	ctx := browser(t)
	allowed, setAllowed := site(t)
	otherURL, setOther := site(t)
	rds := testbed.Redis(t)
	common := map[string]string{"KEY_PREFIX": testbed.Prefix(t), "LOG_LEVEL": "warn", "FRAME_TTL": frameTTL.String()}
	bed := inproc.StartStack(t, inproc.Options{
		RedisURL: rds.URL(), Cameras: string(cams[0]) + "=Kennel;signed;origins=" + allowed, Interval: 500 * time.Millisecond,
		Fetcher: common, Web: testbed.With(common, "SIGNING_KEYS", signingKeys),
	})
	keys, _ := signing.ParseKeys(signingKeys)
	exp := time.Now().Add(12 * time.Second)
	l, _ := keys.Sign(cams[0], "k1", exp)
	embed := bed.Web() + "/embed/" + string(cams[0]) + "?" + l.Query()
	testbed.WaitFor(t, 15*time.Second, "the signed camera served", func() bool {
		resp, err := http.Get(bed.Web() + "/preview/" + string(cams[0]) + ".jpg?" + l.Query())
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	frame := `<!doctype html><title>A site</title><iframe id="embed" src="` + embed + `" width="640" height="360"></iframe>`
	setAllowed(frame)
	setOther(frame)

	// in counts the nodes matching sel inside the iframe.
	in := func(sel string) int {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		frames, err := chromedp.Run(qctx, chromedp.Nodes(chromedp.ID("embed")))
		if err != nil || len(frames) != 1 {
			t.Fatalf("iframe: %v", err)
		}
		nodes, _ := chromedp.Run(qctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.FromNode(frames[0]), chromedp.AtLeast(0)))
		return len(nodes)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(otherURL)); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 5*time.Second, "the iframe's document on another site", func() bool { return in("body") == 1 })
	if n := in("camrelay-preview"); n != 0 {
		t.Errorf("another site frames the signed camera's embed (%d elements)", n)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(allowed)); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, 10*time.Second, "a picture in the embed on its allowed site", func() bool { return in("camrelay-preview img[src]") == 1 })
	if time.Now().After(exp) {
		t.Fatal("the link ran out before the page played: the machine is too slow for this test's 12 s link")
	}
	testbed.WaitFor(t, time.Until(exp)+10*time.Second, "the embed to say its link expired", func() bool { return in("camrelay-preview[expired]") == 1 })
	if early := time.Until(time.Unix(exp.Unix(), 0)); early > 0 {
		t.Errorf("stopped %s before the link's end", early)
	}
	testbed.WaitFor(t, 5*time.Second, "no stream left open", func() bool { return metric(t, bed.Webs[0].URL("admin"), "camrelay_web_sse_clients") == "0" })
}

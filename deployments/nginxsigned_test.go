package deployments

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// signedReplica stands in for a web replica serving a signed camera's
// still: 200 with "private, no-store" (and no X-Accel-Expires) for a
// valid link, a no-store 403 otherwise (httpserver's
// TestSignedStillIsPrivate and TestSignedRoutesNeedAValidLink pin both).
type signedReplica struct{ requests atomic.Int64 }

func (r *signedReplica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	if req.URL.Query().Get("sig") != "good" {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, `{"error":"signed link required"}`, http.StatusForbidden)
		return
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Type", "image/jpeg")
	io.WriteString(w, "kennel")
}

// nginx's microcache keys stills by path and w, not by link: a signed
// still fetched with a link must never be handed to a request without one.
func TestNginxNeverCachesSignedStills(t *testing.T) {
	bin := nginxBinary(t)
	rep := &signedReplica{}
	up := httptest.NewServer(rep)
	defer up.Close()
	base := startNginx(t, bin, up.Listener.Addr().String())
	get := func(query string) (int, string, string) {
		resp, err := http.Get(base + "/preview/10060abc.jpg" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("X-Cache-Status")
	}
	for i := range 3 {
		if code, body, cache := get("?exp=1&kid=k1&sig=good&w=160"); code != 200 || body != "kennel" || cache == "HIT" {
			t.Fatalf("with the link, request %d: %d %q (cache %s)", i, code, body, cache)
		}
	}
	for _, q := range []string{"", "?w=160", "?exp=1&kid=k1&sig=bad&w=160"} {
		if code, body, cache := get(q); code != http.StatusForbidden || strings.Contains(body, "kennel") {
			t.Errorf("%q without a valid link: %d %q (cache %s)", q, code, body, cache)
		}
	}
	if n := rep.requests.Load(); n != 6 {
		t.Errorf("the replica saw %d requests of 6: nginx answered some from its cache", n)
	}
}

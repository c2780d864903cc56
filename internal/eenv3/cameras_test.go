package eenv3_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// Cameras follows nextPageToken to the end and keeps only ESNs, once
// each; a 401 is answered with a newer token, as for images.
func TestCameras(t *testing.T) {
	stale, fresh := set(), set()
	pages := map[string]string{
		"":   `{"results":[{"id":"1006073B","name":"Gate"},{"id":"not-an-esn","name":"x"}],"nextPageToken":"p2","totalSize":4}`,
		"p2": `{"results":[{"id":"1006073b","name":"again"},{"id":"10060a2c","name":"Yard"}],"nextPageToken":"p3"}`,
		"p3": `{"results":[{"id":"1009c3de"}],"nextPageToken":""}`,
	}
	api := newFakeAPI(t, []string{fresh.AccessToken}, map[string]http.HandlerFunc{
		"GET /api/v3.0/cameras": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(pages[r.URL.Query().Get("pageToken")]))
		},
	})
	tokens := newTokens(stale, fresh)
	c := newClient(t, api.srv.URL, tokens, nil)
	cams, err := c.Cameras(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []eenv3.Camera{{ID: "1006073b", Name: "Gate"}, {ID: "10060a2c", Name: "Yard"}, {ID: "1009c3de"}}
	if !reflect.DeepEqual(cams, want) {
		t.Fatalf("cameras %+v, want %+v", cams, want)
	}
	var asked []string
	for _, r := range api.requests() {
		asked = append(asked, r.URL.RawQuery)
	}
	if got := strings.Join(asked, " "); got != "pageSize=100 pageSize=100 pageSize=100&pageToken=p2 pageSize=100&pageToken=p3" || len(tokens.stale()) != 1 {
		t.Fatalf("asked %s", got)
	}
}

// A server that names a page it gave already, or names pages without end,
// is not followed for ever.
func TestCamerasPagingBounded(t *testing.T) {
	for _, c := range []struct {
		name string
		next func(n int) string
		want string
	}{
		{"loop", func(n int) string { return fmt.Sprint("p", n%3) }, "the pages loop"},
		{"endless", func(n int) string { return fmt.Sprint("p", n) }, "more than 200 pages"},
	} {
		s := set()
		var mu sync.Mutex
		n := 0
		api := newFakeAPI(t, []string{s.AccessToken}, map[string]http.HandlerFunc{
			"GET /api/v3.0/cameras": func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				next := c.next(n)
				mu.Unlock()
				json.NewEncoder(w).Encode(map[string]any{"results": []any{}, "nextPageToken": next})
			},
		})
		_, err := newClient(t, api.srv.URL, newTokens(s), nil).Cameras(context.Background())
		secrets.note(err)
		if err == nil || !strings.Contains(err.Error(), c.want) || len(api.requests()) > 200 {
			t.Errorf("%s: %v after %d requests", c.name, err, len(api.requests()))
		}
	}
}

// ClientSettings names the account's host; a host that is no DNS name or
// IP address is refused.
func TestClientSettings(t *testing.T) {
	for _, c := range []struct{ body, want, err string }{
		{`{"httpsBaseUrl":{"hostname":"api.c001.eagleeyenetworks.com","port":443}}`, "https://api.c001.eagleeyenetworks.com", ""},
		{`{"httpsBaseUrl":{"hostname":"API.c001.EagleEyeNetworks.com.","port":"8443"}}`, "https://api.c001.eagleeyenetworks.com:8443", ""},
		{`{"httpsBaseUrl":{"hostname":"::1","port":8443}}`, "https://[::1]:8443", ""},
		{`{"httpsBaseUrl":{"hostname":"evil.com@x","port":443}}`, "", "not a DNS name"},
		{`{}`, "", "no httpsBaseUrl"},
	} {
		s := set()
		api := newFakeAPI(t, []string{s.AccessToken}, map[string]http.HandlerFunc{
			"GET /api/v3.0/clientSettings": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(c.body)) },
		})
		got, err := newClient(t, api.srv.URL, newTokens(s), nil).ClientSettings(context.Background())
		secrets.note(err)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %q, %v; want %q, %q", c.body, got, err, c.want, c.err)
		}
	}
}

// API calls go to the configured BaseURL when set, whatever the token set
// names; else to the set's host; else to the host clientSettings names,
// asked once at EEN's main API host.
func TestBaseURL(t *testing.T) {
	s := set()
	api := newFakeAPI(t, []string{s.AccessToken}, map[string]http.HandlerFunc{
		"GET /api/v3.0/clientSettings": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"httpsBaseUrl":{"hostname":"api.c009.eagleeyenetworks.com","port":443}}`))
		},
	})
	for _, c := range []struct {
		base, setBase string
		calls         int
		want          []string
	}{
		{api.srv.URL, "https://api.c001.eagleeyenetworks.com", 1, []string{api.srv.URL + "/api/v3.0/media/liveImage.jpeg"}},
		{"", "https://api.c001.eagleeyenetworks.com", 1, []string{"https://api.c001.eagleeyenetworks.com/api/v3.0/media/liveImage.jpeg"}},
		{"", "", 2, []string{
			"https://api.eagleeyenetworks.com/api/v3.0/clientSettings",
			"https://api.c009.eagleeyenetworks.com/api/v3.0/media/liveImage.jpeg",
			"https://api.c009.eagleeyenetworks.com/api/v3.0/media/liveImage.jpeg",
		}},
	} {
		rw := &rewrite{to: api.srv.URL}
		withBase := s
		withBase.BaseURL = c.setBase
		cl := newClient(t, c.base, newTokens(withBase), func(cfg *eenv3.Config) { cfg.HTTPClient = &http.Client{Transport: rw} })
		for range c.calls {
			if _, err := cl.LiveImage(context.Background(), cam); err != nil {
				t.Fatal(err)
			}
		}
		if got := rw.seen(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("base %q, set's %q: went to %q, want %q", c.base, c.setBase, got, c.want)
		}
	}
}

// rewrite sends every request to the test server, recording where the
// client meant it to go.
type rewrite struct {
	to  string
	tr  http.Transport
	mu  sync.Mutex
	got []string
}

func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.got = append(r.got, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
	r.mu.Unlock()
	to, _ := url.Parse(r.to)
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = to.Scheme, to.Host, ""
	return r.tr.RoundTrip(out)
}

func (r *rewrite) CloseIdleConnections() { r.tr.CloseIdleConnections() }

func (r *rewrite) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

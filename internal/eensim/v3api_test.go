package eensim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// apiError decodes a v3 API error, failing unless its status is code.
func apiError(t testing.TB, rec *httptest.ResponseRecorder, code int) {
	t.Helper()
	wantCode(t, rec, code)
	var e struct {
		Code    int
		Status  string
		Message string
		Details []any
	}
	if err := json.NewDecoder(rec.Body).Decode(&e); err != nil || e.Code != code || e.Status == "" || e.Message == "" || e.Details == nil {
		t.Errorf("error answer %+v (%v), want {code: %d, status, message, details}", e, err, code)
	}
}

func TestClientSettings(t *testing.T) {
	for _, tc := range []struct {
		apiHost, host string
		port          int
	}{
		{"", "127.0.0.1", 8443}, // the request's Host
		{"api.c001.example", "api.c001.example", 443},
		{"[::1]:9000", "::1", 9000},
	} {
		h := newSim(t, v3(func(c *Config) { c.APIHost = tc.apiHost })).Handler()
		a := signIn(t, h)
		req := httptest.NewRequest(http.MethodGet, "/api/v3.0/clientSettings", nil)
		req.Host = "127.0.0.1:8443"
		req.Header.Set("Authorization", "bearer "+a.AccessToken)
		rec := serve(h, req)
		wantCode(t, rec, http.StatusOK)
		var cs struct{ HTTPSBaseURL httpsBaseURL }
		json.NewDecoder(rec.Body).Decode(&cs)
		if cs.HTTPSBaseURL.Hostname != tc.host || cs.HTTPSBaseURL.Port != tc.port {
			t.Errorf("APIHost %q: httpsBaseUrl %+v", tc.apiHost, cs.HTTPSBaseURL)
		}
	}
	h := newSim(t, v3(nil)).Handler()
	apiError(t, bearer(h, "", "/api/v3.0/clientSettings"), http.StatusUnauthorized)
	apiError(t, bearer(h, "not-a-token", "/api/v3.0/clientSettings"), http.StatusUnauthorized)
	// A v1 session is no v3 token.
	req := httptest.NewRequest(http.MethodGet, "/api/v3.0/clientSettings", nil)
	req.Header.Set("Authorization", "Basic "+login(t, h))
	apiError(t, serve(h, req), http.StatusUnauthorized)
}

// manyCameras is a config of n cameras, every fifth denied.
func manyCameras(n int) func(*Config) {
	return v3(func(c *Config) {
		c.Cameras, c.Denied = nil, nil
		for i := range n {
			esn := preview.ESN(fmt.Sprintf("1000%04x", i*7919%65536))
			c.Cameras = append(c.Cameras, Camera{ESN: esn, Name: "Cam " + string(esn), Interval: time.Second})
			if i%5 == 0 {
				c.Denied = append(c.Denied, esn)
			}
		}
		c.CameraPageSize = 4
	})
}

type page struct {
	Results []struct {
		ID, Name string
	}
	NextPageToken, PrevPageToken string
	TotalSize                    int
}

func listCameras(t *testing.T, h http.Handler, tok string, q url.Values) page {
	t.Helper()
	rec := bearer(h, tok, "/api/v3.0/cameras?"+q.Encode())
	wantCode(t, rec, http.StatusOK)
	var p page
	if err := json.NewDecoder(rec.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCamerasInPages(t *testing.T) {
	h := newSim(t, manyCameras(23)).Handler()
	tok := signIn(t, h).AccessToken
	var ids []string
	var pages []page
	q := url.Values{}
	for len(pages) < 10 {
		p := listCameras(t, h, tok, q)
		pages = append(pages, p)
		for _, r := range p.Results {
			ids = append(ids, r.ID)
			if r.Name != "Cam "+r.ID {
				t.Errorf("camera %s named %q", r.ID, r.Name)
			}
		}
		if p.TotalSize != 18 {
			t.Errorf("totalSize = %d, want 18 (23 less 5 denied)", p.TotalSize)
		}
		if p.NextPageToken == "" {
			break
		}
		q.Set("pageToken", p.NextPageToken)
	}
	if len(pages) != 5 || len(ids) != 18 || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 18 {
		t.Fatalf("%d pages, ids %v: want 5 pages of 18 distinct cameras in order", len(pages), ids)
	}
	if pages[0].PrevPageToken != "" || pages[1].PrevPageToken == "" {
		t.Errorf("prevPageToken: first %q, second %q", pages[0].PrevPageToken, pages[1].PrevPageToken)
	}
	back := listCameras(t, h, tok, url.Values{"pageToken": {pages[2].PrevPageToken}})
	if back.Results[0].ID != ids[4] {
		t.Errorf("prevPageToken of page 3 starts at %s, want %s", back.Results[0].ID, ids[4])
	}
	if p := listCameras(t, h, tok, url.Values{"pageSize": {"2"}}); len(p.Results) != 2 || p.Results[1].ID != ids[1] {
		t.Errorf("pageSize 2: %+v", p.Results)
	}
	if p := listCameras(t, h, tok, url.Values{"pageSize": {"1000"}}); len(p.Results) != 4 {
		t.Errorf("pageSize 1000 gave %d cameras, want the cap of 4", len(p.Results))
	}
	for _, bad := range []url.Values{{"pageToken": {"nonsense"}}, {"pageToken": {pageToken(18)}}, {"pageToken": {pageToken(-1)}},
		{"pageSize": {"0"}}, {"pageSize": {"x"}}} {
		apiError(t, bearer(h, tok, "/api/v3.0/cameras?"+bad.Encode()), http.StatusBadRequest)
	}
	apiError(t, bearer(h, "", "/api/v3.0/cameras"), http.StatusUnauthorized)
}

// liveURL is the path and query of a liveImage call.
func liveURL(esn preview.ESN) string {
	return "/api/v3.0/media/liveImage.jpeg?" + url.Values{"deviceId": {string(esn)}, "type": {"preview"}}.Encode()
}

var isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(\+00:00|Z)$`)

// TestLiveImageWaitsForTheNextFrame runs in a synctest bubble: liveImage
// answers exactly when the camera's next frame exists, with EEN's headers.
func TestLiveImageWaitsForTheNextFrame(t *testing.T) {
	for _, layout := range []string{"", TimestampZ} {
		synctest.Test(t, func(t *testing.T) {
			s := newSim(t, v3(func(c *Config) { c.TimestampLayout = layout }))
			h := s.Handler()
			tok := signIn(t, h).AccessToken
			time.Sleep(300 * time.Millisecond) // the bubble's clock only
			want := time.Now().Truncate(time.Second).Add(time.Second + phaseOf(camGate, time.Second))
			if want.Sub(time.Now()) > time.Second {
				want = want.Add(-time.Second)
			}
			for i := range 2 {
				done := make(chan *httptest.ResponseRecorder, 1)
				go func() { done <- bearer(h, tok, liveURL(camGate)) }()
				time.Sleep(time.Until(want) - time.Nanosecond)
				synctest.Wait()
				if len(done) != 0 {
					t.Fatalf("call %d answered before the frame of %s", i, want)
				}
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				rec := <-done
				checkLive(t, rec, want, layout)
				want = want.Add(time.Second)
			}
			if st := s.Stats(); st.Count("liveImage", string(camGate)) != 2 || st.Total("liveImage") != 2 || st.Status["200"] != 2 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func checkLive(t *testing.T, rec *httptest.ResponseRecorder, want time.Time, layout string) {
	t.Helper()
	wantCode(t, rec, http.StatusOK)
	h := rec.Header()
	got := h.Get("X-Een-Timestamp")
	if !isoMillis.MatchString(got) || (layout == "" && got[len(got)-6:] != "+00:00") || (layout == TimestampZ && got[len(got)-1:] != "Z") {
		t.Errorf("X-Een-Timestamp %q is not ISO 8601 with milliseconds in the form asked", got)
	}
	if at, err := time.Parse(time.RFC3339Nano, got); err != nil || !at.Equal(want) {
		t.Errorf("X-Een-Timestamp %q (%v), want %s", got, err, want)
	}
	if h.Get("X-Een-PrevToken") == "" || h.Get("Content-Type") != "image/jpeg" {
		t.Errorf("headers %v", h)
	}
	if _, err := jpeg.Decode(bytes.NewReader(rec.Body.Bytes())); err != nil {
		t.Errorf("body is no JPEG: %v", err)
	}
}

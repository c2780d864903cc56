package bench

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestBareSameStill: the bare floor sends back exactly the headers and
// body it was given, and sameStill tells when it no longer matches the
// replica.
func TestBareSameStill(t *testing.T) {
	body := []byte("\xff\xd8\xff not really a jpeg")
	h := http.Header{"Content-Type": {"image/jpeg"}, "Content-Length": {strconv.Itoa(len(body))}, "Etag": {`"abc"`},
		"Cache-Control": {"public, max-age=1"}, "X-Frame-Timestamp": {"20261124040506.250"}}
	replica := httptest.NewServer(bareHandler(body, h))
	defer replica.Close()
	same := httptest.NewServer(bareHandler(body, h))
	defer same.Close()
	addr := strings.TrimPrefix(same.URL, "http://")

	got, gotBody, err := getStill(t.Context(), addr, "/preview/1006073b.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(got, h, slices.Equal) || string(gotBody) != string(body) {
		t.Errorf("bare sent %v %q, want %v %q", got, gotBody, h, body)
	}
	if err := sameStill(t.Context(), strings.TrimPrefix(replica.URL, "http://"), addr, "/x.jpg"); err != nil {
		t.Error(err)
	}

	drifted := maps.Clone(h)
	drifted["Referrer-Policy"] = []string{"no-referrer"}
	other := httptest.NewServer(bareHandler(body, drifted))
	defer other.Close()
	if err := sameStill(t.Context(), strings.TrimPrefix(other.URL, "http://"), addr, "/x.jpg"); err == nil {
		t.Error("sameStill missed a header the replica sends and the floor does not")
	}
	flipped := slices.Clone(body)
	flipped[len(flipped)-1]++ // same length, so the headers still match
	otherBody := httptest.NewServer(bareHandler(flipped, h))
	defer otherBody.Close()
	if err := sameStill(t.Context(), strings.TrimPrefix(otherBody.URL, "http://"), addr, "/x.jpg"); err == nil {
		t.Error("sameStill missed another body")
	}
}

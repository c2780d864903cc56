package eenv3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
)

const cam = preview.ESN("1006073b")

// liveImage is asked with the Bearer token, for a preview JPEG of the
// camera; the image comes back with its time in the stored v1 form.
// Prev and Next both ask liveImage.
func TestLiveImage(t *testing.T) {
	s := set()
	api := newFakeAPI(t, []string{s.AccessToken}, nil)
	c := newClient(t, api.srv.URL, newTokens(s), nil)
	ctx := context.Background()
	for _, call := range []func(context.Context, preview.ESN, string) (preview.Image, error){
		func(ctx context.Context, esn preview.ESN, _ string) (preview.Image, error) {
			return c.LiveImage(ctx, esn)
		},
		c.Prev, c.Next,
	} {
		img, err := call(ctx, cam, "now")
		if err != nil || img.TS != "20261130130409.754" || !bytes.Equal(img.JPEG, jpeg) {
			t.Fatalf("image %s of %d bytes, err %v", img.TS, len(img.JPEG), err)
		}
	}
	for _, r := range api.requests() {
		if r.URL.Path != "/api/v3.0/media/liveImage.jpeg" || !esnQuery(r, cam) ||
			r.Header.Get("Authorization") != "Bearer "+s.AccessToken || r.Header.Get("Accept") != "image/jpeg" {
			t.Fatalf("request %s %v", r.URL, r.Header)
		}
	}
}

// A 401 makes the client report the token stale and try once more with
// the newer one; a second 401 is the answer, not a loop.
func TestLiveImageRejected(t *testing.T) {
	stale, fresh := set(), set()
	api := newFakeAPI(t, []string{fresh.AccessToken}, nil)
	tokens := newTokens(stale, fresh)
	c := newClient(t, api.srv.URL, tokens, nil)
	if _, err := c.LiveImage(context.Background(), cam); err != nil {
		t.Fatal(err)
	}
	if got := tokens.stale(); len(got) != 1 || got[0] != stale.AccessToken || len(api.requests()) != 2 {
		t.Fatalf("reported stale %d, requests %d; want 1 and 2", len(got), len(api.requests()))
	}

	api = newFakeAPI(t, nil, nil) // takes no token at all
	tokens = newTokens(set(), set())
	_, err := newClient(t, api.srv.URL, tokens, nil).LiveImage(context.Background(), cam)
	secrets.note(err)
	if een.StatusCode(err) != http.StatusUnauthorized || kind(err) != "fatal" || len(tokens.stale()) != 1 || len(api.requests()) != 2 {
		t.Fatalf("%v; stale %d, requests %d; want a 401 after 1 report and 2 requests", err, len(tokens.stale()), len(api.requests()))
	}
}

// When the token source cannot give a token, the call fails without
// asking EEN; a lost grant or a refused client reads as a refused login
// to the fetcher, so it reports it once for the process.
func TestTokenSourceFails(t *testing.T) {
	api := newFakeAPI(t, nil, nil)
	for _, c := range []struct {
		err     error
		refused bool
	}{
		{fmt.Errorf("grant: %w", eenv3.ErrSignInNeeded), true},
		{fmt.Errorf("grant: %w", eenv3.ErrClientRejected), true},
		{errors.New("redis: connection refused"), false},
	} {
		tokens := newTokens(set())
		tokens.fail(c.err)
		_, err := newClient(t, api.srv.URL, tokens, nil).LiveImage(context.Background(), cam)
		wantIs(t, err, c.err)
		if errors.Is(err, preview.ErrLoginRefused) != c.refused {
			t.Errorf("%v: matches ErrLoginRefused %v, want %v", err, !c.refused, c.refused)
		}
	}
	if n := len(api.requests()); n != 0 {
		t.Fatalf("%d requests without a token", n)
	}
}

// EEN's other answers become the errors the fetcher knows: 403 and 404
// are not retried soon, 429 and 5xx are, after Retry-After when given.
func TestLiveImageStatuses(t *testing.T) {
	for _, c := range []struct {
		code  int
		after string
		kind  string
		wait  time.Duration
	}{
		{403, "", "fatal", 0},
		{404, "", "fatal", 0},
		{400, "", "fatal", 0},
		{429, "3", "retry", 3 * time.Second},
		{500, "", "retry", 0},
		{502, "", "retry", 0},
		{503, "1", "retry", time.Second},
		{504, "", "retry", 0},
	} {
		s := set()
		api := newFakeAPI(t, []string{s.AccessToken}, map[string]http.HandlerFunc{
			"GET /api/v3.0/media/liveImage.jpeg": func(w http.ResponseWriter, r *http.Request) {
				if c.after != "" {
					w.Header().Set("Retry-After", c.after)
				}
				w.WriteHeader(c.code)
			},
		})
		_, err := newClient(t, api.srv.URL, newTokens(s), nil).LiveImage(context.Background(), cam)
		secrets.note(err)
		var se *een.StatusError
		if !errors.As(err, &se) || se.Code != c.code || kind(err) != c.kind || se.RetryAfter() != c.wait || len(api.requests()) != 1 {
			t.Errorf("%d: %v (kind %s), want a StatusError %s after %s, once", c.code, err, kind(err), c.kind, c.wait)
		}
	}
}

// A 200 that is not a usable image is an error of its own: not a JPEG,
// too large (announced or not), no or a bad timestamp.
func TestLiveImageBadAnswers(t *testing.T) {
	big := append(bytes.Clone(jpeg), bytes.Repeat([]byte{0}, 2000)...)
	for _, c := range []struct {
		name   string
		body   []byte
		ts     string
		length bool // send Content-Length
		want   error
	}{
		{"html", []byte("<html>busy</html>"), "2026-11-30T13:04:09Z", true, preview.ErrNotJPEG},
		{"too large, announced", big, "2026-11-30T13:04:09Z", true, preview.ErrTooLarge},
		{"too large, chunked", big, "2026-11-30T13:04:09Z", false, preview.ErrTooLarge},
		{"no timestamp", jpeg, "", true, preview.ErrBadTimestamp},
		{"v1 timestamp", jpeg, "preview-20181001000000.045", true, preview.ErrBadTimestamp},
		{"no zone", jpeg, "2026-11-30T13:04:09.754", true, preview.ErrBadTimestamp},
	} {
		s := set()
		api := newFakeAPI(t, []string{s.AccessToken}, map[string]http.HandlerFunc{
			"GET /api/v3.0/media/liveImage.jpeg": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Een-Timestamp", c.ts)
				if c.length {
					w.Header().Set("Content-Length", fmt.Sprint(len(c.body)))
				}
				for i := 0; i < len(c.body); i += 500 { // several writes: chunked when no length
					w.Write(c.body[i:min(i+500, len(c.body))])
					http.NewResponseController(w).Flush()
				}
			},
		})
		_, err := newClient(t, api.srv.URL, newTokens(s), func(c *eenv3.Config) { c.MaxImageBytes = 1024 }).LiveImage(context.Background(), cam)
		wantIs(t, err, c.want)
		if !strings.Contains(err.Error(), "liveImage 1006073b") {
			t.Errorf("%s: %q does not name the call and camera", c.name, err)
		}
	}
}

// A liveImage call that waits past the poll timeout is ErrPollTimeout
// ("ask again"); the caller's own context ending is not.
func TestLiveImagePollTimeout(t *testing.T) {
	s := set()
	api := newFakeAPI(t, []string{s.AccessToken}, map[string]http.HandlerFunc{
		"GET /api/v3.0/media/liveImage.jpeg": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	})
	c := newClient(t, api.srv.URL, newTokens(s), func(c *eenv3.Config) { c.PollTimeout = 100 * time.Millisecond })
	_, err := c.Next(context.Background(), cam, "now")
	wantIs(t, err, preview.ErrPollTimeout)
	if err != eenv3.ErrPollTimeout {
		t.Fatalf("%q, want %q alone: it is not a fault", err, eenv3.ErrPollTimeout)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = newClient(t, api.srv.URL, newTokens(s), nil).Next(ctx, cam, "now")
	wantIs(t, err, context.DeadlineExceeded)
	wantNot(t, err, preview.ErrPollTimeout)
}

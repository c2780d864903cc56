package een_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/preview"
)

func TestPrevNextAsset(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client(t, nil)
	ctx := t.Context()
	latest := mustImage(t)(c.Prev(ctx, camGate, "now"))
	if at := latest.TS.Time(); at.After(t0) || !at.After(t0.Add(-time.Second)) {
		t.Fatalf("prev now = %s, want the frame in the second before %s", latest.TS, t0)
	}
	older := mustImage(t)(c.Prev(ctx, camGate, latest.TS.String()))
	if want := preview.FormatTimestamp(latest.TS.Time().Add(-time.Second)); older.TS != want {
		t.Errorf("prev %s = %s, want %s", latest.TS, older.TS, want)
	}
	next := mustImage(t)(c.Next(ctx, camGate, older.TS.String())) // exists: no wait
	same := mustImage(t)(c.Asset(ctx, camGate, latest.TS.String()))
	if next.TS != latest.TS || same.TS != latest.TS || string(same.JPEG) != string(latest.JPEG) {
		t.Errorf("next %s and asset %s, want both %s and the same bytes", next.TS, same.TS, latest.TS)
	}
	after := mustImage(t)(c.After(ctx, camGate, older.TS.String()))
	if after.TS != latest.TS {
		t.Errorf("after %s = %s, want %s", older.TS, after.TS, latest.TS)
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client(t, nil)
	ctx := t.Context()
	latest := mustImage(t)(c.Prev(ctx, camGate, "now"))
	notAFrame := preview.FormatTimestamp(latest.TS.Time().Add(time.Millisecond)).String()
	for _, tc := range []struct {
		name string
		call func() (preview.Image, error)
		op   string
		code int
	}{
		{"denied camera", func() (preview.Image, error) { return c.Prev(ctx, camDeny, "now") }, "prev", http.StatusForbidden},
		{"unknown camera", func() (preview.Image, error) { return c.Prev(ctx, "deadbeef", "now") }, "prev", http.StatusForbidden},
		{"asset between frames", func() (preview.Image, error) { return c.Asset(ctx, camGate, notAFrame) }, "asset", http.StatusNotFound},
		{"after now", func() (preview.Image, error) { return c.After(ctx, camGate, "now") }, "after", http.StatusNotFound},
		{"malformed id", func() (preview.Image, error) { return c.Prev(ctx, "cam-1", "now") }, "prev", http.StatusBadRequest},
		{"malformed timestamp", func() (preview.Image, error) { return c.Asset(ctx, camGate, "yesterday") }, "asset", http.StatusBadRequest},
	} {
		_, err := tc.call()
		if se := wantStatus(t, err, tc.op, tc.code); se.Retryable() || se.RetryAfter() != 0 {
			t.Errorf("%s: %v is retryable", tc.name, err)
		}
	}
	if c.Logins() != 1 {
		t.Errorf("%d logins: only a 401 may cause one", c.Logins())
	}
}

func TestRetryableStatuses(t *testing.T) {
	for _, tc := range []struct {
		faults eensim.Faults
		code   int
		wait   time.Duration
	}{
		{eensim.Faults{RateLimited: 1, RetryAfter: 2 * time.Second}, http.StatusTooManyRequests, 2 * time.Second},
		{eensim.Faults{Unavailable: 1}, http.StatusServiceUnavailable, 0},
	} {
		e := newEnv(t, func(cfg *eensim.Config) { cfg.Faults = tc.faults }, nil)
		c := e.client(t, nil)
		_, err := c.Next(t.Context(), camGate, "now")
		se := wantStatus(t, err, "next", tc.code)
		if !se.Retryable() || se.RetryAfter() != tc.wait {
			t.Errorf("%v: retryable %v, RetryAfter %s; want true, %s", err, se.Retryable(), se.RetryAfter(), tc.wait)
		}
	}
}

func TestRedirectKeepsTheSession(t *testing.T) {
	e := newEnv(t, func(cfg *eensim.Config) { cfg.Faults.Redirect = 1 }, nil)
	c := e.client(t, nil)
	mustImage(t)(c.Prev(t.Context(), camGate, "now"))
	st := e.sim.Stats()
	if st.Status["301"] != 1 || st.Status["200"] != 1 || st.Count("prev", string(camGate)) != 2 || c.Logins() != 1 {
		t.Errorf("status %v, %d prev calls, %d logins; want one 301 then one 200 on one login", st.Status, st.Count("prev", string(camGate)), c.Logins())
	}
}

func TestRedirectsStayOnTheHost(t *testing.T) {
	for name, loc := range map[string]string{
		"another host": "http://archiver.example.net/asset/prev/image.jpeg",
		"another port": "http://127.0.0.1:1/asset/prev/image.jpeg",
		"a loop":       "/asset/prev/image.jpeg?again=1",
	} {
		f := newFake(t, fakeAnswers{image: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, loc, http.StatusMovedPermanently)
		}})
		c, _ := een.New(een.Config{BaseURL: f.srv.URL, Username: user, Password: password})
		_, err := c.Prev(t.Context(), camGate, "now")
		if se := wantStatus(t, err, "prev", http.StatusMovedPermanently); se.Retryable() {
			t.Errorf("%s: a refused redirect is retryable", name)
		}
	}
}

func TestTooLarge(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client(t, func(cfg *een.Config) { cfg.MaxImageBytes = 1000 })
	_, err := c.Prev(t.Context(), camGate, "now")
	wantIs(t, err, een.ErrTooLarge)

	// Without a Content-Length the cap holds while reading.
	f := newFake(t, fakeAnswers{image: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ee-timestamp", "preview-20250304050607.000")
		w.Write([]byte{0xFF, 0xD8, 0xFF})
		w.(http.Flusher).Flush() // chunked: no Content-Length
		w.Write(make([]byte, 5000))
	}})
	c, _ = een.New(een.Config{BaseURL: f.srv.URL, Username: user, Password: password, MaxImageBytes: 1000})
	_, err = c.Prev(t.Context(), camGate, "now")
	wantIs(t, err, een.ErrTooLarge)
}

func TestBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, ts, body string
		want           error
	}{
		{"not a JPEG", "preview-20250304050607.000", "hello, this is text", preview.ErrNotJPEG},
		{"empty body", "preview-20250304050607.000", "", preview.ErrNotJPEG},
		{"no timestamp", "", "\xFF\xD8\xFF\xE0", preview.ErrBadTimestamp},
		{"bad timestamp", "preview-2025-03-04T05:06:07Z", "\xFF\xD8\xFF\xE0", preview.ErrBadTimestamp},
		{"unknown timestamp", "unknown", "\xFF\xD8\xFF\xE0", preview.ErrBadTimestamp},
	} {
		f := newFake(t, fakeAnswers{image: func(w http.ResponseWriter, r *http.Request) {
			if tc.ts != "" {
				w.Header().Set("x-ee-timestamp", tc.ts)
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(tc.body))
		}})
		c, _ := een.New(een.Config{BaseURL: f.srv.URL, Username: user, Password: password})
		_, err := c.Prev(t.Context(), camGate, "now")
		wantIs(t, err, tc.want)
		if een.StatusCode(err) != 0 {
			t.Errorf("%s: %v has a status", tc.name, err)
		}
	}
	// Any type word before the last '-' is accepted.
	f := newFake(t, fakeAnswers{image: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ee-timestamp", "thumb-20250304050607.000")
		w.Write([]byte("\xFF\xD8\xFF\xE0"))
	}})
	c, _ := een.New(een.Config{BaseURL: f.srv.URL, Username: user, Password: password})
	if img := mustImage(t)(c.Prev(t.Context(), camGate, "now")); img.TS != "20250304050607.000" {
		t.Errorf("TS = %q", img.TS)
	}
}

func TestStatusErrorText(t *testing.T) {
	for code, want := range map[int]string{
		402: "account suspended", 412: "disabled or locked", 460: "account inactive", 461: "account pending",
		462: "user pending", 301: "moved", 503: "Service Unavailable",
	} {
		err := &een.StatusError{Op: "authenticate", Code: code}
		secrets.note(err)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%d: %q does not say %q", code, err, want)
		}
	}
}

package eensim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// TestNextBlocksUntilTheNextFrame runs the simulator in a synctest bubble,
// where its clock and timers are fake: next must answer exactly when the
// next frame's time comes, not a nanosecond earlier or later.
func TestNextBlocksUntilTheNextFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   func(newest time.Time) string
	}{
		{"newest frame", func(newest time.Time) string { return stamp(newest) }},
		{"now", func(time.Time) string { return "now" }},
		{"ahead of the newest frame", func(newest time.Time) string { return stamp(newest.Add(500 * time.Millisecond)) }},
		{"far in the future", func(newest time.Time) string { return stamp(newest.Add(24 * time.Hour)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newSim(t, nil).Handler()
				key := login(t, h)
				time.Sleep(300 * time.Millisecond) // moves the bubble's fake clock only
				newest := frameTS(t, get(h, key, imageURL("prev", camGate, "now")), "x-ee-timestamp")
				want := newest.Add(time.Second)

				done := make(chan *httptest.ResponseRecorder, 1)
				go func() { done <- get(h, key, imageURL("next", camGate, tc.ts(newest))) }()
				time.Sleep(time.Until(want) - time.Nanosecond)
				synctest.Wait()
				select {
				case <-done:
					t.Fatalf("next answered at %s, before the next frame at %s", time.Now(), want)
				default:
				}
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				select {
				case rec := <-done:
					wantCode(t, rec, http.StatusOK)
					if got := frameTS(t, rec, "x-ee-timestamp"); !got.Equal(want) {
						t.Errorf("next = frame %s, want %s", got, want)
					}
					if got := frameTS(t, rec, "x-ee-prev"); !got.Equal(newest) {
						t.Errorf("x-ee-prev = %s, want %s", got, newest)
					}
				default:
					t.Fatalf("next still blocked at %s, when the frame of %s exists", time.Now(), want)
				}
			})
		})
	}
}

// TestNextWithAnOldTimestampAnswersAtOnce checks that next does not block
// when the frame asked for already exists: no fake time passes.
func TestNextWithAnOldTimestampAnswersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSim(t, nil).Handler()
		key := login(t, h)
		newest := frameTS(t, get(h, key, imageURL("prev", camGate, "now")), "x-ee-timestamp")
		for _, back := range []time.Duration{time.Second, 5 * time.Second, 30 * time.Minute} {
			start := time.Now()
			rec := get(h, key, imageURL("next", camGate, stamp(newest.Add(-back))))
			wantCode(t, rec, http.StatusOK)
			if got := frameTS(t, rec, "x-ee-timestamp"); !got.Equal(newest.Add(-back + time.Second)) {
				t.Errorf("next %s before the newest = %s", back, got)
			}
			if waited := time.Since(start); waited != 0 {
				t.Errorf("next of an existing frame waited %s", waited)
			}
		}
		// Older than the history: the oldest frame kept, at once.
		rec := get(h, key, imageURL("next", camGate, stamp(newest.Add(-2*time.Hour))))
		wantCode(t, rec, http.StatusOK)
		if got := frameTS(t, rec, "x-ee-timestamp"); got.Before(time.Now().Add(-history)) {
			t.Errorf("next of an instant beyond the history = %s", got)
		}
	})
}

// TestNextOverTheNetwork checks the same on the real clock through a real
// server: each answer comes no earlier than its frame time and within the
// interval plus some slack for a loaded machine.
func TestNextOverTheNetwork(t *testing.T) {
	s := newSim(t, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	key := login(t, s.Handler())
	hc := srv.Client()
	fetch := func(op, ts string) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+imageURL(op, camFast, ts), nil)
		req.AddCookie(&http.Cookie{Name: "auth_key", Value: key})
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := fetch("prev", "now")
	if err != nil {
		t.Fatal(err)
	}
	last := headerTime(t, resp)
	const interval, slack = 250 * time.Millisecond, 2 * time.Second
	for range 4 {
		start := time.Now()
		want := last.Add(interval)
		resp, err := fetch("next", stamp(last))
		if err != nil {
			t.Fatal(err)
		}
		got, end := headerTime(t, resp), time.Now()
		if !got.Equal(want) {
			t.Fatalf("next %s = %s, want %s", last, got, want)
		}
		if end.Before(want) {
			t.Fatalf("next answered at %s, before its frame time %s", end, want)
		}
		if limit := want.Sub(start) + slack; end.Sub(start) > limit {
			t.Fatalf("next took %s, want at most %s", end.Sub(start), limit)
		}
		last = got
	}
}

func headerTime(t *testing.T, resp *http.Response) time.Time {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	return headerTS(t, resp.Header, "x-ee-timestamp")
}

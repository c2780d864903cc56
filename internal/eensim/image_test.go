package eensim

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestPrevNowIsTheLatestFrame(t *testing.T) {
	s, clk := newClockSim(t, nil)
	h := s.Handler()
	key := login(t, h)
	now := clk.Now()
	rec := get(h, key, imageURL("prev", camGate, "now"))
	wantCode(t, rec, http.StatusOK)
	at := frameTS(t, rec, "x-ee-timestamp")
	if at.After(now) || !at.After(now.Add(-time.Second)) {
		t.Fatalf("prev now = %s, want the frame in (%s, %s]", at, now.Add(-time.Second), now)
	}
	if got := frameTS(t, rec, "x-ee-prev"); !got.Equal(at.Add(-time.Second)) {
		t.Errorf("x-ee-prev = %s, want %s", got, at.Add(-time.Second))
	}
	if got := rec.Header().Get("x-ee-next"); got != "unknown" {
		t.Errorf("x-ee-next of the newest frame = %q, want unknown", got)
	}
	if ct, cl := rec.Header().Get("Content-Type"), rec.Header().Get("Content-Length"); ct != "image/jpeg" || cl != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("Content-Type %q, Content-Length %q for %d bytes", ct, cl, rec.Body.Len())
	}

	// Once time moves on, the same frame has a known successor.
	clk.Advance(time.Second)
	rec = get(h, key, imageURL("asset", camGate, stamp(at)))
	wantCode(t, rec, http.StatusOK)
	if got := frameTS(t, rec, "x-ee-next"); !got.Equal(at.Add(time.Second)) {
		t.Errorf("x-ee-next = %s, want %s", got, at.Add(time.Second))
	}
	// A frame time is itself: prev with it is strictly before it.
	rec = get(h, key, imageURL("prev", camGate, stamp(at)))
	if got := frameTS(t, rec, "x-ee-timestamp"); !got.Equal(at.Add(-time.Second)) {
		t.Errorf("prev %s = %s, want the frame before", at, got)
	}
	rec = get(h, key, imageURL("prev", camGate, stamp(at.Add(time.Millisecond))))
	if got := frameTS(t, rec, "x-ee-timestamp"); !got.Equal(at) {
		t.Errorf("prev %s+1ms = %s, want %s", at, got, at)
	}
	// A timestamp in the future cannot reach a frame that does not exist.
	rec = get(h, key, imageURL("prev", camGate, stamp(now.Add(time.Hour))))
	if got := frameTS(t, rec, "x-ee-timestamp"); !got.Equal(at.Add(time.Second)) {
		t.Errorf("prev in the future = %s, want the latest frame %s", got, at.Add(time.Second))
	}
}

func TestAssetAndAfter(t *testing.T) {
	s, clk := newClockSim(t, nil)
	h := s.Handler()
	key := login(t, h)
	now := clk.Now()
	latest := frameTS(t, get(h, key, imageURL("prev", camGate, "now")), "x-ee-timestamp")
	for _, tc := range []struct {
		op, ts string
		code   int
		want   time.Time
	}{
		{"asset", stamp(latest), 200, latest},
		{"asset", stamp(latest.Add(-5 * time.Second)), 200, latest.Add(-5 * time.Second)},
		{"asset", stamp(latest.Add(time.Millisecond)), 404, time.Time{}},
		{"asset", stamp(latest.Add(time.Second)), 404, time.Time{}}, // not yet
		{"asset", stamp(now.Add(-2 * time.Hour)), 404, time.Time{}}, // beyond history
		{"asset", "now", 404, time.Time{}},                          // no frame is exactly now
		{"after", stamp(latest.Add(-3 * time.Second)), 200, latest.Add(-2 * time.Second)},
		{"after", stamp(latest.Add(-time.Second - time.Millisecond)), 200, latest.Add(-time.Second)},
		{"after", stamp(latest), 404, time.Time{}},
		{"after", "now", 404, time.Time{}},
		{"after", "2025-03-04", 400, time.Time{}},
		{"prev", "yesterday", 400, time.Time{}},
		{"prev", stamp(now.Add(-2 * time.Hour)), 404, time.Time{}},
	} {
		rec := get(h, key, imageURL(tc.op, camGate, tc.ts))
		if rec.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.op, tc.ts, rec.Code, tc.code)
			continue
		}
		if tc.code == 200 && !frameTS(t, rec, "x-ee-timestamp").Equal(tc.want) {
			t.Errorf("%s %s: frame %s, want %s", tc.op, tc.ts, frameTS(t, rec, "x-ee-timestamp"), tc.want)
		}
	}
	// after an instant older than the history: the oldest frame there is.
	rec := get(h, key, imageURL("after", camGate, stamp(now.Add(-2*time.Hour))))
	wantCode(t, rec, http.StatusOK)
	if got, oldest := frameTS(t, rec, "x-ee-timestamp"), now.Add(-history); got.Before(oldest) || got.After(oldest.Add(time.Second)) {
		t.Errorf("after an old instant = %s, want the first frame after %s", got, oldest)
	}
}

func TestRequestErrors(t *testing.T) {
	h := newSim(t, nil).Handler()
	key := login(t, h)
	wantCode(t, get(h, key, imageURL("prev", "xyz", "now")), http.StatusBadRequest)
	wantCode(t, get(h, key, imageURL("prev", "1006073g", "now")), http.StatusBadRequest)
	wantCode(t, get(h, key, imageURL("prev", camDeny, "now")), http.StatusForbidden)
	wantCode(t, get(h, key, imageURL("prev", "deadbeef", "now")), http.StatusForbidden)
	wantCode(t, get(h, key, imageURL("bogus", camGate, "now")), http.StatusNotFound)
	wantCode(t, get(h, key, "/asset/list/image?id="+string(camDeny)+"&start_timestamp=20250304050000.000&count=1"), http.StatusForbidden)
}

func TestList(t *testing.T) {
	s, clk := newClockSim(t, nil)
	h := s.Handler()
	key := login(t, h)
	latest := frameTS(t, get(h, key, imageURL("prev", camGate, "now")), "x-ee-timestamp")
	list := func(query string) []time.Time {
		t.Helper()
		rec := get(h, key, "/asset/list/image?id="+string(camGate)+"&asset_class=pre&"+query)
		wantCode(t, rec, http.StatusOK)
		var entries []struct{ T, S string }
		if err := json.NewDecoder(rec.Body).Decode(&entries); err != nil {
			t.Fatal(err)
		}
		var out []time.Time
		for _, e := range entries {
			if e.T != "PRFR" {
				t.Errorf("entry type %q, want PRFR", e.T)
			}
			ts, err := time.Parse("20060102150405.000", e.S)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ts)
		}
		return out
	}
	frames := func(from time.Time, n int) []time.Time {
		var out []time.Time
		for i := range n {
			out = append(out, from.Add(time.Duration(i)*time.Second))
		}
		return out
	}
	start := latest.Add(-10 * time.Second)
	for _, tc := range []struct {
		query string
		want  []time.Time
	}{
		{"start_timestamp=" + stamp(start) + "&count=5", frames(start, 5)},
		{"start_timestamp=" + stamp(start) + "&count=-3", frames(start.Add(-3*time.Second), 3)},
		{"start_timestamp=" + stamp(start.Add(-time.Millisecond)) + "&end_timestamp=" + stamp(start.Add(2*time.Second)), frames(start, 3)},
		{"start_timestamp=" + stamp(latest.Add(-time.Second)) + "&count=5", frames(latest.Add(-time.Second), 2)}, // stops at now
		{"start_timestamp=" + stamp(clk.Now().Add(time.Minute)) + "&count=5", nil},
	} {
		got := list(tc.query)
		if !equalTimes(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.query, got, tc.want)
		}
	}
	for _, q := range []string{"count=5", "start_timestamp=" + stamp(start), "start_timestamp=" + stamp(start) + "&count=0",
		"start_timestamp=" + stamp(start) + "&count=1001", "start_timestamp=" + stamp(start) + "&end_timestamp=soon"} {
		wantCode(t, get(h, key, "/asset/list/image?id="+string(camGate)+"&"+q), http.StatusBadRequest)
	}
	wantCode(t, get(h, "", "/asset/list/image?id="+string(camGate)+"&count=1"), http.StatusUnauthorized)
}

func equalTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func TestFramesAreRealJPEGs(t *testing.T) {
	s, clk := newClockSim(t, nil)
	h := s.Handler()
	key := login(t, h)
	var prev []byte
	for range 3 {
		rec := get(h, key, imageURL("prev", camFast, "now"))
		wantCode(t, rec, http.StatusOK)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(rec.Body.Bytes()))
		if err != nil || cfg.Width != 640 || cfg.Height != 360 {
			t.Fatalf("DecodeConfig: %v %dx%d, want 640x360", err, cfg.Width, cfg.Height)
		}
		img, err := jpeg.Decode(bytes.NewReader(rec.Body.Bytes()))
		if err != nil || img.Bounds() != image.Rect(0, 0, 640, 360) {
			t.Fatalf("Decode: %v %v", err, img)
		}
		if bytes.Equal(prev, rec.Body.Bytes()) {
			t.Error("two frames 250ms apart are the same image")
		}
		prev = rec.Body.Bytes()
		clk.Advance(250 * time.Millisecond)
	}
}

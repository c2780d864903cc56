package fetcher

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

func TestStalledRule(t *testing.T) {
	const ttl = 15 * time.Second
	now := time.Unix(1_700_000_000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	led := func(since, stored time.Duration) *CameraState {
		s := &CameraState{Leading: true, LeadingSince: ago(since)}
		if stored >= 0 {
			s.StoredAt = ago(stored)
		}
		return s
	}
	never := time.Duration(-1)
	for _, c := range []struct {
		name   string
		states []*CameraState
		since  time.Time
		want   string // "" for not stalled
	}{
		{"leads nothing", []*CameraState{{}, {StoredAt: ago(time.Hour)}}, time.Time{}, ""},
		{"within the grace of a new lead", []*CameraState{led(10*time.Second, never)}, time.Time{}, ""},
		{"grace over, nothing stored", []*CameraState{led(20*time.Second, never)}, time.Time{},
			"no frame stored for 20s by the 1 camera this fetcher leads"},
		{"one of three stores", []*CameraState{led(time.Hour, time.Minute), led(time.Hour, 2*time.Second), led(time.Hour, never)}, time.Time{}, ""},
		{"none of three stored lately", []*CameraState{led(time.Hour, time.Minute), led(time.Hour, 16*time.Second), led(time.Hour, never), {}},
			time.Time{}, "no frame stored for 16s by the 3 cameras this fetcher leads"},
		{"the login just came back", []*CameraState{led(time.Hour, never)}, ago(5 * time.Second), ""},
		{"a camera not led does not count", []*CameraState{led(time.Hour, time.Minute), {StoredAt: ago(time.Second)}}, time.Time{},
			"no frame stored for 1m0s by the 1 camera this fetcher leads"},
	} {
		states := map[preview.ESN]*CameraState{}
		for i, s := range c.states {
			states[preview.ESN(strings.Repeat(string(rune('a'+i)), 8))] = s
		}
		got := ""
		if err := stalled(states, now, c.since, ttl); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A refused login is no camera's news: the cameras neither warn about it
// (the process says it once) nor retry before the login gate's wait.
func TestRefusedLoginIsNotWarnedPerCamera(t *testing.T) {
	src := &fakeSource{fail: &upstreamError{code: 401, wait: 100 * time.Millisecond, refused: true}}
	src.called.Init()
	var logs bytes.Buffer
	f := New(Config{ID: "t", Cameras: []preview.Camera{{ESN: camA}, {ESN: "10060a2c"}}, LockTTL: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, src, &fakeSink{}, &fakeLocker{})
	stop := run(t, f)
	start := time.Now()
	src.called.WaitUntil(t, "three calls per camera", func() bool { return src.calls.Load() >= 6 })
	elapsed := time.Since(start)
	stop()
	if elapsed < 200*time.Millisecond {
		t.Errorf("three calls per camera within %s: the gate's 100ms Retry-After was not honoured", elapsed)
	}
	if out := logs.String(); strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
		t.Errorf("a refused login was logged per camera:\n%s", out)
	}
	if f.State()[camA].Errors == 0 || f.State()[camA].LastError == "" {
		t.Error("the refusal is not in the camera's status")
	}
}

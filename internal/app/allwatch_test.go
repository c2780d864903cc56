package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/inproc"
)

// The all-in-one with FETCH=watched and its simulated cameras: a pinned
// camera (";always") is followed at once, the other sleeps until a still
// image of it is asked for, which waits for its first frame (200, not
// 503): the web part marks interest in the embedded Redis.
func TestAllInOneWatched(t *testing.T) {
	p := inproc.Run(t, "camrelay", app.RunAll, map[string]string{
		"LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
		"FETCH": "watched", "WATCH_TTL": "2s", "CAMERAS": "1006073b=Gate;always,10060a2c=Slope",
	}, "web", "admin")
	states := func() map[preview.ESN]fetcher.CameraState {
		var st map[preview.ESN]fetcher.CameraState
		_, b := body(t, p.URL("admin")+"/status")
		json.Unmarshal([]byte(b), &st)
		return st
	}
	testbed.WaitFor(t, 10*time.Second, "the pinned camera served", func() bool {
		code, _ := body(t, p.URL("web")+"/preview/1006073b.jpg")
		return code == 200
	})
	if st := states(); st["1006073b"].State != fetcher.StatePinned || st["10060a2c"].State != fetcher.StateAsleep {
		t.Fatalf("states %+v: want the ;always camera pinned, the other asleep", st)
	}
	start := time.Now()
	if code, b := body(t, p.URL("web")+"/preview/10060a2c.jpg"); code != 200 {
		t.Fatalf("still of a sleeping camera: %d %.100s, want 200 after its wake-up", code, b)
	}
	t.Logf("still of a sleeping camera: 200 after %s", time.Since(start).Round(time.Millisecond))
	if st := states()["10060a2c"]; st.State != fetcher.StateWatched || !st.Leading {
		t.Errorf("after a still: %+v, want watched and led", st)
	}
}

// FETCH and WATCH_TTL are checked with simulated cameras too.
func TestAllInOneSettingsFetchMode(t *testing.T) {
	for k, v := range map[string]string{"FETCH": "sometimes", "WATCH_TTL": "500ms"} {
		var out testbed.SyncBuffer
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // a program that accepted it runs until then
		defer cancel()
		err := app.RunAll(ctx, app.Env{Getenv: func(name string) string {
			return map[string]string{k: v, "LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0"}[name]
		}, Stdout: &out, Stderr: &out})
		if err == nil || !strings.Contains(err.Error(), k+":") {
			t.Errorf("%s=%s: %v, want a line naming %s", k, v, err, k)
		}
	}
}

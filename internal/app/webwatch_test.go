package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// WATCH_TTL and COLD_WAIT on the web replica: defaults, 0 turning the
// cold wait off, and one clear line for each bad value.
func TestWebSettingsWatch(t *testing.T) {
	parse := func(vars map[string]string) (webConfig, error) {
		return parseWebConfig(Env{Getenv: envOf(vars), Stderr: &bytes.Buffer{}})
	}
	c, err := parse(nil)
	if rc := c.replicaConfig(time.Second, nil); err != nil || rc.WatchTTL != 30*time.Second || rc.ColdWait != 3*time.Second {
		t.Errorf("defaults: WATCH_TTL %s, COLD_WAIT %s, %v; want 30s, 3s", rc.WatchTTL, rc.ColdWait, err)
	}
	c, err = parse(map[string]string{"WATCH_TTL": "1m", "COLD_WAIT": "0"})
	if rc := c.replicaConfig(time.Second, nil); err != nil || rc.WatchTTL != time.Minute || rc.ColdWait >= 0 {
		t.Errorf("WATCH_TTL=1m COLD_WAIT=0: %s, %s, %v; want 1m and no wait (negative)", rc.WatchTTL, rc.ColdWait, err)
	}
	for _, tc := range []struct{ k, v, want string }{
		{"WATCH_TTL", "500ms", "WATCH_TTL: 500ms is too short (at least 1s)"},
		{"WATCH_TTL", "soon", `WATCH_TTL: "soon" is not a positive duration`},
		{"COLD_WAIT", "-1s", `COLD_WAIT: "-1s" is not a duration from 0 to 30s`},
		{"COLD_WAIT", "2m", `COLD_WAIT: "2m" is not a duration from 0 to 30s`},
		{"COLD_WAIT", "3", `COLD_WAIT: "3" is not a duration from 0 to 30s`},
	} {
		if _, err := parse(map[string]string{tc.k: tc.v}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: %v, want %q", tc.k, tc.v, err, tc.want)
		}
	}
	if _, err := parseAllConfig(Env{Getenv: envOf(map[string]string{"WATCH_TTL": "1m", "COLD_WAIT": "1s"}), Stderr: &bytes.Buffer{}}); err != nil {
		t.Errorf("the all-in-one with WATCH_TTL and COLD_WAIT: %v", err)
	}
}

package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// FETCH and WATCH_TTL: defaults (today's behaviour), the watched mode, and
// a clear line for each bad value.
func TestFetcherSettingsFetchMode(t *testing.T) {
	base := map[string]string{"EEN_USERNAME": "u", "EEN_PASSWORD": "p", "CAMERAS": "1006073b"}
	with := func(k, v string) Env {
		vars := map[string]string{k: v}
		for k, v := range base {
			vars[k] = v
		}
		return Env{Getenv: envOf(vars), Stderr: &bytes.Buffer{}}
	}
	c, err := parseFetcherConfig(with("LOG_LEVEL", "info"))
	if err != nil || c.Fetch != "always" || c.WatchTTL != 30*time.Second {
		t.Errorf("defaults: FETCH %q, WATCH_TTL %s, %v; want always, 30s", c.Fetch, c.WatchTTL, err)
	}
	if c, err := parseFetcherConfig(with("FETCH", "watched")); err != nil || c.Fetch != "watched" {
		t.Errorf("FETCH=watched: %q, %v", c.Fetch, err)
	}
	for k, want := range map[string]string{
		"FETCH":     `FETCH: "sometimes" is neither always nor watched`,
		"WATCH_TTL": "WATCH_TTL: 500ms is too short (at least 1s)",
	} {
		v := map[string]string{"FETCH": "sometimes", "WATCH_TTL": "500ms"}[k]
		if _, err := parseFetcherConfig(with(k, v)); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v, want %q", k, v, err, want)
		}
	}
}

package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// CACHE_MAX_AGE: default 0 (no-cache), a duration passed to the replica,
// one clear line for a negative, absurd or unitless value, on the web
// replica and the all-in-one alike.
func TestWebSettingsCacheMaxAge(t *testing.T) {
	env := func(vars map[string]string) Env { return Env{Getenv: envOf(vars), Stderr: &bytes.Buffer{}} }
	c, err := parseWebConfig(env(nil))
	if rc := c.replicaConfig(time.Second, nil); err != nil || rc.CacheMaxAge != 0 {
		t.Errorf("default: CACHE_MAX_AGE %s, %v; want 0", rc.CacheMaxAge, err)
	}
	c, err = parseWebConfig(env(map[string]string{"CACHE_MAX_AGE": "1s"}))
	if rc := c.replicaConfig(time.Second, nil); err != nil || rc.CacheMaxAge != time.Second {
		t.Errorf("CACHE_MAX_AGE=1s: %s, %v; want 1s", rc.CacheMaxAge, err)
	}
	for _, v := range []string{"-1s", "2h", "1", "soon"} {
		want := `CACHE_MAX_AGE: "` + v + `" is not a duration from 0 to 1h0m0s`
		if _, err := parseWebConfig(env(map[string]string{"CACHE_MAX_AGE": v})); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("CACHE_MAX_AGE=%s: %v, want %q", v, err, want)
		}
	}
	if _, err := parseAllConfig(env(map[string]string{"CACHE_MAX_AGE": "2s"})); err != nil {
		t.Errorf("the all-in-one with CACHE_MAX_AGE: %v", err)
	}
	if _, err := parseAllConfig(env(map[string]string{"CACHE_MAX_AGE": "-2s"})); !errors.Is(err, ErrUsage) {
		t.Errorf("the all-in-one with CACHE_MAX_AGE=-2s: %v, want a usage error", err)
	}
}

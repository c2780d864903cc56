package app

import (
	"bytes"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// TestSharedSettingsAlike: the fetcher, the web replica and the all-in-one
// read the shared settings into the same values, with the same defaults
// but for the all-in-one's REDIS_URL (empty: an embedded Redis).
func TestSharedSettingsAlike(t *testing.T) {
	parse := func(vars map[string]string) map[string]sharedConfig {
		env := Env{Getenv: envOf(vars), Stderr: &bytes.Buffer{}}
		f, ferr := parseFetcherConfig(env)
		w, werr := parseWebConfig(env)
		a, aerr := parseAllConfig(env)
		for _, err := range []error{ferr, werr, aerr} {
			if err != nil {
				t.Fatalf("settings %v: %v", vars, err)
			}
		}
		return map[string]sharedConfig{"fetcher": f.sharedConfig, "web": w.sharedConfig, "all-in-one": a.sharedConfig}
	}
	een := map[string]string{"EEN_USERNAME": "u@example.com", "EEN_PASSWORD": "pw", "CAMERAS": "1006073b"}
	set := map[string]string{"REDIS_URL": "redis://127.0.0.2:6380/1", "REDIS_CA_FILE": "/etc/ca.pem",
		"KEY_PREFIX": "t1:", "FRAME_TTL": "7s", "LOG_LEVEL": "debug"}
	for k, v := range een {
		set[k] = v
	}
	want := sharedConfig{RedisURL: "redis://127.0.0.2:6380/1", RedisCAFile: "/etc/ca.pem", KeyPrefix: "t1:",
		FrameTTL: 7 * time.Second, LogLevel: "debug"}
	for prog, got := range parse(set) {
		if got != want {
			t.Errorf("%s with every shared setting: %+v, want %+v", prog, got, want)
		}
	}
	def := sharedConfig{RedisURL: defaultRedisURL, KeyPrefix: preview.DefaultKeyPrefix, FrameTTL: preview.DefaultFrameTTL, LogLevel: "info"}
	for prog, got := range parse(een) {
		want := def
		if prog == "all-in-one" {
			want.RedisURL = ""
		}
		if got != want {
			t.Errorf("%s defaults: %+v, want %+v", prog, got, want)
		}
	}
}

package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestFetcherSettingsEachProblemOnOneLine(t *testing.T) {
	var out bytes.Buffer
	err := RunFetcher(context.Background(), Env{Getenv: envOf(map[string]string{
		"FRAME_TTL": "soon", "LOCK_TTL": "100ms", "CAMERAS": "1006073b,nothex",
	}), Stdout: &out, Stderr: &out})
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("err = %v, want ErrUsage", err)
	}
	msg := err.Error()
	for _, want := range []string{`FRAME_TTL: "soon" is not a positive duration`, `CAMERAS: "nothex": malformed camera id`, "EEN_USERNAME is required", "EEN_PASSWORD (or EEN_PASSWORD_FILE) is required", "LOCK_TTL: 100ms is too short"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestSecretFromFileNeverPrinted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(file, []byte("s3cret-pass\n"), 0o600)
	c, err := parseFetcherConfig(Env{Getenv: envOf(map[string]string{
		"EEN_USERNAME": "u@example.com", "EEN_PASSWORD_FILE": file, "CAMERAS": "1006073b",
	}), Stderr: &bytes.Buffer{}})
	if err != nil || c.EEN.Password != "s3cret-pass" {
		t.Fatalf("password from file: %q, %v", c.EEN.Password, err)
	}
	var help bytes.Buffer
	_, err = parseFetcherConfig(Env{Args: []string{"-h"}, Getenv: envOf(map[string]string{"EEN_PASSWORD": "s3cret-pass"}), Stderr: &help})
	if err == nil || strings.Contains(help.String(), "s3cret") || !strings.Contains(help.String(), "EEN_PASSWORD_FILE") {
		t.Errorf("-h output shows the secret or lacks EEN_PASSWORD_FILE:\n%s", help.String())
	}
}

func TestWebSettings(t *testing.T) {
	_, err := parseWebConfig(Env{Getenv: envOf(map[string]string{"MAX_STREAMS": "-3", "LOG_LEVEL": "loud"}), Stderr: &bytes.Buffer{}})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "MAX_STREAMS") {
		t.Errorf("err = %v", err)
	}
	err = RunWeb(context.Background(), Env{Getenv: envOf(map[string]string{"LOG_LEVEL": "loud"}), Stderr: &bytes.Buffer{}})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("err = %v", err)
	}
}

func TestAllInOneDefaultsToSimulatedCameras(t *testing.T) {
	c, err := parseAllConfig(Env{Getenv: envOf(nil), Stderr: &bytes.Buffer{}})
	if err != nil || len(c.simCams) != 4 || len(c.Cameras) != 4 || c.RedisURL != "" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = parseAllConfig(Env{Getenv: envOf(map[string]string{"EEN_USERNAME": "u"}), Stderr: &bytes.Buffer{}})
	if !errors.Is(err, ErrUsage) {
		t.Errorf("real EEN without password and cameras: %v", err)
	}
}

func TestRedisURLForms(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for raw, want := range map[string]string{
		"redis://127.0.0.1:6379/0":                                          "*redis.Client",
		"rediss://user:pw@127.0.0.1:6380/1":                                 "*redis.Client",
		"redis://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.2:26379": "*redis.Client",
		"redis://127.0.0.1:7000?addr=127.0.0.2:7000&addr=127.0.0.3:7000":    "*redis.ClusterClient",
	} {
		c, err := redisClient(raw, "", log)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if got := fmt.Sprintf("%T", c); got != want {
			t.Errorf("%s: %s, want %s", raw, got, want)
		}
		c.Close()
	}
	_, err := redisClient("mysql://u:hunter2@db/x", "", log)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad scheme: %v (must not show the password)", err)
	}
}

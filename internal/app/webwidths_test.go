package app

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// WIDTHS: default 160,320,640 passed to the replica; one clear line for
// a list with a non-number, a zero, negative or huge width, a duplicate
// or too many, on the web replica and the all-in-one alike.
func TestWebSettingsWidths(t *testing.T) {
	env := func(vars map[string]string) Env { return Env{Getenv: envOf(vars), Stderr: &bytes.Buffer{}} }
	for v, want := range map[string][]int{"": {160, 320, 640}, "320": {320}, " 200, 100 ": {200, 100}} {
		vars := map[string]string{"WIDTHS": v}
		if v == "" {
			vars = nil
		}
		c, err := parseWebConfig(env(vars))
		if rc := c.replicaConfig(time.Second, nil); err != nil || !slices.Equal(rc.Widths, want) {
			t.Errorf("WIDTHS=%q: %v, %v; want %v", v, rc.Widths, err, want)
		}
	}
	for v, want := range map[string]string{
		"abc":                           `WIDTHS: "abc" is not a width from 16 to 4096 pixels`,
		"0":                             `WIDTHS: "0" is not a width`,
		"-160":                          `WIDTHS: "-160" is not a width`,
		"320,99999":                     `WIDTHS: "99999" is not a width`,
		"320x":                          `WIDTHS: "320x" is not a width`,
		"160,,320":                      `WIDTHS: "" is not a width`,
		"320,320":                       "WIDTHS: 320 is listed twice",
		"16,32,48,64,80,96,112,128,144": "WIDTHS: 9 widths; at most 8",
	} {
		_, err := parseWebConfig(env(map[string]string{"WIDTHS": v}))
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "WIDTHS") != 1 {
			t.Errorf("WIDTHS=%s: %v, want one line %q", v, err, want)
		}
	}
	if _, err := parseAllConfig(env(map[string]string{"WIDTHS": "0"})); !errors.Is(err, ErrUsage) {
		t.Errorf("the all-in-one with WIDTHS=0: %v, want a usage error", err)
	}
}

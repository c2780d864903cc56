package main

import (
	"strings"
	"testing"
)

func TestUnknownScenario(t *testing.T) {
	var out, errs strings.Builder
	if code := run(t.Context(), []string{"-only", "image,nope"}, &out, &errs); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errs.String(), `no scenario "nope"`) || !strings.Contains(errs.String(), "failover") {
		t.Errorf("stderr %q does not name the bad scenario and the good ones", errs.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errs strings.Builder
	if code := run(t.Context(), []string{"-h"}, &out, &errs); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
	if !strings.Contains(errs.String(), "-smoke") {
		t.Errorf("usage %q lists no -smoke", errs.String())
	}
	if code := run(t.Context(), []string{"-runs", "x"}, &out, &errs); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	if code := run(t.Context(), []string{"-clients", "-1"}, &out, &errs); code != 2 {
		t.Errorf("-clients -1: exit %d, want 2", code)
	}
}

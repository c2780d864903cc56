package app

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
)

// An account's name fits CAMERAS' grammar and a page title once cleaned.
func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"Front door":                   "Front door",
		" Front, door;\tyard@home\x07": "Front door yard home",
		"line\nbreak\u0085end":         "line break end",
		",;@\x00":                      "",
		strings.Repeat("é", 150):       strings.Repeat("é", maxNameRunes),
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Names come only for cameras CAMERAS lists without a name; a camera the
// account lists but CAMERAS does not never becomes public; a camera the
// account does not name keeps its id.
func TestNamesNeverAddCameras(t *testing.T) {
	cams, err := preview.ParseCameras("1006073b,10060a2c=Gate,100b4f17")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if newNameSource(nil, cams[1:2], nil, log) != nil {
		t.Error("a name source for cameras all named")
	}
	n := newNameSource(nil, cams, nil, log)
	account := []eenv3.Camera{
		{ID: "1006073b", Name: "Kennel, north"},
		{ID: "10060a2c", Name: "Not the gate"},
		{ID: "1009c3de", Name: "Secret room"},
		{ID: "100b4f17", Name: " ,; "},
	}
	if !n.learn(account) || n.learn(account) {
		t.Error("learn: want a change the first time only")
	}
	got := n.apply(cams)
	want := []preview.Camera{{ESN: "1006073b", Name: "Kennel north"}, {ESN: "10060a2c", Name: "Gate"}, {ESN: "100b4f17", Name: "100b4f17"}}
	if !slices.Equal(got, want) {
		t.Errorf("apply = %v, want %v", got, want)
	}
	if cams[0].Name != "1006073b" {
		t.Error("apply changed CAMERAS itself")
	}
}

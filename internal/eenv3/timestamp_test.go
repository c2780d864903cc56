package eenv3_test

import (
	"errors"
	"testing"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
)

// X-Een-Timestamp in each ISO 8601 form EEN may send becomes the stored
// v1 form: UTC, milliseconds, cut rather than rounded.
func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]preview.Timestamp{
		"2026-11-30T13:04:09.754+00:00":     "20261130130409.754",
		"2026-11-30T13:04:09.754Z":          "20261130130409.754",
		"2026-11-30T13:04:09Z":              "20261130130409.000",
		"2026-11-30T13:04:09.7Z":            "20261130130409.700",
		"2026-11-30T13:04:09.754999999999Z": "20261130130409.754",
		"2026-11-30T14:04:09.754+01:00":     "20261130130409.754",
		"2026-11-30T08:34:09.754-04:30":     "20261130130409.754",
		"2026-11-30T13:04:09.754+0000":      "20261130130409.754",
		"2026-11-30T13:04:09.754+00":        "20261130130409.754",
		"2026-12-01T00:04:09,754+11:00":     "20261130130409.754",
		"2026-11-30T23:59:59.9999-05:00":    "20261201045959.999",
	} {
		got, err := eenv3.ParseTimestamp(in)
		if err != nil || got != want {
			t.Errorf("ParseTimestamp(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "now", "preview-20181001000000.045", "20261130130409.754",
		"2026-11-30T13:04:09.754", "2026-11-30 13:04:09Z", "2026-02-30T13:04:09Z",
		"2026-11-30T25:04:09Z", "2026-11-30T13:04:09.754+00:00 ", "0000-01-01T00:00:00+01:00",
		"9999-12-31T23:59:59-01:00",
	} {
		if got, err := eenv3.ParseTimestamp(in); !errors.Is(err, preview.ErrBadTimestamp) {
			t.Errorf("ParseTimestamp(%q) = %q, %v; want ErrBadTimestamp", in, got, err)
		}
	}
}

package eenv3

import (
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// timestampLayouts are the ISO 8601 forms X-Een-Timestamp may take: the
// offset as Z, ±hh:mm, ±hhmm or ±hh. Fractional seconds, of any number of
// digits, are read after the seconds whichever layout matches.
var timestampLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
}

// ParseTimestamp reads an X-Een-Timestamp value (ISO 8601, such as
// "2026-11-30T13:04:09.754+00:00" or "...Z") into the stored v1 form: UTC
// YYYYMMDDhhmmss.mmm, cut (not rounded) to the millisecond so that the
// order of times is kept. Errors match preview.ErrBadTimestamp.
func ParseTimestamp(v string) (preview.Timestamp, error) {
	for _, layout := range timestampLayouts {
		t, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		ts, err := preview.ParseTimestamp(string(preview.FormatTimestamp(t.Truncate(time.Millisecond))))
		if err == nil {
			return ts, nil
		}
		break // a time outside the years 0000-9999 in UTC
	}
	return "", fmt.Errorf("%w: %q is not an ISO 8601 time with a zone", preview.ErrBadTimestamp, shorten(v))
}

// shorten bounds a quoted upstream value in an error.
func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

package een

import (
	"testing"
	"time"
)

// A Retry-After is read as seconds or a date, and never yields a negative
// or overflowing wait: a huge one is capped.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{"10000000000", MaxRetryAfter},
		{"9223372036854775807", MaxRetryAfter},
		{"Tue, 04 Mar 2025 05:06:09 GMT", 2 * time.Second},
		{"Tue, 04 Mar 2025 05:06:00 GMT", 0},
		{"Fri, 01 Jan 9999 00:00:00 GMT", MaxRetryAfter},
	} {
		if got := ParseRetryAfter(c.in, now); got != c.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

package preview

import (
	"fmt"
	"strings"
	"time"
)

// TimestampLayout is how EEN writes image times: UTC with milliseconds, so
// that string order is time order.
const TimestampLayout = "20060102150405.000"

// Timestamp is an EEN image time in TimestampLayout. The zero value means
// "no image yet".
type Timestamp string

// FormatTimestamp writes t in EEN's layout.
func FormatTimestamp(t time.Time) Timestamp {
	return Timestamp(t.UTC().Format(TimestampLayout))
}

// ParseTimestamp validates an EEN timestamp. The shape is checked byte by
// byte, not only by time.Parse, which also takes a comma for the dot:
// string order must stay time order.
func ParseTimestamp(s string) (Timestamp, error) {
	ok := len(s) == len(TimestampLayout)
	for i := 0; ok && i < len(s); i++ {
		if i == 14 {
			ok = s[i] == '.'
		} else {
			ok = '0' <= s[i] && s[i] <= '9'
		}
	}
	if _, err := time.Parse(TimestampLayout, s); !ok || err != nil {
		return "", fmt.Errorf("%w: %q is not YYYYMMDDhhmmss.mmm", ErrBadTimestamp, s)
	}
	return Timestamp(s), nil
}

// ParseHeaderTimestamp reads an x-ee-timestamp style header value, such as
// "preview-20181001000000.045": the type word before the last '-' varies,
// so everything after it is the time.
func ParseHeaderTimestamp(v string) (Timestamp, error) {
	i := strings.LastIndexByte(v, '-')
	return ParseTimestamp(v[i+1:])
}

// Time returns the instant; the zero time for an invalid or empty value.
func (ts Timestamp) Time() time.Time {
	t, err := time.Parse(TimestampLayout, string(ts))
	if err != nil {
		return time.Time{}
	}
	return t
}

// After reports whether ts is later than other. Valid timestamps compare
// as strings because the layout is fixed-width.
func (ts Timestamp) After(other Timestamp) bool { return ts > other }

func (ts Timestamp) String() string { return string(ts) }

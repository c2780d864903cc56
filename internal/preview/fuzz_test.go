package preview

import (
	"strings"
	"testing"
)

// FuzzParseESN: anything that parses is exactly 8 lower-case hex digits,
// so it is safe in a Redis key and a URL; everything else is ErrBadESN.
func FuzzParseESN(f *testing.F) {
	for _, s := range []string{"1006073b", "1006073B", "", "../../x", "1006073b/", "１００６０７３b", "%2e%2e%2f", "deadbeef\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esn, err := ParseESN(s)
		if err != nil {
			if esn != "" {
				t.Fatalf("error with a value: %q", esn)
			}
			return
		}
		if len(esn) != 8 || strings.Trim(string(esn), "0123456789abcdef") != "" || !strings.EqualFold(s, string(esn)) {
			t.Fatalf("ParseESN(%q) = %q", s, esn)
		}
	})
}

// FuzzParseHeaderTimestamp: a parsed timestamp is fixed-width and round
// trips through time, so string order stays time order.
func FuzzParseHeaderTimestamp(f *testing.F) {
	for _, s := range []string{"preview-20181001000000.045", "20181001000000.045", "unknown", "-", "a-b-c", "preview-99991231235959.999", "preview-20180230000000.000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseHeaderTimestamp(s)
		if err != nil {
			return
		}
		if len(ts) != len(TimestampLayout) || FormatTimestamp(ts.Time()) != ts {
			t.Fatalf("ParseHeaderTimestamp(%q) = %q, which does not round-trip", s, ts)
		}
	})
}

// FuzzParseCameras never panics and yields only valid, distinct ids, names
// that cannot be confused with the grammar, and intervals in range.
func FuzzParseCameras(f *testing.F) {
	for _, s := range []string{"1006073b=Ski slope,10060a2c", ",,,", "1006073b=a=b", "x=y", "1006073b,1006073B",
		"1006073b=Ski slope@500ms", "1006073b=Kennel;signed,10060abc", "1006073b=Ski slope;always", "1006073b=", "1006073b@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cams, err := ParseCameras(s)
		if err != nil {
			return
		}
		seen := map[ESN]bool{}
		for _, c := range cams {
			if _, err := ParseESN(string(c.ESN)); err != nil || seen[c.ESN] || c.Name == "" ||
				strings.ContainsAny(c.Name, ",;@") || c.Interval != 0 && CheckInterval(c.Interval) != nil {
				t.Fatalf("ParseCameras(%q) gave %+v", s, c)
			}
			seen[c.ESN] = true
		}
	})
}

package eenv3_test

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
	"github.com/camrelay/camrelay/internal/preview"
)

// answerReason is every reason ParseTokenAnswer may give: fixed words and
// names of its own fields, never a piece of the answer (which holds
// tokens).
var answerReason = regexp.MustCompile(`^(field "[A-Za-z_.]*" has the wrong type|not a JSON object|access_token is missing or not printable ASCII|` +
	`token_type is not Bearer|refresh_token is not printable ASCII|expires_in is missing|expires_in is not a positive number of seconds|` +
	`httpsBaseUrl\.hostname is not a DNS name or IP address|httpsBaseUrl\.port is not a port number)$`)

// FuzzParseTokenAnswer feeds hostile token answers: parsing never panics;
// a refusal is ErrBadAnswer with one of the fixed reasons (so it cannot
// quote a token); an accepted set has a usable access token, a life of at
// most 24 h, and a base URL that is https://host[:port] and nothing else.
func FuzzParseTokenAnswer(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":3600,"refresh_token":"r1","httpsBaseUrl":{"hostname":"api.c001.eagleeyenetworks.com","port":443}}`,
		`{"access_token":"a","expires_in":"60","httpsBaseUrl":{"hostname":"::1","port":"8443"}}`,
		`{"access_token":"a","expires_in":1e400}`,
		`{"access_token":"a","expires_in":-0,"httpsBaseUrl":{"hostname":"a.b@c","port":443}}`,
		`{"access_token":"a\u0000","expires_in":60}`,
		`{"access_token":"a","expires_in":60,"httpsBaseUrl":{"hostname":"1.2.3.4%x"}}`,
		`[{"access_token":"a"}]`, `null`, `{"access_token":"a","ACCESS_TOKEN":"b","expires_in":"0x10"}`,
	} {
		f.Add([]byte(s))
	}
	issued := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		set, err := eenv3.ParseTokenAnswer(body, issued)
		if err != nil {
			reason, ok := strings.CutPrefix(err.Error(), eenv3.ErrBadAnswer.Error()+": ")
			if !errors.Is(err, eenv3.ErrBadAnswer) || !ok || !answerReason.MatchString(reason) {
				t.Fatalf("error %q is not ErrBadAnswer with a fixed reason", err)
			}
			return
		}
		life := set.Expiry.Sub(issued)
		if set.AccessToken == "" || strings.ContainsAny(set.AccessToken, " \r\n\t") || life <= 0 || life > 24*time.Hour {
			t.Fatalf("accepted %q living %s", set.AccessToken, life)
		}
		if set.BaseURL == "" {
			return
		}
		u, err := url.Parse(set.BaseURL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.Path != "" || u.RawQuery != "" ||
			u.Fragment != "" || set.BaseURL != "https://"+u.Host || u.Port() == "443" {
			t.Fatalf("accepted base URL %q", set.BaseURL)
		}
	})
}

// FuzzParseTimestamp: whatever the header holds, a parsed timestamp is in
// the stored form and round-trips through time, so string order stays
// time order; it is the instant the header names, cut to milliseconds.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{
		"2026-11-30T13:04:09.754+00:00", "2026-11-30T13:04:09.754Z", "2026-11-30T13:04:09Z",
		"2026-11-30T13:04:09.123456789123+05:45", "2026-11-30T13:04:09,5-0330", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999-23:59", "2026-11-30T13:04:09.754", "preview-20181001000000.045", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := eenv3.ParseTimestamp(s)
		if err != nil {
			if !errors.Is(err, preview.ErrBadTimestamp) || ts != "" {
				t.Fatalf("ParseTimestamp(%q) = %q, %v", s, ts, err)
			}
			return
		}
		if _, err := preview.ParseTimestamp(string(ts)); err != nil || preview.FormatTimestamp(ts.Time()) != ts {
			t.Fatalf("ParseTimestamp(%q) = %q, which does not round-trip", s, ts)
		}
		if at, err := time.Parse(time.RFC3339Nano, s); err == nil && !at.Truncate(time.Millisecond).Equal(ts.Time()) {
			t.Fatalf("ParseTimestamp(%q) = %q, want %s", s, ts, at.UTC())
		}
	})
}

// FuzzTimestampForms writes an instant in ISO 8601 with any offset and
// any number of fraction digits: it parses back to that instant, cut to
// the digits written and then to milliseconds.
func FuzzTimestampForms(f *testing.F) {
	f.Add(int64(1796043849), uint32(754000000), int16(0), uint8(3), false)
	f.Add(int64(0), uint32(999999999), int16(-270), uint8(9), true)
	f.Add(int64(253402300799), uint32(1), int16(840), uint8(1), false)
	f.Fuzz(func(t *testing.T, secs int64, nanos uint32, offsetMin int16, digits uint8, basic bool) {
		at := time.Unix(secs%253402300800, int64(nanos%1e9)).UTC()
		digits %= 10
		zone := time.FixedZone("", int(offsetMin%(24*60))*60)
		layout := "2006-01-02T15:04:05"
		if digits > 0 {
			layout += "." + strings.Repeat("0", int(digits))
		}
		layout += map[bool]string{false: "Z07:00", true: "Z0700"}[basic]
		s := at.In(zone).Format(layout)
		ts, err := eenv3.ParseTimestamp(s)
		if at.In(zone).Year() < 0 || at.In(zone).Year() > 9999 || at.Year() < 1 {
			return // not writable in four digits, or not in the stored form
		}
		unit := time.Duration(1)
		for range 9 - int(digits) {
			unit *= 10
		}
		want := preview.FormatTimestamp(at.Truncate(unit).Truncate(time.Millisecond))
		if err != nil || ts != want {
			t.Fatalf("ParseTimestamp(%q) = %q, %v; want %q", s, ts, err, want)
		}
	})
}

package preview

import (
	"errors"
	"testing"
	"time"
)

func TestParseESN(t *testing.T) {
	for in, want := range map[string]ESN{"1006073b": "1006073b", "1006073B": "1006073b", "ABCDEF01": "abcdef01"} {
		if got, err := ParseESN(in); err != nil || got != want {
			t.Errorf("ParseESN(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1006073", "1006073b0", "1006073g", "../../..", "１００６０７３b", "1006073\x00", " 1006073b"} {
		if _, err := ParseESN(in); !errors.Is(err, ErrBadESN) {
			t.Errorf("ParseESN(%q): %v, want ErrBadESN", in, err)
		}
	}
}

func TestTimestamps(t *testing.T) {
	at := time.Date(2018, 10, 1, 0, 0, 0, 45e6, time.UTC)
	if ts := FormatTimestamp(at); ts != "20181001000000.045" || !ts.Time().Equal(at) {
		t.Errorf("FormatTimestamp = %s", ts)
	}
	if ts, err := ParseHeaderTimestamp("preview-20181001000000.045"); err != nil || ts != "20181001000000.045" {
		t.Errorf("header: %s, %v", ts, err)
	}
	for _, bad := range []string{"", "unknown", "preview-2018100100000.045", "preview-20181001000000", "20181301000000.000"} {
		if _, err := ParseHeaderTimestamp(bad); !errors.Is(err, ErrBadTimestamp) {
			t.Errorf("ParseHeaderTimestamp(%q): %v", bad, err)
		}
	}
	if !Timestamp("20181001000000.046").After("20181001000000.045") || Timestamp("").After("20181001000000.045") {
		t.Error("After is not time order")
	}
}

func TestKeysShareHashTag(t *testing.T) {
	k := Keys{Prefix: DefaultKeyPrefix}
	if k.Frame("1006073b") != "camrelay:{1006073b}:frame" || k.Lock("1006073b") != "camrelay:{1006073b}:lock" {
		t.Errorf("keys %s %s", k.Frame("1006073b"), k.Lock("1006073b"))
	}
}

func TestIsJPEGAndETag(t *testing.T) {
	if !IsJPEG([]byte{0xff, 0xd8, 0xff, 0xe0}) || IsJPEG([]byte("<html>")) || IsJPEG(nil) {
		t.Error("IsJPEG")
	}
	if etagOf([]byte("a")) == etagOf([]byte("b")) || etagOf([]byte("a"))[0] != '"' {
		t.Error("etagOf")
	}
}

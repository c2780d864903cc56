package signing

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseLink: any query either parses into a link whose Query()
// parses back to the same link, or is refused as missing or malformed;
// Verify never accepts what Sign did not make.
func FuzzParseLink(f *testing.F) {
	for _, s := range []string{
		"exp=1893456000&kid=k1&sig=" + vector1, "", "ts=1&w=320", "exp=1&kid=k1", "exp=&kid=&sig=",
		"exp=1893456000&kid=k1&sig=" + vector1 + "&sig=x", "exp=%31&kid=k%31&sig=" + vector1, "a=%zz&exp=1",
		"exp=1893456000;kid=k1;sig=" + vector1, "exp=99999999999999&kid=k1&sig=" + vector1,
	} {
		f.Add(s)
	}
	k, err := ParseKeys("k1:" + secret1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		l, err := ParseLink(q)
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseLink(%q): %v", q, err)
			}
			return
		}
		back, err := ParseLink(l.Query())
		if err != nil || back.Query() != l.Query() {
			t.Fatalf("%q: Query %q parses back as %q, %v", q, l.Query(), back.Query(), err)
		}
		if _, err := k.Verify("1006073b", q, time.Unix(0, 0)); err == nil {
			if want, _ := k.Sign("1006073b", "k1", l.Expires()); want.Query() != l.Query() {
				t.Fatalf("%q verified but Sign makes %q", q, want.Query())
			}
		}
	})
}

package signing

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/testbed"
)

// secret1 and vector1 pin the contract to an independent computation,
// made with Python's hmac module:
//
//	python3 -c 'import hmac,hashlib,base64; print(base64.urlsafe_b64encode(hmac.new(
//	  b"k1-secret-0123456789abcdefghijklmnopqrstuv", b"1006073b.1893456000",
//	  hashlib.sha256).digest()).rstrip(b"=").decode())'
const (
	secret1 = "k1-secret-0123456789abcdefghijklmnopqrstuv"
	secret2 = "k2-another-secret-9876543210ZYXWVUTSRQPONM"
	vector1 = "e1piLKF1zBBUS4VHy5RQwUK9MYrAQHyBEREX5i6vQdo"
	exp1    = 1893456000 // 2030-01-01
)

func keys(t *testing.T) Keys {
	t.Helper()
	k, err := ParseKeys("k1:" + secret1 + ",k2:" + secret2)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignMatchesTheContractVector(t *testing.T) {
	l, err := keys(t).Sign("1006073b", "k1", time.Unix(exp1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := "exp=1893456000&kid=k1&sig=" + vector1; l.Query() != want {
		t.Errorf("Sign: %s, want %s", l.Query(), want)
	}
}

// openssl, a second independent implementation, agrees with Sign.
func TestSignMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testbed.Unavailable(t, "openssl not found: skipping the cross-check of the signature")
	}
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", secret2, "-binary")
	cmd.Stdin = strings.NewReader("10060a2c.1900000000")
	raw, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := keys(t).Sign("10060a2c", "k2", time.Unix(1900000000, 0))
	if got, want := sigEncoding.EncodeToString(l.Sig), sigEncoding.EncodeToString(raw); got != want {
		t.Errorf("Sign %s, openssl %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	k := keys(t)
	now := time.Unix(exp1-60, 0)
	good := "exp=1893456000&kid=k1&sig=" + vector1
	other, _ := k.Sign("10060a2c", "k1", time.Unix(exp1, 0)) // another camera's link
	k2, _ := k.Sign("1006073b", "k2", time.Unix(exp1, 0))    // the other key: rotation
	past, _ := k.Sign("1006073b", "k1", now.Add(-time.Second))
	flipped := []byte(vector1)
	flipped[5] ^= 1
	for _, c := range []struct {
		name, query string
		want        error
	}{
		{"valid", good, nil},
		{"valid beside other parameters", "ts=20261124040506.250&w=320&" + good, nil},
		{"second key", k2.Query(), nil},
		{"missing", "ts=1", ErrMissing},
		{"nothing", "", ErrMissing},
		{"expired", past.Query(), ErrExpired},
		{"unknown key", "exp=1893456000&kid=k9&sig=" + vector1, ErrUnknownKey},
		{"wrong signature", "exp=1893456000&kid=k1&sig=" + string(flipped), ErrBadSignature},
		{"another camera's", other.Query(), ErrBadSignature},
		{"exp changed", "exp=1893456001&kid=k1&sig=" + vector1, ErrBadSignature},
		{"exp leading zero", "exp=01893456000&kid=k1&sig=" + vector1, ErrBadSignature},
		{"no sig", "exp=1893456000&kid=k1", ErrMalformed},
		{"sig twice", good + "&sig=" + vector1, ErrMalformed},
		{"exp negative", "exp=-1&kid=k1&sig=" + vector1, ErrMalformed},
		{"exp huge", "exp=1893456000000000&kid=k1&sig=" + vector1, ErrMalformed},
		{"exp not a number", "exp=soon&kid=k1&sig=" + vector1, ErrMalformed},
		{"sig padded", "exp=1893456000&kid=k1&sig=" + vector1 + "=", ErrMalformed},
		{"sig short", "exp=1893456000&kid=k1&sig=" + vector1[:40], ErrMalformed},
		{"sig std base64", "exp=1893456000&kid=k1&sig=" + strings.Repeat("+", 43), ErrMalformed},
		{"kid bad", "exp=1893456000&kid=k%201&sig=" + vector1, ErrMalformed},
		{"bad escape", "exp=1893456000&kid=k1&sig=" + vector1 + "&x=%zz", ErrMalformed},
	} {
		_, err := k.Verify("1006073b", c.query, now)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestReasonsRevealNoKey(t *testing.T) {
	if Reason(ErrUnknownKey) != Reason(ErrBadSignature) {
		t.Errorf("an unknown key id reads %q, a wrong signature %q: they tell key ids apart", Reason(ErrUnknownKey), Reason(ErrBadSignature))
	}
	for _, err := range []error{ErrMissing, ErrMalformed, ErrExpired, ErrUnknownKey} {
		if r := Reason(err); r == "" || strings.ContainsAny(r, "\n") {
			t.Errorf("%v: reason %q", err, r)
		}
	}
}

func TestParseKeys(t *testing.T) {
	k, err := ParseKeys(" k1:" + secret1 + "\nk2:" + secret2 + ",\n")
	if err != nil || k.Len() != 2 || k.First() != "k1" {
		t.Fatalf("%v %d %q", err, k.Len(), k.First())
	}
	if k, err := ParseKeys(""); err != nil || k.Len() != 0 {
		t.Errorf("empty: %v %d", err, k.Len())
	}
	for _, bad := range []string{
		secret1,                            // no kid: the error must not show it
		"k1:" + secret1[:31],               // short
		"k1:" + secret1 + ",k1:" + secret2, // twice
		"k 1:" + secret1,
		":" + secret1,
		strings.Repeat("k", 33) + ":" + secret1,
		"k1:" + secret1 + " tail",
		"k1:" + secret1 + "é",
	} {
		_, err := ParseKeys(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), secret1[:20]) || strings.Contains(err.Error(), secret2[:20]) {
			t.Errorf("the error shows a secret: %v", err)
		}
	}
	if s := keys(t).String(); strings.Contains(s, secret1[:20]) {
		t.Errorf("Keys prints a secret: %s", s)
	}
}

// BenchmarkVerify is what a signed camera's request adds to a public
// one's: parse the query, one HMAC-SHA256, one comparison.
func BenchmarkVerify(b *testing.B) {
	k, _ := ParseKeys("k1:" + secret1)
	q := "ts=20261124040506.250&exp=1893456000&kid=k1&sig=" + vector1
	now := time.Unix(exp1-60, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Verify("1006073b", q, now); err != nil {
			b.Fatal(err)
		}
	}
}

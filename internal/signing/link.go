package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// Link is a parsed grant: the three query parameters of a signed link.
type Link struct {
	Exp int64  // unix seconds
	Kid string // key id
	Sig []byte // the HMAC, decoded
	exp string // exp as written in the URL: it is what was signed
}

// Expires is when the grant ends.
func (l Link) Expires() time.Time { return time.Unix(l.Exp, 0) }

// Query is the link's parameters as a query string, "exp=…&kid=…&sig=…",
// for the URLs a page opens under the same grant.
func (l Link) Query() string {
	return "exp=" + l.exp + "&kid=" + l.Kid + "&sig=" + sigEncoding.EncodeToString(l.Sig)
}

// sigEncoding is base64url without padding; Strict refuses a string
// whose unused bits are set, so one signature has one spelling.
var sigEncoding = base64.RawURLEncoding.Strict()

// maxExpDigits bounds exp: 12 digits reach past the year 30000.
const maxExpDigits = 12

// ParseLink reads exp, kid and sig from a raw query (other parameters are
// left alone). None of the three: ErrMissing. Any given twice, missing,
// or not well formed (exp decimal digits, kid as in ParseKeys, sig 43
// characters of base64url): ErrMalformed. It checks no signature.
func ParseLink(rawQuery string) (Link, error) {
	q, err := url.ParseQuery(rawQuery)
	exps, kids, sigs := q["exp"], q["kid"], q["sig"]
	if len(exps)+len(kids)+len(sigs) == 0 {
		if err != nil {
			return Link{}, fmt.Errorf("%w: the query does not parse", ErrMalformed)
		}
		return Link{}, ErrMissing
	}
	if err != nil || len(exps) != 1 || len(kids) != 1 || len(sigs) != 1 {
		return Link{}, fmt.Errorf("%w: want exp, kid and sig once each", ErrMalformed)
	}
	l := Link{Kid: kids[0], exp: exps[0]}
	if len(l.exp) == 0 || len(l.exp) > maxExpDigits || strings.Trim(l.exp, "0123456789") != "" {
		return Link{}, fmt.Errorf("%w: exp is not unix seconds", ErrMalformed)
	}
	l.Exp, _ = strconv.ParseInt(l.exp, 10, 64) // 12 digits always fit
	if !validKid(l.Kid) {
		return Link{}, fmt.Errorf("%w: bad kid", ErrMalformed)
	}
	if len(sigs[0]) != sigEncoding.EncodedLen(sha256.Size) {
		return Link{}, fmt.Errorf("%w: sig is not %d characters", ErrMalformed, sigEncoding.EncodedLen(sha256.Size))
	}
	// The decoder skips CR and LF, so 43 characters with line breaks among
	// them decode to fewer bytes: only 32 bytes are a signature.
	if l.Sig, err = sigEncoding.DecodeString(sigs[0]); err != nil || len(l.Sig) != sha256.Size {
		return Link{}, fmt.Errorf("%w: sig is not base64url", ErrMalformed)
	}
	return l, nil
}

// Verify checks a request's link for the camera esn at now: the parsed
// link, or why it is refused (ErrMissing, ErrMalformed, ErrUnknownKey,
// ErrBadSignature, ErrExpired). The signature is checked before the
// time, so "expired" is said of genuine links only.
func (k Keys) Verify(esn preview.ESN, rawQuery string, now time.Time) (Link, error) {
	l, err := ParseLink(rawQuery)
	if err != nil {
		return Link{}, err
	}
	secret, ok := k.secrets[l.Kid]
	if !ok {
		return Link{}, ErrUnknownKey
	}
	if !hmac.Equal(l.Sig, mac(secret, esn, l.exp)) { // constant time
		return Link{}, ErrBadSignature
	}
	if now.Unix() >= l.Exp {
		return Link{}, ErrExpired
	}
	return l, nil
}

// Sign makes the link granting esn until exp with the key kid.
func (k Keys) Sign(esn preview.ESN, kid string, exp time.Time) (Link, error) {
	secret, ok := k.secrets[kid]
	if !ok {
		return Link{}, fmt.Errorf("no signing key %q", kid)
	}
	e := strconv.FormatInt(exp.Unix(), 10)
	return Link{Exp: exp.Unix(), Kid: kid, Sig: mac(secret, esn, e), exp: e}, nil
}

// mac is the contract's HMAC-SHA256(secret, "{esn}.{exp}").
func mac(secret []byte, esn preview.ESN, exp string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(string(esn) + "." + exp))
	return h.Sum(nil)
}

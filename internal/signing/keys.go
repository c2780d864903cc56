// Package signing makes and checks camrelay's signed links: a grant to
// one camera until a time, which a site's own backend can make too.
//
// The contract (sites and outside checks rely on it):
//
//	?exp={unix seconds}&kid={key id}&sig={s}
//	s = base64url, no padding, of HMAC-SHA256(secret of kid, "{esn}.{exp}")
//
// with the ESN in lower case and exp in decimal as it appears in the URL.
// The replicas hold the secrets (SIGNING_KEYS) and keep no state: any
// replica checks any link.
package signing

import (
	"errors"
	"fmt"
	"strings"
)

// MinSecretLen is the shortest secret accepted, in bytes. HMAC-SHA256 is
// as strong as its key up to the hash's 32 bytes (RFC 2104 asks for at
// least the output length); a shorter secret is the weak point, and a
// person typing one tends to be short.
const MinSecretLen = 32

// maxKidLen bounds a key id: it travels in every link.
const maxKidLen = 32

// Keys are the signing secrets by key id. Several may be valid at once,
// so a key can be rotated without breaking the links already out; the
// first listed is the one "web sign" uses unless told.
type Keys struct {
	secrets map[string][]byte
	first   string
}

// ParseKeys reads SIGNING_KEYS: "kid:secret" entries separated by commas
// or new lines (a _FILE may hold one per line). A key id is 1 to 32 of
// A-Z a-z 0-9 . _ -; a secret is at least MinSecretLen bytes of printable
// ASCII without spaces or commas; a key id may not repeat. Errors name
// entries by key id or position, never by secret. Empty input is no keys.
func ParseKeys(s string) (Keys, error) {
	k := Keys{secrets: make(map[string][]byte)}
	n := 0
	for entry := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n++
		kid, secret, ok := strings.Cut(entry, ":")
		switch {
		case !ok:
			return Keys{}, fmt.Errorf("entry %d is not kid:secret", n)
		case !validKid(kid):
			return Keys{}, fmt.Errorf("entry %d: the key id is not 1 to %d of A-Z a-z 0-9 . _ -", n, maxKidLen)
		case k.secrets[kid] != nil:
			return Keys{}, fmt.Errorf("key id %q is listed twice", kid)
		case len(secret) < MinSecretLen:
			return Keys{}, fmt.Errorf("key %q: the secret is %d bytes, at least %d wanted (e.g. openssl rand -base64 33)", kid, len(secret), MinSecretLen)
		case strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r > '~' }):
			return Keys{}, fmt.Errorf("key %q: the secret has a space, control or non-ASCII character", kid)
		}
		k.secrets[kid] = []byte(secret)
		if k.first == "" {
			k.first = kid
		}
	}
	return k, nil
}

func validKid(kid string) bool {
	if kid == "" || len(kid) > maxKidLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Len is how many keys there are.
func (k Keys) Len() int { return len(k.secrets) }

// First is the key id listed first, "" without keys.
func (k Keys) First() string { return k.first }

// String never shows a secret, whatever prints Keys.
func (k Keys) String() string { return fmt.Sprintf("signing.Keys(%d)", len(k.secrets)) }

// Why a link is refused; Reason words each for the viewer.
var (
	ErrMissing      = errors.New("no signature")
	ErrMalformed    = errors.New("malformed signature")
	ErrUnknownKey   = errors.New("unknown key id")
	ErrBadSignature = errors.New("bad signature")
	ErrExpired      = errors.New("expired")
)

// Reason is the one-line answer a viewer gets for a refused link. An
// unknown key id and a wrong signature read the same, so nobody learns
// which key ids exist.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return "signed link required"
	case errors.Is(err, ErrMalformed):
		return "link malformed"
	case errors.Is(err, ErrExpired):
		return "link expired"
	default:
		return "link not valid"
	}
}

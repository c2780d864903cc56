// Package preview holds camrelay's domain types: camera ids, image
// timestamps, frames, the pub/sub message, Redis key names and the errors
// every other package shares. It depends on nothing but the standard library.
package preview

import (
	"fmt"
	"strings"
)

// ESN is an EEN camera id: exactly 8 hexadecimal digits, always lower-case.
type ESN string

// ParseESN validates and normalises a camera id. Upper-case input is
// accepted; anything but 8 ASCII hex digits is an ErrBadESN.
func ParseESN(s string) (ESN, error) {
	if len(s) != 8 {
		return "", fmt.Errorf("%w: want 8 hexadecimal digits, got %d characters", ErrBadESN, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("%w: %q is not a hexadecimal digit", ErrBadESN, c)
		}
	}
	return ESN(strings.ToLower(s)), nil
}

func (e ESN) String() string { return string(e) }

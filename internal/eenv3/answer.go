package eenv3

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxTokenLife caps expires_in: a longer life is taken as this. Access
// tokens live hours; refreshing early does no harm, where refusing the
// answer of a refresh would cost the grant (the old token is spent).
const maxTokenLife = 24 * time.Hour

// tokenAnswer is the token endpoint's JSON. expires_in and port come as
// numbers or numeric strings, so they are read raw.
type tokenAnswer struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	HTTPSBaseURL *hostPort       `json:"httpsBaseUrl"`
}

// hostPort is EEN's httpsBaseUrl: the account's API host.
type hostPort struct {
	Hostname string          `json:"hostname"`
	Port     json.RawMessage `json:"port"`
}

// ParseTokenAnswer reads a token endpoint answer received at issued (the
// time the request was sent, so Expiry errs early). The access token and
// a positive expires_in are required; token_type, when present, must be
// Bearer; refresh_token and httpsBaseUrl may be missing (RefreshToken or
// BaseURL is then ""). Errors match ErrBadAnswer and never quote a token.
func ParseTokenAnswer(body []byte, issued time.Time) (TokenSet, error) {
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return TokenSet{}, fmt.Errorf("%w: field %q has the wrong type", ErrBadAnswer, te.Field)
		}
		return TokenSet{}, fmt.Errorf("%w: not a JSON object", ErrBadAnswer)
	}
	if !isHeaderToken(a.AccessToken) {
		return TokenSet{}, fmt.Errorf("%w: access_token is missing or not printable ASCII", ErrBadAnswer)
	}
	if a.TokenType != "" && !strings.EqualFold(a.TokenType, "Bearer") {
		return TokenSet{}, fmt.Errorf("%w: token_type is not Bearer", ErrBadAnswer)
	}
	if a.RefreshToken != "" && !isHeaderToken(a.RefreshToken) {
		return TokenSet{}, fmt.Errorf("%w: refresh_token is not printable ASCII", ErrBadAnswer)
	}
	life, err := parseExpiresIn(a.ExpiresIn)
	if err != nil {
		return TokenSet{}, err
	}
	base, err := a.HTTPSBaseURL.url()
	if err != nil {
		return TokenSet{}, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	return TokenSet{AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, Expiry: issued.Add(life), BaseURL: base}, nil
}

// isHeaderToken reports whether s is non-empty visible ASCII, so it can
// stand in an Authorization header or a form as it is.
func isHeaderToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

// parseExpiresIn reads seconds as a JSON number or a numeric string.
func parseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	s, err := numberText(raw)
	if err != nil || s == "" {
		return 0, fmt.Errorf("%w: expires_in is missing", ErrBadAnswer)
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(secs) || secs <= 0 {
		return 0, fmt.Errorf("%w: expires_in is not a positive number of seconds", ErrBadAnswer)
	}
	if secs >= maxTokenLife.Seconds() {
		return maxTokenLife, nil
	}
	return max(time.Duration(secs*float64(time.Second)), time.Millisecond), nil
}

// numberText returns a JSON number's text, or a JSON string's content;
// "" for a missing value or null.
func numberText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return strings.TrimSpace(s), err
	}
	return string(raw), nil
}

// url returns "https://host[:port]" (port 443 left out); "" when the
// answer names no host. A host that is not a DNS name or an IP address
// is refused: tokens would be sent to it.
func (hp *hostPort) url() (string, error) {
	if hp == nil || hp.Hostname == "" {
		return "", nil
	}
	host := strings.ToLower(strings.TrimSuffix(hp.Hostname, "."))
	if ip, err := netip.ParseAddr(host); err == nil && ip.Zone() == "" {
		host = ip.String()
	} else if !isDNSName(host) {
		return "", errors.New("httpsBaseUrl.hostname is not a DNS name or IP address")
	}
	s, err := numberText(hp.Port)
	port, perr := strconv.Atoi(cmp.Or(s, "443"))
	if err != nil || perr != nil || port < 1 || port > 65535 {
		return "", errors.New("httpsBaseUrl.port is not a port number")
	}
	if port == 443 {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return "https://" + host, nil
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// isDNSName reports whether s is a host name of letters, digits and
// hyphens in dot-separated labels of 1 to 63 characters.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	// An all-numeric name like "1.2.3" would be read as an IP elsewhere.
	return strings.Trim(s, "0123456789.") != ""
}

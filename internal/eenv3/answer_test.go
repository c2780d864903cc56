package eenv3_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// The token answer in every plausible form: expires_in and port as
// numbers or strings, token_type in any case, httpsBaseUrl with or
// without its port or not at all. A life past 24 h is taken as 24 h.
func TestParseTokenAnswer(t *testing.T) {
	at := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		body  string
		life  time.Duration
		base  string
		hasRT bool
	}{
		{`{"access_token":"a.b.c","token_type":"Bearer","expires_in":3600,"refresh_token":"r1","scope":"vms.all","httpsBaseUrl":{"hostname":"api.c001.eagleeyenetworks.com","port":443}}`, time.Hour, "https://api.c001.eagleeyenetworks.com", true},
		{`{"access_token":"a.b.c","token_type":"bearer","expires_in":"43199","httpsBaseUrl":{"hostname":"api.c001.eagleeyenetworks.com","port":"8443"}}`, 43199 * time.Second, "https://api.c001.eagleeyenetworks.com:8443", false},
		{`{"access_token":"a.b.c","expires_in":2.5,"refresh_token":"r1","httpsBaseUrl":{"hostname":"127.0.0.1"}}`, 2500 * time.Millisecond, "https://127.0.0.1", true},
		{`{"access_token":"a.b.c","TOKEN_TYPE":"BEARER","expires_in":" 60 ","httpsBaseUrl":{"hostname":"2001:db8::1","port":8443}}`, time.Minute, "https://[2001:db8::1]:8443", false},
		{`{"access_token":"a.b.c","expires_in":1e12,"httpsBaseUrl":null}`, 24 * time.Hour, "", false},
		{`{"access_token":"a.b.c","expires_in":60,"httpsBaseUrl":{}}`, time.Minute, "", false},
	} {
		set, err := eenv3.ParseTokenAnswer([]byte(c.body), at)
		if err != nil || set.AccessToken != "a.b.c" || set.Expiry != at.Add(c.life) || set.BaseURL != c.base || (set.RefreshToken == "r1") != c.hasRT {
			t.Errorf("%s: %+v, %v", c.body, set, err)
		}
	}
}

// An answer that cannot be used is ErrBadAnswer, saying which field is
// wrong without quoting a token.
func TestParseTokenAnswerRefuses(t *testing.T) {
	tok := newSecret("at-")
	for body, why := range map[string]string{
		``:   "not a JSON object",
		`[]`: "wrong type",
		`{"access_token":` + `"` + tok + `"` + `,"expires_in":0}`: "expires_in is not a positive",
		`{"access_token":"` + tok + `","expires_in":-5}`:          "expires_in is not a positive",
		`{"access_token":"` + tok + `","expires_in":"soon"}`:      "expires_in is not a positive",
		`{"access_token":"` + tok + `","expires_in":"NaN"}`:       "expires_in is not a positive",
		`{"access_token":"` + tok + `"}`:                          "expires_in is missing",
		`{"access_token":"` + tok + `","expires_in":null}`:        "expires_in is missing",
		`{"access_token":"` + tok + `","expires_in":true}`:        "expires_in is not a positive",
		`{"expires_in":60}`:                                                                                 "access_token is missing",
		`{"access_token":"a b","expires_in":60}`:                                                            "access_token is missing or not printable",
		`{"access_token":` + `12` + `,"expires_in":60}`:                                                     `field "access_token" has the wrong type`,
		`{"access_token":"` + tok + `","token_type":"MAC","expires_in":60}`:                                 "token_type is not Bearer",
		`{"access_token":"` + tok + `","refresh_token":"r\n1","expires_in":60}`:                             "refresh_token is not printable",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":"x"}`:                                 `field "httpsBaseUrl" has the wrong type`,
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"a..b"}}`:                 "hostname is not a DNS name",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"x/y"}}`:                  "hostname is not a DNS name",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"1.2.3"}}`:                "hostname is not a DNS name",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"fe80::1%eth0"}}`:         "hostname is not a DNS name",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"-a.com"}}`:               "hostname is not a DNS name",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"a.com","port":0}}`:       "port is not a port",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"a.com","port":"65536"}}`: "port is not a port",
		`{"access_token":"` + tok + `","expires_in":60,"httpsBaseUrl":{"hostname":"a.com","port":[1]}}`:     "port is not a port",
	} {
		_, err := eenv3.ParseTokenAnswer([]byte(body), time.Now())
		secrets.note(err)
		if !errors.Is(err, eenv3.ErrBadAnswer) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v, want ErrBadAnswer saying %q", body, err, why)
		}
	}
}

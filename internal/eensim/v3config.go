package eensim

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultRedirectURI is the redirect URI allowed when none is configured:
// the form EEN's docs use for a local one.
const DefaultRedirectURI = "http://127.0.0.1:3333"

// v3Defaults fills in and checks the v3 part of c.
func (c *Config) v3Defaults() error {
	if (c.ClientID == "") != (c.ClientSecret == "") {
		return errors.New("eensim: v3 needs both a client id and a client secret")
	}
	if len(c.RedirectURIs) == 0 {
		c.RedirectURIs = []string{DefaultRedirectURI}
	}
	for _, u := range c.RedirectURIs {
		if err := CheckRedirectURI(u); err != nil {
			return fmt.Errorf("eensim: %w", err)
		}
	}
	c.AccessTokenTTL = cmp.Or(c.AccessTokenTTL, time.Hour)
	c.CameraPageSize = cmp.Or(c.CameraPageSize, 100)
	c.TimestampLayout = cmp.Or(c.TimestampLayout, TimestampEEN)
	switch {
	case c.AccessTokenTTL < time.Second:
		return fmt.Errorf("eensim: access-token life %s is under 1s (expires_in counts whole seconds)", c.AccessTokenTTL)
	case c.CameraPageSize < 1:
		return fmt.Errorf("eensim: camera page size %d is not positive", c.CameraPageSize)
	}
	if c.APIHost != "" {
		if err := CheckAPIHost(c.APIHost); err != nil {
			return fmt.Errorf("eensim: API host: %w", err)
		}
	}
	return nil
}

// CheckRedirectURI checks that u can be a registered redirect URI: an
// absolute http or https URL without a fragment.
func CheckRedirectURI(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil, p.Scheme != "http" && p.Scheme != "https", p.Host == "":
		return fmt.Errorf("redirect URI %q is not an absolute http or https URL", u)
	case strings.Contains(u, "#"):
		return fmt.Errorf("redirect URI %q has a fragment", u)
	}
	return nil
}

// CheckAPIHost checks an API host override: "host" or "host:port".
func CheckAPIHost(h string) error {
	_, err := splitHost(h)
	return err
}

// httpsBaseURL is the account's API host in token and clientSettings
// answers.
type httpsBaseURL struct {
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
}

// splitHost reads "host" (port 443) or "host:port".
func splitHost(h string) (httpsBaseURL, error) {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		host, port = strings.Trim(h, "[]"), "443"
	}
	n, err := strconv.Atoi(port)
	switch {
	case host == "" || strings.ContainsAny(host, "/?#@ "):
		return httpsBaseURL{}, fmt.Errorf("%q is not host or host:port", h)
	case err != nil || n < 1 || n > 65535:
		return httpsBaseURL{}, fmt.Errorf("%q has no valid port", h)
	}
	return httpsBaseURL{Hostname: host, Port: n}, nil
}

// baseURL is Config.APIHost, else the host the request came to.
func (s *Server) baseURL(r *http.Request) httpsBaseURL {
	b, err := splitHost(cmp.Or(s.cfg.APIHost, r.Host))
	if err != nil {
		return httpsBaseURL{Hostname: "127.0.0.1", Port: 443}
	}
	return b
}

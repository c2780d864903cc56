package app

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/settings"
	"github.com/camrelay/camrelay/internal/signing"
)

// signConfig is what "web sign" reads: the replicas' keys and where the
// link points.
type signConfig struct {
	Keys string
	TTL  time.Duration
	Path string
	Kid  string
	Base string
}

// signedPaths are the routes a link may point at, {esn} for the camera.
var signedPaths = []string{"/embed/{esn}", "/preview/{esn}.jpg", "/preview/{esn}.mjpg", "/preview/{esn}/events"}

// RunSign is "web sign {esn}": it prints one signed URL. Every problem is
// one line and exit status 1: it is a tool, not a service to configure.
func RunSign(env Env) error {
	var c signConfig
	s := settings.New("web sign", env.Getenv, env.Stderr)
	s.Describe(`web sign {esn} prints a signed link to a camera marked ";signed" in CAMERAS, valid for
-ttl, made with the replicas' SIGNING_KEYS (the key listed first unless -kid).`)
	bindSigningKeys(s, &c.Keys)
	s.Duration(&c.TTL, "ttl", "", time.Hour, "how long the link is valid")
	s.String(&c.Path, "path", "", signedPaths[0], "the route: "+strings.Join(signedPaths, ", "))
	s.String(&c.Kid, "kid", "", "", "the key id to sign with (default: the first in SIGNING_KEYS)")
	s.String(&c.Base, "base", "PUBLIC_URL", "", "the replicas' public address, e.g. https://cams.example.com (default: print the path only)")
	var esn preview.ESN
	if len(env.Args) > 0 && !strings.HasPrefix(env.Args[0], "-") {
		esn, env.Args = preview.ESN(env.Args[0]), env.Args[1:] // checked below, with the rest
	}
	err := parse(s, env.Args)
	if err != nil {
		return oneLine(err)
	}
	link, err := signURL(c, esn, time.Now())
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	fmt.Fprintln(env.Stdout, link)
	return nil
}

// signURL makes the link; every error is one line.
func signURL(c signConfig, id preview.ESN, now time.Time) (string, error) {
	esn, err := preview.ParseESN(string(id))
	if err != nil {
		return "", fmt.Errorf("give the camera: web sign {esn} (%v)", err)
	}
	keys, err := signing.ParseKeys(c.Keys)
	switch {
	case err != nil:
		return "", fmt.Errorf("SIGNING_KEYS: %v", err)
	case keys.Len() == 0:
		return "", errors.New("no keys: set SIGNING_KEYS (or SIGNING_KEYS_FILE) as the replicas have it")
	}
	path := ""
	for _, p := range signedPaths {
		if c.Path == p || c.Path == strings.Replace(p, "{esn}", string(esn), 1) {
			path = strings.Replace(p, "{esn}", string(esn), 1)
		}
	}
	if path == "" {
		return "", fmt.Errorf("-path %q is not one of %s", c.Path, strings.Join(signedPaths, ", "))
	}
	base := strings.TrimRight(c.Base, "/")
	if u, err := url.Parse(base); base != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "") {
		return "", fmt.Errorf("-base (PUBLIC_URL) %q is not an http(s) address like https://cams.example.com", c.Base)
	}
	l, err := keys.Sign(esn, cmp.Or(c.Kid, keys.First()), now.Add(c.TTL))
	if err != nil {
		return "", err
	}
	return base + path + "?" + l.Query(), nil
}

// oneLine keeps a settings problem to one line, outside the ErrUsage
// convention (exit 2 and a hint): "web sign" fails with status 1.
func oneLine(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("sign: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
}

package eenv3_test

import (
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// A bad setting is one clear error naming it, and never the secret.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		mod  func(*eenv3.Config)
		want string
	}{
		{func(c *eenv3.Config) { c.AuthURL = "auth.eagleeyenetworks.com" }, `auth URL "auth.eagleeyenetworks.com" is not an http(s) URL with a host`},
		{func(c *eenv3.Config) { c.AuthURL = "ftp://auth.example.com" }, "auth URL"},
		{func(c *eenv3.Config) { c.AuthURL = "https://" + clientSecret + "@auth.example.com" }, "auth URL must not hold a user name or password"},
		{func(c *eenv3.Config) { c.RedirectURL = "127.0.0.1:3333" }, "redirect URL"},
		{func(c *eenv3.Config) { c.RedirectURL = "http://127.0.0.1:3333/#x" }, "must not have a #fragment"},
		{func(c *eenv3.Config) { c.BaseURL = "http://" }, "base URL"},
		{func(c *eenv3.Config) { c.ClientID = "" }, "the client id is required"},
		{func(c *eenv3.Config) { c.ClientSecret = "" }, "the client secret is required"},
		{func(c *eenv3.Config) { c.MaxImageBytes = -1 }, "image size limit"},
		{func(c *eenv3.Config) { c.PollTimeout = -time.Second }, "poll timeout"},
	} {
		cfg := config("")
		c.mod(&cfg)
		err := cfg.Validate()
		secrets.note(err)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
		if _, err := eenv3.NewAuth(cfg); err == nil {
			t.Errorf("NewAuth took a config Validate refuses")
		}
		if _, err := eenv3.New(cfg, newTokens(set())); err == nil {
			t.Errorf("New took a config Validate refuses")
		}
	}
	if err := config("").Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if _, err := eenv3.New(config(""), nil); err == nil {
		t.Fatal("New without a token source")
	}
}

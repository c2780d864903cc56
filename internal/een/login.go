package een

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// User is the part of EEN's authorize answer camrelay uses.
type User struct {
	UserID             string  `json:"user_id"`
	BrandSubdomain     string  `json:"active_brand_subdomain"`
	CameraAccess       [][]any `json:"camera_access"`
	IsViewPreviewVideo int     `json:"is_view_preview_video"`
}

// login runs the two-step login and installs the new session.
func (c *Client) login(ctx context.Context) error {
	var auth struct {
		Token     string `json:"token"`
		TwoFactor any    `json:"two_factor_authentication_code"`
	}
	creds := map[string]string{"username": c.cfg.Username, "password": c.cfg.Password}
	if _, err := c.postJSON(ctx, "authenticate", "/g/aaa/authenticate", creds, &auth); err != nil {
		return err
	}
	// A two-factor user's answer may carry a token too; it cannot be
	// authorized without the second step, so stop here either way.
	if auth.TwoFactor != nil {
		return ErrTwoFactor
	}
	if auth.Token == "" {
		return errors.New("een authenticate: answer has no token")
	}
	var user User
	cookies, err := c.postJSON(ctx, "authorize", "/g/aaa/authorize", map[string]string{"token": auth.Token}, &user)
	if err != nil {
		return err
	}
	var session string
	for _, ck := range cookies {
		if ck.Name == "auth_key" {
			session = ck.Value
		}
	}
	if session == "" {
		return errors.New("een authorize: answer set no auth_key cookie")
	}
	host := c.cfg.BaseURL
	if !c.override && isDNSLabel(user.BrandSubdomain) {
		host = fmt.Sprintf("https://%s.eagleeyenetworks.com", strings.ToLower(user.BrandSubdomain))
	}
	c.mu.Lock()
	c.session, c.host = session, host
	c.mu.Unlock()
	c.logins.Add(1)
	return nil
}

// isDNSLabel reports whether s can stand as one label of a host name, so a
// strange brand subdomain can never send the session to another host.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

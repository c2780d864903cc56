package eenv3_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/eenv3"
)

// The authorization URL carries exactly the five parameters EEN's docs
// name, the redirect URI as configured to the letter.
func TestAuthorizeURL(t *testing.T) {
	for _, c := range []struct{ redirect, want string }{
		{"", "http://127.0.0.1:3333"},
		{"http://127.0.0.1:3333/cb?x=1", "http://127.0.0.1:3333/cb?x=1"},
	} {
		cfg := config("https://auth.example.com/")
		cfg.RedirectURL = c.redirect
		got := newAuth(t, cfg).AuthorizeURL("st4te")
		rest, ok := strings.CutPrefix(got, "https://auth.example.com/oauth2/authorize?")
		q, err := url.ParseQuery(rest)
		if !ok || err != nil || len(q) != 5 {
			t.Fatalf("AuthorizeURL = %q", got)
		}
		for k, v := range map[string]string{"client_id": clientID, "response_type": "code", "scope": "vms.all", "redirect_uri": c.want, "state": "st4te"} {
			if q.Get(k) != v {
				t.Errorf("%s = %q, want %q in %s", k, q.Get(k), v, got)
			}
		}
	}
}

// A code becomes a token set; its refresh token becomes a new set, once:
// the fake spends each code and refresh token at first use, so presenting
// one again is invalid_grant, which means sign-in needed.
func TestExchangeAndRefresh(t *testing.T) {
	f := newFakeAuth(t, "http://127.0.0.1:3333/cb")
	a := newAuth(t, config(f.srv.URL))
	ctx := context.Background()
	code := f.newCode()
	before := time.Now()
	set, err := a.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if set.AccessToken == "" || set.RefreshToken == "" || set.BaseURL != "https://api.c001.eagleeyenetworks.com" ||
		set.Expiry.Before(before.Add(time.Hour)) || set.Expiry.After(time.Now().Add(time.Hour)) {
		t.Fatalf("set %+v", set)
	}
	next, err := a.Refresh(ctx, set.RefreshToken)
	if err != nil || next.RefreshToken == set.RefreshToken || next.AccessToken == set.AccessToken {
		t.Fatalf("refresh: %v", err)
	}
	_, err = a.Refresh(ctx, set.RefreshToken)
	wantIs(t, err, eenv3.ErrSignInNeeded)
	_, err = a.Exchange(ctx, code)
	wantIs(t, err, eenv3.ErrSignInNeeded)
	forms := f.requests()
	want := []url.Values{
		{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:3333/cb"}},
		{"grant_type": {"refresh_token"}, "refresh_token": {set.RefreshToken}, "scope": {"vms.all"}},
	}
	for i, w := range want {
		if forms[i].Encode() != w.Encode() {
			t.Errorf("request %d: form %v, want %v", i, forms[i], w)
		}
	}
}

// The client id and secret are form-encoded before Basic (RFC 6749
// §2.3.1): the fake decodes them so, and refuses them otherwise.
func TestBasicCredentialsFormEncoded(t *testing.T) {
	f := newFakeAuth(t, "")
	headers := make(chan string, 1)
	f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		headers <- r.Header.Get("Authorization")
		oauthError(w, http.StatusBadRequest, "invalid_grant")
	})
	_, err := newAuth(t, config(f.srv.URL)).Refresh(context.Background(), f.grant())
	wantIs(t, err, eenv3.ErrSignInNeeded)
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(<-headers, "Basic "))
	if want := url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret); string(raw) != want {
		t.Errorf("Basic credentials are not form-encoded")
	}
}

// A refresh answer without a refresh token keeps the one presented
// (RFC 6749 §6); an exchange answer without one is refused, as camrelay
// could not keep the grant.
func TestAnswerWithoutRefreshToken(t *testing.T) {
	f := newFakeAuth(t, "")
	f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"at-kept-0123456789","token_type":"bearer","expires_in":"60"}`))
	})
	secrets.secret("at-kept-0123456789")
	a := newAuth(t, config(f.srv.URL))
	rt := f.grant()
	set, err := a.Refresh(context.Background(), rt)
	if err != nil || set.RefreshToken != rt || set.BaseURL != "" {
		t.Fatalf("set %+v, err %v", set, err)
	}
	_, err = a.Exchange(context.Background(), newSecret("code-"))
	secrets.note(err)
	if err == nil || !strings.Contains(err.Error(), "confidential client") {
		t.Fatalf("exchange without a refresh token: %v", err)
	}
}

// Nothing to present is a sign-in matter, not a request.
func TestNothingToPresent(t *testing.T) {
	f := newFakeAuth(t, "")
	a := newAuth(t, config(f.srv.URL))
	_, err := a.Refresh(context.Background(), "")
	wantIs(t, err, eenv3.ErrSignInNeeded)
	_, err = a.Exchange(context.Background(), "")
	wantIs(t, err, eenv3.ErrSignInNeeded)
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

package eensim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const (
	clientID     = "camrelay-test"
	clientSecret = "s3cret/+=!" // characters that form-encoding changes
	redirectURI  = "http://127.0.0.1:3333"
)

// v3 turns the v3 client on in a test config.
func v3(mod func(*Config)) func(*Config) {
	return func(c *Config) {
		c.ClientID, c.ClientSecret = clientID, clientSecret
		if mod != nil {
			mod(c)
		}
	}
}

// authorizeQuery is a good authorize request's query.
func authorizeQuery() url.Values {
	return url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {"vms.all"},
		"redirect_uri": {redirectURI}, "state": {"st-42"}}
}

// callAuthorize sends authorize with q changed by the pairs kv ("" deletes).
func callAuthorize(h http.Handler, kv ...string) *httptest.ResponseRecorder {
	q := authorizeQuery()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return get(h, "", "/oauth2/authorize?"+q.Encode())
}

// location reads the redirect of an authorize answer.
func location(t testing.TB, rec *httptest.ResponseRecorder) *url.URL {
	t.Helper()
	wantCode(t, rec, http.StatusFound)
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newCodeFor runs authorize and returns the code.
func newCodeFor(t testing.TB, h http.Handler) string {
	t.Helper()
	code := location(t, callAuthorize(h)).Query().Get("code")
	if code == "" {
		t.Fatal("authorize gave no code")
	}
	return code
}

// callToken posts form to the token endpoint with HTTP Basic id:secret
// (none when id is "").
func callToken(h http.Handler, id, secret string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "127.0.0.1:8443"
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return serve(h, req)
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	BaseURL      struct {
		Hostname string `json:"hostname"`
		Port     int    `json:"port"`
	} `json:"httpsBaseUrl"`
}

// tokensOf decodes a 200 token answer.
func tokensOf(t testing.TB, rec *httptest.ResponseRecorder) tokenAnswer {
	t.Helper()
	wantCode(t, rec, http.StatusOK)
	var a tokenAnswer
	if err := json.NewDecoder(rec.Body).Decode(&a); err != nil || a.AccessToken == "" || a.RefreshToken == "" {
		t.Fatalf("token answer: %v %+v", err, a)
	}
	return a
}

// exchange trades code for tokens with the right client.
func exchange(h http.Handler, code string) *httptest.ResponseRecorder {
	return callToken(h, clientID, clientSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
}

// signIn runs authorize and the code exchange.
func signIn(t testing.TB, h http.Handler) tokenAnswer {
	t.Helper()
	return tokensOf(t, exchange(h, newCodeFor(t, h)))
}

// refresh presents the refresh token rt.
func refresh(h http.Handler, rt string) *httptest.ResponseRecorder {
	return callToken(h, clientID, clientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"vms.all"}})
}

// oauthError reads the error code of a token-endpoint answer, failing
// unless its status is code.
func oauthError(t testing.TB, rec *httptest.ResponseRecorder, code int) string {
	t.Helper()
	wantCode(t, rec, code)
	var e struct{ Error string }
	if err := json.NewDecoder(rec.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	return e.Error
}

// bearer GETs target with the access token tok.
func bearer(h http.Handler, tok, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return serve(h, req)
}

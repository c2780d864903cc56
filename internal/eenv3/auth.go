package eenv3

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/een"
)

const (
	// scope is what camrelay asks EEN for.
	scope = "vms.all"
	// tokenTimeout bounds one token request, so a hung connection ends
	// (as ErrUnanswered) instead of holding the refresh lock for ever.
	tokenTimeout = 30 * time.Second
	// maxTokenAnswer bounds a token endpoint answer.
	maxTokenAnswer = 64 << 10
)

// Auth talks to EEN's OAuth2 endpoints: the authorization URL, the code
// exchange and the refresh. It keeps no token; it is safe for concurrent
// use.
type Auth struct {
	cfg Config
	hc  *http.Client
}

// NewAuth checks cfg and returns an Auth.
func NewAuth(cfg Config) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Auth{cfg: cfg, hc: tokenClient(cfg.HTTPClient)}, nil
}

// CloseIdleConnections closes the connections kept for the next call.
func (a *Auth) CloseIdleConnections() { a.hc.CloseIdleConnections() }

// AuthorizeURL is where a person signs in to EEN and consents; EEN then
// redirects to the redirect URL with a code and state.
func (a *Auth) AuthorizeURL(state string) string {
	q := url.Values{
		"client_id":     {a.cfg.ClientID},
		"response_type": {"code"},
		"scope":         {scope},
		"redirect_uri":  {a.cfg.RedirectURL},
		"state":         {state},
	}
	return a.cfg.AuthURL + "/oauth2/authorize?" + q.Encode()
}

// Exchange trades an authorization code for a token set. An answer
// without a refresh token is refused: camrelay cannot keep such a grant
// (EEN gives refresh tokens to confidential clients only).
func (a *Auth) Exchange(ctx context.Context, code string) (TokenSet, error) {
	if code == "" {
		return TokenSet{}, fmt.Errorf("een v3 exchange: %w: the redirect carried no code", ErrSignInNeeded)
	}
	set, err := a.token(ctx, "exchange", url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {a.cfg.RedirectURL},
	})
	if err == nil && set.RefreshToken == "" {
		err = fmt.Errorf("een v3 exchange: EEN gave no refresh token: register the application with EEN as a confidential client")
	}
	return set, err
}

// Refresh trades a refresh token for a new token set. EEN rotates refresh
// tokens: the one presented is spent once EEN has seen the request. The
// error tells the caller what became of it:
//   - nil: the new set holds the new refresh token (or the one presented,
//     when EEN sent none, as RFC 6749 §6 says to keep it then);
//   - matches ErrSignInNeeded (invalid_grant): the grant is gone;
//   - matches ErrClientRejected (401, invalid_client, unauthorized_client):
//     the client settings are wrong; the token was not used;
//   - matches ErrUnanswered (sent, no answer, or an unusable success
//     answer): the token must be taken as spent, never presented again;
//   - an UpstreamError with Retryable() true (*NotSentError, or an
//     *een.StatusError for 429 and 5xx, with RetryAfter): not used, retry
//     later with backoff;
//   - any other *een.StatusError (other 4xx, 3xx): not used, but retrying
//     will not help.
func (a *Auth) Refresh(ctx context.Context, refreshToken string) (TokenSet, error) {
	if refreshToken == "" {
		return TokenSet{}, fmt.Errorf("een v3 refresh: %w: no refresh token", ErrSignInNeeded)
	}
	set, err := a.token(ctx, "refresh", url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"scope":         {scope},
	})
	if err == nil && set.RefreshToken == "" {
		set.RefreshToken = refreshToken
	}
	return set, err
}

// token posts form to the token endpoint and reads the answer.
func (a *Auth) token(ctx context.Context, op string, form url.Values) (TokenSet, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	tr := newSendTrace()
	req, err := a.tokenRequest(tr.attach(ctx), form)
	if err != nil {
		return TokenSet{}, fmt.Errorf("een v3 %s: %w", op, redactURLError(err))
	}
	issued := time.Now()
	resp, err := a.hc.Do(req)
	if err != nil {
		if tr.sent() {
			return TokenSet{}, unanswered(op, redactURLError(err))
		}
		return TokenSet{}, &NotSentError{Op: op, Err: redactURLError(err)}
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return TokenSet{}, tokenRefusal(op, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer+1))
	if err != nil {
		return TokenSet{}, unanswered(op, fmt.Errorf("reading the answer: %w", redactURLError(err)))
	}
	if len(body) > maxTokenAnswer {
		return TokenSet{}, fmt.Errorf("een v3 %s: %w: larger than %d bytes", op, ErrBadAnswer, maxTokenAnswer)
	}
	set, err := ParseTokenAnswer(body, issued)
	if err != nil {
		return TokenSet{}, fmt.Errorf("een v3 %s: %w", op, err)
	}
	return set, nil
}

// tokenRequest is the POST of form, with the client's credentials.
func (a *Auth) tokenRequest(ctx context.Context, form url.Values) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.AuthURL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	// A new connection for each request, and no way to send the body a
	// second time: net/http retries a request only on a reused connection,
	// and a POST only when nothing of it was written or it can rewind the
	// body. A refresh token goes out at most once per call.
	req.Close = true
	req.GetBody = nil
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "camrelay")
	// RFC 6749 §2.3.1: form-encode id and secret before Basic.
	req.SetBasicAuth(url.QueryEscape(a.cfg.ClientID), url.QueryEscape(a.cfg.ClientSecret))
	return req, nil
}

// tokenRefusal classifies an answer other than 200 by its OAuth2 error
// code first (some servers use 401 or 403 for invalid_grant), then by
// its status.
func tokenRefusal(op string, resp *http.Response) error {
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, maxTokenAnswer)).Decode(&body)
	code := oauthCode(body.Error)
	se := &een.StatusError{Op: "v3 " + op, Code: resp.StatusCode, Wait: een.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	switch {
	case code == "invalid_grant" && op == "exchange":
		return fmt.Errorf("een v3 exchange: EEN refused the code (invalid_grant: used, expired, or the redirect URL differs from the one whitelisted): %w", ErrSignInNeeded)
	case code == "invalid_grant":
		return fmt.Errorf("een v3 %s: EEN refused the refresh token (%d invalid_grant: expired, revoked or used): %w", op, resp.StatusCode, ErrSignInNeeded)
	case code == "invalid_client" || code == "unauthorized_client" || resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("een v3 %s: %d %s: %w", op, resp.StatusCode, cmp.Or(code, "unauthorized"), ErrClientRejected)
	case code != "":
		return fmt.Errorf("%w: %s", se, code)
	}
	return se
}

// drain lets the connection be reused; a bounded read so a huge body is
// not pulled just to be thrown away.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

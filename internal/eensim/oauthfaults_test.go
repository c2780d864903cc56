package eensim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestTokenUnavailableRotatesNothing: an injected 503 spends no refresh
// token, so presenting it again is no reuse.
func TestTokenUnavailableRotatesNothing(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	a := signIn(t, h)
	s.cfg.Faults.TokenUnavailable = 1
	for range 3 {
		if e := oauthError(t, refresh(h, a.RefreshToken), http.StatusServiceUnavailable); e != "temporarily_unavailable" {
			t.Errorf("injected: %s", e)
		}
	}
	s.cfg.Faults.TokenUnavailable = 0
	tokensOf(t, refresh(h, a.RefreshToken))
	if st := s.Stats().OAuth; st.TokenErrors["temporarily_unavailable"] != 3 || st.RefreshReuses != 0 || st.Refreshes != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestTokenDelayRotatesFirst: the delay comes after the rotation, so a
// client that gives up during it holds a spent refresh token, and
// presenting it again is a reuse that revokes the grant.
func TestTokenDelayRotatesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, v3(nil))
		h := s.Handler()
		a := signIn(t, h) // the exchange waits the delay too: none yet
		s.cfg.Faults.TokenDelay = 3 * time.Second

		start := time.Now()
		a = tokensOf(t, refreshCtx(t.Context(), h, a.RefreshToken))
		if waited := time.Since(start); waited != 3*time.Second {
			t.Errorf("answered after %s, want 3s", waited)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		spent := a.RefreshToken
		if rec := refreshCtx(ctx, h, spent); rec.Body.Len() != 0 {
			t.Errorf("a request given up in the delay got an answer: %d %s", rec.Code, rec.Body)
		}
		if st := s.Stats().OAuth; st.Refreshes != 2 {
			t.Errorf("refreshes = %d, want 2: the abandoned one rotated too", st.Refreshes)
		}
		if e := oauthError(t, refreshCtx(t.Context(), h, spent), http.StatusBadRequest); e != "invalid_grant" {
			t.Errorf("presenting the spent token: %s", e)
		}
		if st := s.Stats().OAuth; st.RefreshReuses != 1 || st.GrantsRevoked != 1 {
			t.Errorf("stats %+v, want the reuse counted and the grant revoked", st)
		}
	})
}

// refreshCtx is refresh with a context.
func refreshCtx(ctx context.Context, h http.Handler, rt string) *httptest.ResponseRecorder {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	return serve(h, req)
}

// TestV3StateIsBounded: grants, spent refresh tokens and access tokens
// are capped, so a client refreshing in a loop cannot grow the simulator.
func TestV3StateIsBounded(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	first := signIn(t, h)
	for range maxGrants {
		signIn(t, h)
	}
	if e := oauthError(t, refresh(h, first.RefreshToken), http.StatusBadRequest); e != "invalid_grant" {
		t.Errorf("the grant beyond the cap: %s", e)
	}
	if st := s.Stats().OAuth; st.GrantsRevoked != 1 || st.RefreshReuses != 0 {
		t.Errorf("stats %+v, want the oldest grant revoked, no reuse", st)
	}
	s.RevokeGrants()
	a := signIn(t, h)
	oldest := a.RefreshToken
	var spent []string
	for range maxSpent + 3 {
		spent = append(spent, a.RefreshToken)
		a = tokensOf(t, refresh(h, a.RefreshToken))
	}
	s.mu.Lock()
	nRefresh, nAccess := len(s.refreshTokens), len(s.accessTokens)
	s.mu.Unlock()
	if nRefresh != maxSpent+1 || nAccess != maxAccess {
		t.Errorf("%d refresh and %d access tokens kept, want %d and %d", nRefresh, nAccess, maxSpent+1, maxAccess)
	}
	// Forgotten: no longer known as spent, so no reuse and no revocation.
	oauthError(t, refresh(h, oldest), http.StatusBadRequest)
	tokensOf(t, refresh(h, a.RefreshToken))
	if st := s.Stats().OAuth; st.RefreshReuses != 0 {
		t.Errorf("a forgotten token counted as reused: %+v", st)
	}
	// Remembered: reuse.
	oauthError(t, refresh(h, spent[len(spent)-1]), http.StatusBadRequest)
	if st := s.Stats().OAuth; st.RefreshReuses != 1 {
		t.Errorf("a remembered spent token was no reuse: %+v", st)
	}
}

// TestNoSecretInAnswers: no answer, error or not, repeats a secret, a
// code or a token that the simulator was sent.
func TestNoSecretInAnswers(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	a := signIn(t, h)
	b := tokensOf(t, refresh(h, a.RefreshToken))
	code := newCodeFor(t, h)
	secrets := []string{clientSecret, url.QueryEscape(clientSecret), a.RefreshToken, a.AccessToken, code, "wrong-secret"}
	recs := []*httptest.ResponseRecorder{
		callToken(h, clientID, "wrong-secret", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}),
		callToken(h, clientID, clientSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://x/"}}),
		exchange(h, code),
		refresh(h, a.RefreshToken), // reuse
		refresh(h, b.RefreshToken),
		bearer(h, a.AccessToken, "/api/v3.0/clientSettings"),
		bearer(h, a.AccessToken, "/api/v3.0/media/liveImage.jpeg?deviceId=1006073b&type=preview"),
		callAuthorize(h, "redirect_uri", "http://127.0.0.1:3333/"+code),
		get(h, "", "/_sim/stats"),
	}
	for i, rec := range recs {
		var dump strings.Builder
		rec.Header().Write(&dump)
		dump.WriteString(rec.Body.String())
		for _, secret := range secrets {
			if strings.Contains(dump.String(), secret) {
				t.Errorf("answer %d (%d) repeats a secret:\n%s", i, rec.Code, dump.String())
			}
		}
	}
}

// TestConcurrentRefreshesOfOneToken: of many presentations of one refresh
// token at once, exactly one rotates it; the next is a reuse that revokes
// the grant, the rest find it gone.
func TestConcurrentRefreshesOfOneToken(t *testing.T) {
	s := newSim(t, v3(nil))
	h := s.Handler()
	a := signIn(t, h)
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- refresh(h, a.RefreshToken).Code })
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[http.StatusOK] != 1 || got[http.StatusBadRequest] != n-1 {
		t.Errorf("answers %v, want one 200 and %d 400", got, n-1)
	}
	if st := s.Stats().OAuth; st.Refreshes != 1 || st.RefreshReuses != 1 || st.GrantsRevoked != 1 {
		t.Errorf("stats %+v, want 1 refresh, 1 reuse, 1 grant revoked", st)
	}
}

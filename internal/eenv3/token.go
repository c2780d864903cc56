// Package eenv3 is a client for the Eagle Eye Networks API v3 as camrelay
// uses it: the OAuth2 authorization-code grant with rotating refresh
// tokens, the account's API host, the camera list and live preview images.
package eenv3

import (
	"errors"
	"time"
)

// TokenSet is one answer of EEN's token endpoint: what every fetcher
// shares through Redis. It is a credential: never log it or show it.
type TokenSet struct {
	AccessToken  string
	RefreshToken string    // rotates: each use returns a new one and spends this one
	Expiry       time.Time // when AccessToken stops working
	BaseURL      string    // the account's API host, "https://host[:port]", from httpsBaseUrl
}

// Errors of the token endpoint that a caller tells apart with errors.Is.
var (
	// ErrSignInNeeded means the grant is gone (refresh token invalid,
	// expired or revoked, consent denied): nothing but a person running
	// "fetcher connect" again brings it back. Never retry on it.
	ErrSignInNeeded = errors.New("een v3: sign-in needed: run fetcher connect")
	// ErrClientRejected means EEN refused the client id or secret
	// (invalid_client): the settings are wrong, the grant may be fine.
	ErrClientRejected = errors.New("een v3: EEN refused the client id or secret")
	// ErrUnanswered means a refresh request was sent but no answer came
	// back (the connection broke or timed out after the request went
	// out): EEN may have rotated the token, so the refresh token presented
	// must be treated as spent and never presented again.
	ErrUnanswered = errors.New("een v3: the token endpoint did not answer a sent request")
)

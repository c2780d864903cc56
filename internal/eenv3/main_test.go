package eenv3_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

const (
	clientID     = "camrelay app"           // a space: form-encoded before Basic
	clientSecret = "s3cr%t:with&odd=chars+" // every character Basic and forms treat specially
)

// TestMain checks, after every test, that no goroutine leaked and that no
// error message, printed line or page any test saw holds the client
// secret, a token or an authorization code.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := secrets.check(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// secretLog collects every secret the tests use or the fakes hand out,
// and every message the package produced.
type secretLog struct {
	mu      sync.Mutex
	secrets map[string]bool
	msgs    []string
}

var secrets = &secretLog{secrets: map[string]bool{
	clientSecret:                  true,
	url.QueryEscape(clientSecret): true,
	base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret))): true, // the Basic credentials
}}

// secret adds s (a token, a code) to what must never be shown.
func (l *secretLog) secret(s string) {
	if len(s) < 6 {
		return // too short to tell from ordinary text
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets[s] = true
}

// note records err's message for the final check.
func (l *secretLog) note(err error) {
	if err != nil {
		l.text(err.Error())
	}
}

// text records something shown (a printed line, a page).
func (l *secretLog) text(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, s)
}

func (l *secretLog) check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, msg := range l.msgs {
		for s := range l.secrets {
			if strings.Contains(msg, s) {
				return fmt.Errorf("message %q holds a secret", msg)
			}
		}
	}
	if testing.Verbose() {
		fmt.Printf("secret check: %d messages, %d secrets, no leak\n", len(l.msgs), len(l.secrets))
	}
	return nil
}

// wantIs checks that err wraps target.
func wantIs(t *testing.T, err, target error) {
	t.Helper()
	secrets.note(err)
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// wantNot checks that err does not wrap target.
func wantNot(t *testing.T, err, target error) {
	t.Helper()
	if errors.Is(err, target) {
		t.Fatalf("error %v matches %v, want it not to", err, target)
	}
}

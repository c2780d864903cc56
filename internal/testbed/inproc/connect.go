package inproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Connected is what a "fetcher connect" run did.
type Connected struct {
	Output string        // everything it printed
	Code   string        // the authorization code EEN's redirect carried: a secret, for tests that look for it
	Took   time.Duration // from start to the stored grant
	At     time.Time     // when it ended, the grant stored
}

// Connect runs "fetcher connect" in-process with vars (a v3 fetcher's
// settings, see testbed.StackVars.WithV3) as a person would: it opens the
// authorization URL the run prints, and the simulator's automatic consent
// redirects to the run's listener on the redirect URL's host and port. It
// returns once the run has ended, with an error unless it said it is
// connected. It takes no testing.TB: the bench signs in with it too.
func Connect(ctx context.Context, vars map[string]string) (Connected, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out := &testbed.SyncBuffer{}
	env := app.Env{Args: []string{"connect"}, Getenv: func(k string) string { return vars[k] }, Stdout: out, Stderr: out}
	var runErr error
	ended := make(chan struct{})
	go func() { runErr = app.RunFetcher(ctx, env); close(ended) }()
	c := Connected{}
	authURL, err := printedURL(ctx, out, ended)
	if err == nil {
		c.Code, err = consent(ctx, authURL)
	}
	if err != nil {
		cancel()
		<-ended // at once: the run ends with ctx
		return Connected{Output: out.String()}, fmt.Errorf("fetcher connect: %w (run: %v): %s", err, runErr, out)
	}
	<-ended // within the 30 s of ctx
	c.Output, c.At = out.String(), time.Now()
	c.Took = c.At.Sub(start)
	if runErr == nil && !strings.Contains(c.Output, "Connected to EEN API v3") {
		runErr = errors.New("it never said it is connected")
	}
	if runErr != nil {
		return c, fmt.Errorf("fetcher connect: %w: %s", runErr, c.Output)
	}
	return c, nil
}

// printedURL waits for the authorization URL on out; the run ending
// first is an error.
func printedURL(ctx context.Context, out *testbed.SyncBuffer, ended <-chan struct{}) (string, error) {
	var u string
	gone := false
	err := testbed.Wait(ctx, 20*time.Second, "the authorization URL printed", func() bool {
		select {
		case <-ended:
			gone = true
			return true
		default:
		}
		u = urlLine(out.String())
		return u != ""
	})
	if gone {
		return "", errors.New("it ended before printing a URL")
	}
	return u, err
}

// urlLine is the authorization URL, printed on a line of its own.
func urlLine(out string) string {
	for l := range strings.Lines(out) {
		if l = strings.TrimSpace(l); strings.Contains(l, "/oauth2/authorize?") && !strings.Contains(l, " ") {
			return l
		}
	}
	return ""
}

// consent is the person's browser: it follows the authorization URL
// through the simulator's automatic consent to the redirect listener, and
// returns the code the redirect carried.
func consent(ctx context.Context, authURL string) (string, error) {
	var code string
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if c := req.URL.Query().Get("code"); c != "" {
				code = c
			}
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			return nil
		}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return code, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if code == "" {
		return "", fmt.Errorf("no redirect with a code (ended at %s, %s)", resp.Request.URL.Redacted(), resp.Status)
	}
	return code, nil
}

package een_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/een"
	"github.com/camrelay/camrelay/internal/eensim"
	"github.com/camrelay/camrelay/internal/preview"
)

// TestNextWaitsForTheNextFrame runs on the real clock: Next of the newest
// frame returns the following one, not before its time and within the
// interval plus slack.
func TestNextWaitsForTheNextFrame(t *testing.T) {
	e := newEnv(t, func(cfg *eensim.Config) {
		cfg.Now = time.Now
		cfg.Cameras = append(cfg.Cameras, eensim.Camera{ESN: "100b4f17", Interval: 250 * time.Millisecond})
	}, nil)
	c := e.client(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	last := mustImage(t)(c.Prev(ctx, "100b4f17", "now"))
	for range 3 {
		start := time.Now()
		want := last.TS.Time().Add(250 * time.Millisecond)
		img := mustImage(t)(c.Next(ctx, "100b4f17", last.TS.String()))
		end := time.Now()
		if img.TS != preview.FormatTimestamp(want) {
			t.Fatalf("next %s = %s, want %s", last.TS, img.TS, preview.FormatTimestamp(want))
		}
		if end.Before(want) {
			t.Fatalf("next returned at %s, before its frame time %s", end, want)
		}
		if limit := want.Sub(start) + 2*time.Second; end.Sub(start) > limit {
			t.Fatalf("next took %s, want at most %s", end.Sub(start), limit)
		}
		last = img
	}
}

// slowNext sets the still clock on a frame of the 16 s camera, so a Next
// of it blocks for 16 s, and returns that frame's timestamp.
func slowNext(t *testing.T, e *env, c *een.Client) string {
	t.Helper()
	latest := mustImage(t)(c.Prev(t.Context(), camSlow, "now"))
	e.clock.Set(latest.TS.Time())
	return latest.TS.String()
}

func TestNextPollTimeout(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client(t, func(cfg *een.Config) { cfg.PollTimeout = 200 * time.Millisecond })
	ts := slowNext(t, e, c)
	start := time.Now()
	_, err := c.Next(t.Context(), camSlow, ts)
	wantIs(t, err, een.ErrPollTimeout)
	if waited := time.Since(start); waited < 200*time.Millisecond || waited > 5*time.Second {
		t.Errorf("poll timeout after %s, want 200ms (+ slack)", waited)
	}
	if een.StatusCode(err) != 0 || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("poll timeout %v looks like a failure", err)
	}
	// The client stays usable.
	mustImage(t)(c.Prev(t.Context(), camSlow, "now"))
}

// TestNextCancel cancels a blocked Next once the simulator holds it.
func TestNextCancel(t *testing.T) {
	arrived := make(chan struct{}, 1)
	e := newEnv(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/asset/next/image.jpeg" {
				arrived <- struct{}{}
			}
			h.ServeHTTP(w, r)
		})
	})
	c := e.client(t, nil)
	ts := slowNext(t, e, c)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx, camSlow, ts)
		done <- err
	}()
	select {
	case <-arrived:
	case err := <-done:
		t.Fatalf("next returned before blocking: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("next never reached the simulator")
	}
	cancel()
	canceled := time.Now()
	select {
	case err := <-done:
		wantIs(t, err, context.Canceled)
		if errors.Is(err, een.ErrPollTimeout) {
			t.Errorf("a canceled next reported a poll timeout: %v", err)
		}
		if d := time.Since(canceled); d > 2*time.Second {
			t.Errorf("next returned %s after its context ended", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("next did not return after its context ended")
	}
}

// TestCancelWhileWaitingForLogin: a caller whose context ends stops waiting
// for a login another caller started, and the login still completes.
func TestCancelWhileWaitingForLogin(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	e := newEnv(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/g/aaa/authenticate" {
				started <- struct{}{}
				<-release
			}
			h.ServeHTTP(w, r)
		})
	})
	open := sync.OnceFunc(func() { close(release) })
	t.Cleanup(open) // before the server's Close, even when the test fails
	c := e.client(t, nil)
	first := make(chan error, 1)
	go func() { first <- c.Login(context.Background()) }()
	<-started

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Prev(ctx, camGate, "now")
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		wantIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("a canceled caller kept waiting for the login")
	}
	open()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	mustImage(t)(c.Prev(t.Context(), camGate, "now"))
	if c.Logins() != 1 {
		t.Errorf("%d logins, want 1", c.Logins())
	}
}

package testbed

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// pollEvery is how often Wait checks its condition.
const pollEvery = 20 * time.Millisecond

// Wait polls cond until it holds, within passes or ctx ends: the one wait
// helper of tests and the bench.
func Wait(ctx context.Context, within time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", within, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
		case <-time.After(pollEvery): // polling a condition with a deadline
		}
	}
	return nil
}

// WaitFor is Wait for a test: it fails t when the deadline passes.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Wait(context.Background(), within, what, cond); err != nil {
		t.Fatal(err)
	}
}

// FreeAddr asks the kernel for a free loopback host:port.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// SyncBuffer collects a program's output for failure messages; with Keep
// set it holds only about the last Keep bytes.
type SyncBuffer struct {
	Keep int
	mu   sync.Mutex
	b    []byte
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	if s.Keep > 0 && len(s.b) > 2*s.Keep {
		s.b = append([]byte(nil), s.b[len(s.b)-s.Keep:]...)
	}
	return len(p), nil
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

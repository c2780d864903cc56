// Package testsignal lets code tell its tests what happened, so they wait
// for an event instead of polling state (after river's internal/testsignal).
// A TestSignal is a field of the code's struct; only a test initialises it.
// Uninitialised, Signal is a nil check and nothing else: production code
// never initialises one and pays nothing.
package testsignal

import (
	"sync/atomic"
	"time"
)

// BufferSize is how many signals wait for a test to read them; beyond it,
// signals are dropped (and counted) rather than block the code under test.
const BufferSize = 256

// Timeout is how long a test waits for a signal before it fails.
const Timeout = 5 * time.Second

// waitTimeout is Timeout; this package's tests shorten it.
var waitTimeout = Timeout

// TB is the part of testing.TB a wait needs; taking it instead keeps the
// testing package out of production binaries.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// TestSignal carries events of type T from the code under test to a test.
// The zero value is off. Init it before the code that signals starts.
type TestSignal[T any] struct {
	ch      chan T
	dropped atomic.Int64
}

// Init turns the signal on. Call it before the signalling goroutines
// start, and only from tests.
func (s *TestSignal[T]) Init() { s.ch = make(chan T, BufferSize) }

// Enabled reports whether a test listens: code whose signal value costs
// something to compute checks it first.
func (s *TestSignal[T]) Enabled() bool { return s.ch != nil }

// Signal sends v to the test, if one listens. It never blocks: with the
// buffer full, v is dropped and counted.
func (s *TestSignal[T]) Signal(v T) {
	if s.ch == nil {
		return
	}
	select {
	case s.ch <- v:
	default:
		s.dropped.Add(1)
	}
}

// Dropped is how many signals found the buffer full.
func (s *TestSignal[T]) Dropped() int64 { return s.dropped.Load() }

// WaitOrTimeout returns the next signal, failing the test after Timeout.
func (s *TestSignal[T]) WaitOrTimeout(t TB) T {
	t.Helper()
	return s.WaitFor(t, "a signal", func(T) bool { return true })
}

// WaitUntil returns once cond holds, checking it now and again at each
// signal: for a state the signals change, such as a count reaching n.
// It fails the test if Timeout passes without a signal making cond hold.
func (s *TestSignal[T]) WaitUntil(t TB, what string, cond func() bool) {
	t.Helper()
	if !cond() {
		s.WaitFor(t, what, func(T) bool { return cond() })
	}
}

// WaitFor reads signals until one matches, and returns it; what names it
// in the failure after Timeout. Signals that do not match are consumed.
func (s *TestSignal[T]) WaitFor(t TB, what string, match func(T) bool) T {
	t.Helper()
	var zero T
	if s.ch == nil {
		t.Fatalf("testsignal: waiting for %s on a signal never initialised", what)
		return zero
	}
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		select {
		case v := <-s.ch:
			if match(v) {
				return v
			}
		case <-timeout.C:
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
			return zero
		}
	}
}

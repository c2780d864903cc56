package testsignal

import (
	"fmt"
	"testing"
	"time"
)

// fakeTB records a failure instead of ending the test, so a timeout can
// be checked.
type fakeTB struct{ failed string }

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestOffSignalIsANoOp(t *testing.T) {
	var s TestSignal[int]
	for i := range BufferSize * 2 {
		s.Signal(i) // must not block nor allocate a channel
	}
	if s.Enabled() || s.Dropped() != 0 {
		t.Errorf("an uninitialised signal: enabled %v, dropped %d", s.Enabled(), s.Dropped())
	}
	if n := testing.AllocsPerRun(100, func() { s.Signal(1) }); n != 0 {
		t.Errorf("Signal allocates %v times when off", n)
	}
	var tb fakeTB
	s.WaitOrTimeout(&tb)
	if tb.failed == "" {
		t.Error("waiting on an uninitialised signal did not fail")
	}
}

func TestWaitForSkipsToTheMatch(t *testing.T) {
	var s TestSignal[int]
	s.Init()
	for i := range 5 {
		s.Signal(i)
	}
	if v := s.WaitOrTimeout(t); v != 0 {
		t.Errorf("first signal %d, want 0", v)
	}
	if v := s.WaitFor(t, "3", func(v int) bool { return v == 3 }); v != 3 {
		t.Errorf("WaitFor returned %d, want 3", v)
	}
	if v := s.WaitOrTimeout(t); v != 4 {
		t.Errorf("signal after the match %d, want 4", v)
	}
}

func TestWaitUntilChecksAtEachSignal(t *testing.T) {
	var s TestSignal[int]
	s.Init()
	n := 0
	s.WaitUntil(t, "nothing", func() bool { return true }) // holds already: no signal needed
	for range 3 {
		n++
		s.Signal(n)
	}
	s.WaitUntil(t, "n = 3", func() bool { return n == 3 })
	defer func(d time.Duration) { waitTimeout = d }(waitTimeout)
	waitTimeout = 50 * time.Millisecond
	var tb fakeTB
	s.WaitUntil(&tb, "n = 4", func() bool { return n == 4 })
	if tb.failed == "" {
		t.Error("WaitUntil returned for a condition that never held")
	}
}

// A full buffer drops signals rather than block the code under test.
func TestFullBufferDropsAndCounts(t *testing.T) {
	var s TestSignal[int]
	s.Init()
	for i := range BufferSize + 3 {
		s.Signal(i)
	}
	if s.Dropped() != 3 {
		t.Errorf("dropped %d, want 3", s.Dropped())
	}
	if v := s.WaitOrTimeout(t); v != 0 {
		t.Errorf("first signal %d, want the oldest, 0", v)
	}
}

package testbed

import (
	"testing"
	"time"
)

// A SentinelSet fails over: after kill -9 of the primary, a client that
// follows the sentinels reads what was replicated and writes again.
func TestSentinelsFailOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five servers and waits for a failover: not in -short mode")
	}
	s := Sentinels(t, SentinelOptions{DownAfter: time.Second})
	c := s.Client()
	if err := c.Set(t.Context(), "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	old := s.Primary.Port
	WaitFor(t, 5*time.Second, "the write replicated", func() bool {
		return s.Replica.Client().Get(t.Context(), "k").Val() == "before"
	})
	took := s.KillPrimary(nil)
	t.Logf("promotion %s after the kill (down-after %s)", took.Round(time.Millisecond), s.DownAfter())
	if s.Primary.Port == old || took < s.DownAfter() {
		t.Fatalf("primary still on port %d, promoted after %s", old, took)
	}
	WaitFor(t, 10*time.Second, "the client to write to the new primary", func() bool {
		return c.Set(t.Context(), "k2", "after", 0).Err() == nil
	})
	if got := c.Get(t.Context(), "k").Val(); got != "before" {
		t.Errorf("k = %q on the new primary, want before", got)
	}
}

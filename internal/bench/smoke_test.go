package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camrelay/camrelay/internal/testbed"
)

// TestMain lets this test binary serve as the benchmark's child processes.
func TestMain(m *testing.M) {
	MaybeChild()
	goleak.VerifyTestMain(m)
}

// TestSmoke runs `bench -smoke` in-process, so CI keeps the command alive:
// every scenario must produce its figures. Speeds are not checked (they
// depend on the machine and what else runs on it), only that each
// scenario measured something.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, nginx and a dozen processes: not in -short mode")
	}
	if _, err := testbed.RedisBinary(); err != nil {
		testbed.Unavailable(t, err.Error()+": skipping the benchmark smoke run")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	rep, err := Run(ctx, Options{Smoke: true, Out: &out, Log: testLog{t}})
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int)
	for _, r := range rep.Rows {
		if r.Err {
			t.Errorf("%s: %s", r.Scenario, r.Camrelay)
			continue
		}
		if r.Camrelay == "" || strings.Contains(r.Camrelay, "NaN") {
			t.Errorf("%s: %s: no figure", r.Scenario, r.Figure)
		}
		got[r.Scenario]++
	}
	for _, s := range scenarios {
		if got[s.title] == 0 {
			t.Errorf("scenario %s produced no figures", s.name)
		}
	}
}

// testLog sends the benchmark's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

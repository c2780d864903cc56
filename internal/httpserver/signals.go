package httpserver

import (
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testsignal"
)

// TestSignals tell tests what a replica did, so they wait for it rather
// than poll /readyz or its state. Production code never initialises them:
// each Signal is then a nil check. A test calls Init before Run.
type TestSignals struct {
	// ReadyChanged is sent whenever an input of readiness changes (Redis
	// lost or answering again, the subscription lost or state re-read),
	// with the readiness then. Readiness also lapses by time alone (no
	// answer from Redis for two refresh intervals): that sends nothing.
	ReadyChanged testsignal.TestSignal[Readiness]
	Subscribed   testsignal.TestSignal[struct{}]      // (re)subscribed and every frame re-read
	RedisLost    testsignal.TestSignal[error]         // the first failed check of an outage
	RedisBack    testsignal.TestSignal[time.Duration] // Redis answers again after being down this long
	ColdWaiting  testsignal.TestSignal[preview.ESN]   // a still-image request parks for a waking camera's first frame
}

// Readiness is the replica's readiness and, when not ready, why.
type Readiness struct {
	Ready bool
	Why   string // as /readyz says it; "" when ready
}

// Init turns every signal on.
func (ts *TestSignals) Init() {
	ts.ReadyChanged.Init()
	ts.Subscribed.Init()
	ts.RedisLost.Init()
	ts.RedisBack.Init()
	ts.ColdWaiting.Init()
}

// readyChanged tells tests the readiness after one of its inputs changed.
func (s *Server) readyChanged() {
	if !s.TestSignals.ReadyChanged.Enabled() {
		return // no test listens: do not compute it
	}
	why := s.notReady(time.Now())
	s.TestSignals.ReadyChanged.Signal(Readiness{Ready: why == "", Why: why})
}

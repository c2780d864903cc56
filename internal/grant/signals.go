package grant

import "github.com/camrelay/camrelay/internal/testsignal"

// TestSignals tell tests what a Manager did, so they wait for it rather
// than poll. Production code never initialises them.
type TestSignals struct {
	Claimed   testsignal.TestSignal[int64]  // this Manager claimed gen to refresh it
	Refreshed testsignal.TestSignal[int64]  // this Manager stored the set of this gen, refreshed
	Adopted   testsignal.TestSignal[int64]  // this Manager took up this gen from Redis
	Restored  testsignal.TestSignal[int64]  // this Manager wrote this gen back to a Redis that lost it
	Lost      testsignal.TestSignal[string] // the grant became lost, for this reason
	Usable    testsignal.TestSignal[int64]  // the grant became usable again, at this gen
}

// Init turns every signal on.
func (ts *TestSignals) Init() {
	ts.Claimed.Init()
	ts.Refreshed.Init()
	ts.Adopted.Init()
	ts.Restored.Init()
	ts.Lost.Init()
	ts.Usable.Init()
}

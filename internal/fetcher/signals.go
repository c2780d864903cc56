package fetcher

import (
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testsignal"
)

// TestSignals tell tests what a fetcher did, so they wait for it rather
// than poll State or /status. Production code never initialises them:
// each Signal is then a nil check. A test calls Init before Run.
type TestSignals struct {
	LeadGained          testsignal.TestSignal[preview.ESN] // a lock obtained, following begins
	LeadLost            testsignal.TestSignal[LeadLost]    // following ended and the lock released
	FrameStored         testsignal.TestSignal[FrameStored] // the fenced script took a frame
	MembershipInstalled testsignal.TestSignal[Membership]  // a new assignment is in force
	SteppedAside        testsignal.TestSignal[struct{}]    // the login is refused: out of the live set
	Rejoined            testsignal.TestSignal[struct{}]    // the login is accepted again
	Woken               testsignal.TestSignal[preview.ESN] // a sleeping camera found watched (notice or mark)
	MarksChecked        testsignal.TestSignal[int]         // a periodic read of watch marks: how many
}

// LeadLost is the end of a lead and why it ended (the cause of its context:
// reassigned, lock lost or expired, stepping aside, or shutdown).
type LeadLost struct {
	ESN   preview.ESN
	Cause error
}

// FrameStored is a frame the fenced script stored.
type FrameStored struct {
	ESN preview.ESN
	TS  preview.Timestamp
}

// Membership is an installed assignment: how many live fetchers share the
// cameras and how many are this fetcher's.
type Membership struct {
	Fetchers, Assigned int
}

// Init turns every signal on.
func (ts *TestSignals) Init() {
	ts.LeadGained.Init()
	ts.LeadLost.Init()
	ts.FrameStored.Init()
	ts.MembershipInstalled.Init()
	ts.SteppedAside.Init()
	ts.Rejoined.Init()
	ts.Woken.Init()
	ts.MarksChecked.Init()
}

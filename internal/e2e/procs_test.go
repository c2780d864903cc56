package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/child"
)

func TestMain(m *testing.M) {
	child.MaybeRun(childRoles) // the fetcher processes of these tests start here
	os.Exit(m.Run())
}

// fetcherProc is a fetcher of a cluster's stack, running as its own
// process (this test binary started again), so a test can kill -9 or
// freeze it.
type fetcherProc struct {
	*child.Proc
	admin string // host:port of its operators' port
	logs  *testbed.SyncBuffer
}

// status reads the fetcher's per-camera state from its admin port.
func (p *fetcherProc) status() map[preview.ESN]fetcher.CameraState {
	st, _ := testbed.FetcherStatus(context.Background(), "http://"+p.admin)
	return st
}

// leaderOf returns the index of the fetcher leading esn, or -1.
func leaderOf(procs []*fetcherProc, esn preview.ESN) int {
	for i, p := range procs {
		if st := p.status(); st[esn].Leading {
			return i
		}
	}
	return -1
}

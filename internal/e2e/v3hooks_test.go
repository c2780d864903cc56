package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/app"
	"github.com/camrelay/camrelay/internal/grant"
	"github.com/camrelay/camrelay/internal/testbed"
	"github.com/camrelay/camrelay/internal/testbed/child"
)

// v3FetcherRole is a fetcher child whose grant manager has the timings of
// v3Timings and hooks the parent arms: at BeforeClaim (the refresh lock
// held, nothing claimed) or BeforeRefresh (claimed, not yet presented), a
// refresh stops until the parent lets it go on, or kills the process.
const v3FetcherRole = "fetcher-v3"

var childRoles = map[string]child.Role{v3FetcherRole: child.Program(v3FetcherRole, app.RunFetcher, setupV3Fetcher)}

// v3Timings fit the grant manager to access tokens living 2 s (EEN's live
// hours): refreshes are due 0.5 s before expiry, so no wait may be longer
// than that in the steady state, and a refresh 500 ms after the last is
// allowed (the default 10 s would let each token expire). A claim whose
// claimer vanished is stale after 2×(settle+timeout)+lock+poll = 6.25 s.
func v3Timings(c *grant.Config) {
	c.LockTTL = time.Second
	c.RefreshTimeout = 2 * time.Second
	c.ClaimSettle = 125 * time.Millisecond
	c.PollEvery = time.Second
	c.RejectedMinAge = 500 * time.Millisecond
}

func setupV3Fetcher(env *app.Env, cmds <-chan string) {
	env.GrantConfig = v3Timings
	g := &hookGate{}
	env.GrantHooks = grant.Hooks{BeforeClaim: g.at("claim"), BeforeRefresh: g.at("refresh")}
	go g.obey(cmds)
}

// hookGate holds a refresh at the point armed, once.
type hookGate struct {
	mu    sync.Mutex
	armed string        // the point to hold at next; "" none
	id    string        // the parent's order that armed it
	held  chan struct{} // closed to let a held refresh go on
}

// hookSay tells the parent, through the child's log (stderr), what the
// gate did.
func hookSay(format string, a ...any) { fmt.Fprintf(os.Stderr, "e2e-hook: "+format+"\n", a...) }

// at is the hook of point: it holds there when armed for it, until
// released or the refresh's context ends.
func (g *hookGate) at(point string) func(context.Context) {
	return func(ctx context.Context) {
		g.mu.Lock()
		if g.armed != point {
			g.mu.Unlock()
			return
		}
		g.armed = ""
		id, held := g.id, make(chan struct{})
		g.held = held
		g.mu.Unlock()
		hookSay("held %s %s", point, id)
		select {
		case <-held:
		case <-ctx.Done():
		}
	}
}

// obey takes the parent's orders: "arm POINT ID", "disarm ID" (and let a
// held refresh go on), "release ID" (let it go on), each acknowledged.
func (g *hookGate) obey(cmds <-chan string) {
	for c := range cmds {
		f := strings.Fields(c)
		if len(f) < 2 {
			continue
		}
		g.mu.Lock()
		switch f[0] {
		case "arm":
			if len(f) == 3 {
				g.armed, g.id = f[1], f[2]
			}
		case "disarm":
			g.armed = ""
			g.letGo()
		case "release":
			g.letGo()
		}
		g.mu.Unlock()
		hookSay("%s", c)
	}
}

// letGo lets a held refresh go on; mu held.
func (g *hookGate) letGo() {
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

// hookOrders gives the parent's side of the gates: numbered orders, and
// waits on the children's answers.
type hookOrders struct{ n int }

// order sends cmd (with a fresh ID) to each of ps and waits for each to
// acknowledge it; it returns the ID.
func (h *hookOrders) order(t *testing.T, cmd string, ps ...*fetcherProc) string {
	t.Helper()
	h.n++
	id := fmt.Sprint(h.n)
	line := cmd + " " + id
	for _, p := range ps {
		if err := p.Send("%s", line); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ps {
		testbed.WaitFor(t, 10*time.Second, "a fetcher to take the order "+line, func() bool {
			return strings.Contains(p.logs.String(), "e2e-hook: "+line+"\n")
		})
	}
	return id
}

// held waits for one of ps to hold at point for order id, and returns it.
func (h *hookOrders) held(t *testing.T, point, id string, within time.Duration, ps ...*fetcherProc) *fetcherProc {
	t.Helper()
	var holder *fetcherProc
	testbed.WaitFor(t, within, "a refresh held at "+point, func() bool {
		for _, p := range ps {
			if strings.Contains(p.logs.String(), "e2e-hook: held "+point+" "+id+"\n") {
				holder = p
				return true
			}
		}
		return false
	})
	return holder
}

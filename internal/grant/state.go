package grant

import (
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/eenv3"
)

// state is what readiness, the log and the gauge say of the grant.
type state struct {
	lost       string // why the grant is lost; "" while usable
	client     bool   // EEN refused this fetcher's client id or secret at its last refresh
	clientHold time.Time
	clientBo   backoff.Backoff
}

func (s state) err() error {
	switch {
	case s.lost != "":
		return fmt.Errorf("%w (%s)", eenv3.ErrSignInNeeded, s.lost)
	case s.client:
		return eenv3.ErrClientRejected
	}
	return nil
}

// noteState brings the state up to date with memory, and says so once at
// each change (one line per fetcher, not one per caller or per second).
// Called with mu held.
func (m *Manager) noteState() {
	lost := m.mem.rec.Lost
	if lost == "" && m.mem.read && m.mem.rec.Gen == 0 && m.mem.pending == nil {
		lost = reasonNoSet
	}
	was := m.state
	m.state.lost = lost
	switch {
	case lost != "" && was.lost == "":
		m.cfg.Log.Error("EEN v3 sign-in needed: run fetcher connect", "reason", lost)
		m.m.signIn.Set(1)
		m.TestSignals.Lost.Signal(lost)
	case lost == "" && was.lost != "":
		m.cfg.Log.Info("grant: EEN v3 grant usable again")
		m.m.signIn.Set(0)
		m.TestSignals.Usable.Signal(m.mem.rec.Gen)
	}
}

// clientRejected notes that EEN refused this fetcher's client id or secret:
// it stops refreshing for a growing while (others may still), and says so
// once.
func (m *Manager) clientRejected() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.clientBo.Min == 0 {
		m.state.clientBo = backoff.Backoff{Min: 2 * time.Second, Max: 5 * time.Minute}
	}
	m.state.clientHold = time.Now().Add(m.state.clientBo.Next())
	if !m.state.client {
		m.cfg.Log.Error("EEN v3 refused the client id or secret: check EEN_CLIENT_ID and EEN_CLIENT_SECRET")
	}
	m.state.client = true
}

// clientOK notes a refresh EEN accepted.
func (m *Manager) clientOK() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.client {
		m.cfg.Log.Info("grant: EEN v3 accepts the client id and secret again")
	}
	m.state.client = false
	m.state.clientHold = time.Time{}
	m.state.clientBo.Reset()
}

package grant

import (
	"context"
	"time"

	"github.com/camrelay/camrelay/internal/redisstore"
)

// flight is one read of Redis, and the refresh it may lead to: one at a
// time per Manager (single-flight), however many callers want it. It runs
// on its own bounded context, so a caller giving up never cuts a refresh
// between presenting the token and storing the answer.
type flight struct {
	done chan struct{}
}

// sync starts a flight, or joins the one in progress, and waits for it
// or for ctx.
func (m *Manager) sync(ctx context.Context) error {
	m.mu.Lock()
	f := m.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		m.flight = f
		go m.fly(f)
	}
	m.mu.Unlock()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFlight waits for the flight in progress, if any, to end.
func (m *Manager) waitFlight() {
	m.mu.Lock()
	f := m.flight
	m.mu.Unlock()
	if f != nil {
		<-f.done
	}
}

func (m *Manager) fly(f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.flightLimit())
	defer cancel()
	retry := m.look(ctx)
	m.mu.Lock()
	m.retryAt = retry
	m.flight = nil
	m.noteState()
	m.mu.Unlock()
	close(f.done)
}

// look reads Redis, folds what it finds into memory, and refreshes when
// this Manager's turn has come. It returns when to look again at the
// earliest, or zero for the usual schedule.
func (m *Manager) look(ctx context.Context) time.Time {
	r, err := m.store.ReadToken(ctx)
	if err != nil {
		m.cfg.Log.Debug("grant: reading the EEN token set", "err", err)
		return time.Now().Add(m.cfg.PollEvery / 4)
	}
	m.absorb(ctx, r)
	if !m.due(time.Now()) {
		return time.Time{}
	}
	return m.refresh(ctx)
}

// absorb folds Redis' record r into memory: it adopts a newer set, writes
// back what Redis lost, and notices claims and losses.
func (m *Manager) absorb(ctx context.Context, r redisstore.TokenRecord) {
	if m.mem.pending != nil {
		if !m.storePending(ctx) {
			return
		}
		if r, err := m.store.ReadToken(ctx); err == nil {
			m.absorbRead(ctx, r)
		}
		return
	}
	m.absorbRead(ctx, r)
}

func (m *Manager) absorbRead(ctx context.Context, r redisstore.TokenRecord) {
	mine := m.mem.rec
	switch {
	case r.Gen > mine.Gen, mine.Lost != "" && r.Gen != 0 && r.Gen != mine.Gen && r.Lost == "":
		// Newer; or any usable set when ours is lost: nothing to protect.
		m.adopt(r)
	case r.Gen == mine.Gen && r.Gen != 0:
		m.same(ctx, r)
	case r.Gen < mine.Gen && mine.Lost == "":
		m.putBack(ctx, r)
	}
	m.mu.Lock()
	m.mem.read = true
	m.mu.Unlock()
}

func (m *Manager) adopt(r redisstore.TokenRecord) {
	m.mu.Lock()
	m.mem = memory{read: true, rec: r, claim: r.ClaimOwner}
	m.rejected, m.heldUntil = "", time.Time{}
	m.mu.Unlock()
	m.m.expiry.Set(float64(r.Set.Expiry.Unix()))
	m.TestSignals.Adopted.Signal(r.Gen)
}

// same handles Redis holding the very gen this Manager knows: the claim
// or loss it shows, or one it forgot (a restart).
func (m *Manager) same(ctx context.Context, r redisstore.TokenRecord) {
	mine := m.mem
	// A claim this Manager saw is missing: put back the one it presented
	// itself, and another's while the set is a write-back (which may have
	// missed it); otherwise it was released, its token unspent.
	putBack := r.ClaimOwner == "" && mine.claim != "" &&
		(mine.claim == m.owner && mine.sent || mine.claim != m.owner && r.Restored)
	m.mu.Lock()
	m.mem.rec.Failures, m.mem.rec.Restored = r.Failures, r.Restored
	if !putBack {
		m.mem.claim = r.ClaimOwner
	}
	if r.Lost != "" {
		m.mem.rec.Lost = r.Lost
	}
	m.mu.Unlock()
	switch {
	case r.Lost == "" && mine.rec.Lost != "":
		// Redis forgot the loss: say it again.
		m.store.LoseToken(ctx, r.Gen, mine.rec.Lost, 0)
	case putBack:
		back := mine.rec
		back.ClaimOwner = mine.claim
		m.store.SaveToken(ctx, back, 0)
	case r.ClaimOwner != "" && r.ClaimOwner != m.owner && r.Lost == "":
		m.loseStaleClaim(ctx, r.Gen)
	}
}

// loseStaleClaim marks the grant lost when another's claim is so old that
// its claimer must have died between presenting and storing.
func (m *Manager) loseStaleClaim(ctx context.Context, gen int64) {
	ok, err := m.store.LoseToken(ctx, gen, reasonStaleClaim, m.cfg.staleClaim())
	if err != nil || !ok {
		return
	}
	m.m.failures.WithLabelValues("stale_claim").Inc()
	m.mu.Lock()
	m.mem.rec.Lost = reasonStaleClaim
	m.mu.Unlock()
}

// putBack writes this Manager's newer set, and its claim, back to a Redis
// that lost them, holding claims off so that a refresh in flight lands
// first.
func (m *Manager) putBack(ctx context.Context, r redisstore.TokenRecord) {
	back := m.mem.rec
	back.ClaimOwner = ""
	if m.spent() {
		back.ClaimOwner = m.mem.claim
	}
	ok, err := m.store.SaveToken(ctx, back, m.cfg.hold())
	if err != nil || !ok {
		return
	}
	m.cfg.Log.Warn("grant: Redis had lost the newest EEN token set; wrote it back",
		"gen", back.Gen, "redis_gen", r.Gen)
	m.TestSignals.Restored.Signal(back.Gen)
}

// storePending stores a refreshed set that is still only in memory, and
// reports whether memory is settled (stored, or superseded in Redis).
func (m *Manager) storePending(ctx context.Context) bool {
	p := *m.mem.pending
	ok, err := m.store.SaveToken(ctx, p, 0)
	if err != nil {
		m.cfg.Log.Warn("grant: storing the refreshed EEN token set; trying again", "err", err)
		return false
	}
	m.mu.Lock()
	m.mem.pending = nil
	m.mu.Unlock()
	if ok {
		m.adopt(p)
		m.TestSignals.Refreshed.Signal(p.Gen)
	}
	return true
}

// due reports whether this Manager should refresh now.
func (m *Manager) due(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.mem.rec
	if r.Gen == 0 || r.Lost != "" || m.mem.pending != nil || m.spent() ||
		now.Before(m.state.clientHold) || now.Before(m.heldUntil) {
		return false
	}
	if m.rejected != "" && m.rejected == r.Set.AccessToken && now.Sub(r.Issued) >= m.cfg.RejectedMinAge {
		return true
	}
	return !now.Before(m.dueAt(r))
}

// dueAt is when r is to be refreshed: a quarter of its life (at most
// MaxAhead) before it expires, but never sooner than RejectedMinAge after
// it was issued (a token endpoint answering lives of 0 s makes no storm);
// at once for a seed.
func (m *Manager) dueAt(r redisstore.TokenRecord) time.Time {
	if r.Set.AccessToken == "" || r.Issued.IsZero() {
		return time.Time{}
	}
	due := r.Set.Expiry.Add(-m.cfg.ahead(r.Set.Expiry.Sub(r.Issued)))
	return later(due, r.Issued.Add(m.cfg.RejectedMinAge))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

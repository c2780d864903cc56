package fetcher

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/backoff"
	"github.com/camrelay/camrelay/internal/preview"
)

// view is this fetcher's picture of the live fetchers and of which cameras
// it should lead. Waiters learn of a change through the changed channel,
// which is closed and replaced on each change.
type view struct {
	mu      sync.Mutex
	members []string
	mine    map[preview.ESN]bool
	known   bool // a heartbeat has answered at least once, or aside
	aside   bool // standing aside: no camera is ours, not even a free one
	changed chan struct{}
}

func newView() *view { return &view{changed: make(chan struct{})} }

// get returns whether esn is ours, whether the view is known, whether this
// fetcher stands aside, and a channel closed at the next change.
func (v *view) get(esn preview.ESN) (mine, known, aside bool, changed <-chan struct{}) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.mine[esn], v.known, v.aside, v.changed
}

// changes returns a channel closed at the next change.
func (v *view) changes() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

// same reports whether members is the installed membership.
func (v *view) same(members []string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.known && !v.aside && slices.Equal(v.members, members)
}

// set installs a new membership.
func (v *view) set(members []string, mine map[preview.ESN]bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.members, v.mine, v.known, v.aside = members, mine, true, false
	close(v.changed)
	v.changed = make(chan struct{})
}

// standAside makes no camera ours: the leads end and no lock is taken.
func (v *view) standAside() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.members, v.mine, v.known, v.aside = nil, nil, true, true
	close(v.changed)
	v.changed = make(chan struct{})
}

// heartbeatEvery is how often a fetcher says it is alive; one that missed
// three in a row is taken for dead. Both are well inside the lock TTL, so
// a dead fetcher's cameras are reassigned before its locks expire and the
// new owners take them as soon as they do.
func (f *Fetcher) heartbeatEvery() time.Duration { return f.cfg.LockTTL / 5 }

// membershipLoop beats, reads the live fetchers and the cameras each
// lists, and recomputes which cameras are ours whenever they change. It
// joins once the start-up login check has answered, and while the
// upstream refuses the login it stands aside: out of the live set, so the
// others take its cameras, and leading none.
func (f *Fetcher) membershipLoop(ctx context.Context, checked <-chan struct{}) {
	r := newRoster(f.cfg.ID, f.cfg.Cameras)
	defer f.leave(ctx)
	select {
	case <-ctx.Done():
	case <-checked:
	}
	failing, beaten, aside := false, false, false
	for ctx.Err() == nil {
		if refused := f.refused(); refused != aside {
			aside = refused
			f.setAside(ctx, aside)
			// Rejoining is no sign that Redis lost its data.
			failing, beaten = false, false
			f.noteBeat(nil, time.Now()) // no beats while aside: a streak starts afresh
		}
		if aside {
			backoff.Sleep(ctx, backoff.Jitter(f.heartbeatEvery()))
			continue
		}
		joined, err := f.beat(ctx, r)
		if ctx.Err() == nil {
			f.noteBeat(err, time.Now())
		}
		switch {
		case err != nil && ctx.Err() == nil:
			// Keep the last view: the locks decide who leads meanwhile.
			if !failing {
				f.log.Warn("fetcher: heartbeat failed", "err", err)
			}
			failing = true
		case err == nil:
			if failing {
				f.log.Info("fetcher: heartbeat works again")
			}
			if failing || joined && beaten {
				// Redis may have come back empty: announce the cameras now.
				select {
				case f.announce <- struct{}{}:
				default:
				}
			}
			failing, beaten = false, true
		}
		backoff.Sleep(ctx, backoff.Jitter(f.heartbeatEvery()))
	}
}

// setAside steps aside (leaving the live set, so the others reassign its
// cameras at their next beat, and ending its leads, which releases their
// locks) or rejoins; the next beat then joins and publishes its list again.
func (f *Fetcher) setAside(ctx context.Context, aside bool) {
	if !aside {
		f.log.Info("fetcher: rejoining, EEN accepts the login")
		f.TestSignals.Rejoined.Signal(struct{}{})
		return
	}
	f.log.Info("fetcher: stepping aside while EEN refuses the login")
	f.view.standAside()
	f.leave(ctx)
	f.metrics.fetchers.Set(0)
	f.metrics.assigned.Set(0)
	f.mu.Lock()
	for _, st := range f.state {
		st.Assigned, st.Followers = false, 0
	}
	f.mu.Unlock()
	f.TestSignals.SteppedAside.Signal(struct{}{})
}

// leave removes this fetcher from the live set at once, even when ctx is
// done (shutdown). Should it fail, its heartbeat ages out within three beats.
func (f *Fetcher) leave(ctx context.Context) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := f.store.Leave(lctx, f.cfg.ID); err != nil && ctx.Err() == nil {
		f.log.Warn("fetcher: leaving the live set failed", "err", err)
	}
}

// beat records this fetcher as alive, publishes its camera list when Redis
// may not hold it, learns the lists of fetchers new to it, and installs the
// assignment they give.
func (f *Fetcher) beat(ctx context.Context, r *roster) (joined bool, err error) {
	hctx, cancel := context.WithTimeout(ctx, f.heartbeatEvery())
	live, joined, err := f.store.Heartbeat(hctx, f.cfg.ID, 3*f.heartbeatEvery())
	cancel()
	if err != nil {
		return joined, err
	}
	if joined {
		r.published = false // Redis may have lost the lists with the live set
	}
	var publish []preview.ESN
	if !r.published {
		publish = r.own
	}
	lctx, cancel := context.WithTimeout(ctx, f.heartbeatEvery())
	lists, stored, err := f.store.FollowLists(lctx, f.cfg.ID, publish, live, r.unknown(live))
	cancel()
	if err != nil {
		return joined, err
	}
	r.published = stored
	for _, id := range slices.Sorted(maps.Keys(lists)) {
		r.lists[id] = lists[id]
		f.compareLists(id, r.own, lists[id])
	}
	f.install(r.follows(live))
	return joined, nil
}

// install recomputes our cameras for a new membership: follows maps each
// live fetcher whose list is known to that list. A fetcher's list is fixed
// for its life, so the same ids give the same assignment.
func (f *Fetcher) install(follows map[string][]preview.ESN) {
	members := slices.Sorted(maps.Keys(follows))
	if f.view.same(members) {
		return
	}
	owners := Assign(follows)
	mine := make(map[preview.ESN]bool)
	for esn, id := range owners {
		if id == f.cfg.ID {
			mine[esn] = true
		}
	}
	f.view.set(members, mine)
	f.metrics.fetchers.Set(float64(len(members)))
	f.metrics.assigned.Set(float64(len(mine)))
	followers := make(map[preview.ESN]int)
	for _, cams := range follows {
		for _, esn := range cams {
			followers[esn]++
		}
	}
	f.mu.Lock()
	for esn, st := range f.state {
		st.Assigned, st.Followers = mine[esn], followers[esn]
	}
	f.mu.Unlock()
	f.log.Info("fetcher: membership changed", "fetchers", len(members), "assigned", len(mine))
	f.TestSignals.MembershipInstalled.Signal(Membership{Fetchers: len(members), Assigned: len(mine)})
}

// pacer spaces out handovers so a membership change moves cameras at a
// steady rate rather than all at once.
type pacer struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	p.mu.Unlock()
	return backoff.Sleep(ctx, at.Sub(now))
}

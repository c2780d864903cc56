package httpserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// markCall is one MarkWatched call the fake saw.
type markCall struct {
	esn    preview.ESN
	ttl    time.Duration
	at     time.Time
	failed bool
}

// fakeMarker is a Marker that keeps the watch keys' expiries as Redis
// would, records every call, and fails while fail is set.
type fakeMarker struct {
	mu     sync.Mutex
	calls  []markCall
	expiry map[preview.ESN]time.Time
	fail   error
	marked chan preview.ESN // each successful mark, when not full
}

func newFakeMarker() *fakeMarker {
	return &fakeMarker{expiry: make(map[preview.ESN]time.Time), marked: make(chan preview.ESN, 256)}
}

func (m *fakeMarker) MarkWatched(ctx context.Context, esn preview.ESN, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.calls = append(m.calls, markCall{esn, ttl, now, m.fail != nil})
	if m.fail != nil {
		return false, m.fail
	}
	woke := !m.expiry[esn].After(now)
	m.expiry[esn] = now.Add(ttl)
	select {
	case m.marked <- esn:
	default:
	}
	return woke, nil
}

func (m *fakeMarker) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// count is how many calls marked esn, failed ones too.
func (m *fakeMarker) count(esn preview.ESN) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		if c.esn == esn {
			n++
		}
	}
	return n
}

// last is the latest call that marked esn.
func (m *fakeMarker) last(esn preview.ESN) markCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.calls) - 1; i >= 0; i-- {
		if m.calls[i].esn == esn {
			return m.calls[i]
		}
	}
	return markCall{}
}

// expires is when esn's watch key ends, as the calls so far left it.
func (m *fakeMarker) expires(esn preview.ESN) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.expiry[esn]
}

// coverage checks that esn's watch key lived without a gap from from to
// to, and returns the least time it had left when a mark in that window
// refreshed it (how close it came to expiring).
func (m *fakeMarker) coverage(esn preview.ESN, from, to time.Time) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var end time.Time // zero: no key
	least := time.Duration(1<<63 - 1)
	for _, c := range m.calls {
		if c.esn != esn || c.failed {
			continue
		}
		if c.at.After(from) && !c.at.After(to) {
			if !end.After(c.at) {
				return 0, fmt.Errorf("no key from %s to the mark at %s", end, c.at)
			}
			least = min(least, end.Sub(c.at))
		}
		end = c.at.Add(c.ttl)
	}
	if end.Before(to) {
		return 0, fmt.Errorf("the key expired at %s, before %s", end, to)
	}
	return least, nil
}

var _ Marker = (*fakeMarker)(nil)

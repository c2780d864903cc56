package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/fetcher"
	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/testbed"
)

// Witnesses of a failover: what viewers heard, what a still poller got,
// which fetcher stored which frame. Each records until the test ends.

// heard is a frame event as a viewer got it.
type heard struct {
	TS preview.Timestamp
	At time.Time
}

// frameStream is one viewer's SSE stream of one camera, recorded whole.
type frameStream struct {
	url  string
	mu   sync.Mutex
	got  []heard
	done chan struct{}
	err  error // why the stream ended, if it did
}

// openStream records the stream at url until the test ends.
func openStream(t *testing.T, url string) *frameStream {
	ctx, stop := context.WithCancel(context.Background())
	s := &frameStream{url: url, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = testbed.EachSSE(ctx, url, func(ev testbed.SSEEvent) bool {
			var d struct {
				TS preview.Timestamp `json:"ts"`
			}
			if ev.Name == "frame" && json.Unmarshal([]byte(ev.Data), &d) == nil {
				s.mu.Lock()
				s.got = append(s.got, heard{d.TS, time.Now()})
				s.mu.Unlock()
			}
			return true
		})
	}()
	t.Cleanup(func() { stop(); <-s.done })
	return s
}

func (s *frameStream) frames() []heard {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// ended reports whether the stream has ended, and why.
func (s *frameStream) ended() (bool, error) {
	select {
	case <-s.done:
		return true, s.err
	default:
		return false, nil
	}
}

// around returns the last frame heard before at and how many came after.
func (s *frameStream) around(at time.Time) (last heard, after []heard) {
	for _, h := range s.frames() {
		if h.At.Before(at) {
			last = h
		} else {
			after = append(after, h)
		}
	}
	return last, after
}

// inOrder checks that every frame is newer than the one before it.
func (s *frameStream) inOrder() error {
	got := s.frames()
	for i := 1; i < len(got); i++ {
		if !got[i].TS.After(got[i-1].TS) {
			return fmt.Errorf("frame %s came after %s", got[i].TS, got[i-1].TS)
		}
	}
	return nil
}

// stillPoller asks for each camera's still in turn and notes any whose
// frame time went back.
type stillPoller struct {
	mu        sync.Mutex
	last      map[preview.ESN]preview.Timestamp
	ok        int
	other     map[int]int // answers other than 200, by status (0: no answer)
	backwards []string
}

// pollStills polls web's stills of cams, one every 20 ms, until the test ends.
func pollStills(t *testing.T, web string, cams []preview.ESN) *stillPoller {
	ctx, stop := context.WithCancel(context.Background())
	p := &stillPoller{last: make(map[preview.ESN]preview.Timestamp), other: make(map[int]int)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			esn := cams[i%len(cams)]
			code, ts := imageTS(web + "/preview/" + string(esn) + ".jpg")
			p.note(esn, code, ts)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	return p
}

func (p *stillPoller) note(esn preview.ESN, code int, ts preview.Timestamp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if code != http.StatusOK {
		p.other[code]++
		return
	}
	p.ok++
	if prev := p.last[esn]; ts.Time().Before(prev.Time()) {
		p.backwards = append(p.backwards, fmt.Sprintf("%s: %s after %s", esn, ts, prev))
	}
	p.last[esn] = ts
}

// stored is a frame one fetcher stored, as its /status told, with the
// lead it was stored under (zero when the status cannot tell).
type stored struct {
	TS      preview.Timestamp
	Fetcher int
	Lead    time.Time // when that lead began
	At      time.Time // when the status showed it
}

// storeLog polls every fetcher's /status every 50 ms and notes each new
// LastTS: the frames each fetcher stored (a poll can miss one, never
// invent one).
type storeLog struct {
	mu   sync.Mutex
	seen map[preview.ESN][]stored
}

func watchStores(t *testing.T, admins []string) *storeLog {
	ctx, stop := context.WithCancel(context.Background())
	l := &storeLog{seen: make(map[preview.ESN][]stored)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := make([]map[preview.ESN]preview.Timestamp, len(admins))
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			for i, admin := range admins {
				st, err := testbed.FetcherStatus(ctx, admin)
				if err == nil {
					last[i] = l.note(i, last[i], st)
				}
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	return l
}

func (l *storeLog) note(i int, prev map[preview.ESN]preview.Timestamp, st map[preview.ESN]fetcher.CameraState) map[preview.ESN]preview.Timestamp {
	now := time.Now()
	cur := make(map[preview.ESN]preview.Timestamp, len(st))
	l.mu.Lock()
	defer l.mu.Unlock()
	for esn, s := range st {
		cur[esn] = s.LastTS
		if s.LastTS == "" || s.LastTS == prev[esn] {
			continue
		}
		w := stored{TS: s.LastTS, Fetcher: i, At: now}
		if s.Leading && !s.StoredAt.Before(s.LeadingSince) {
			w.Lead = s.LeadingSince // the current lead began before the store
		}
		l.seen[esn] = append(l.seen[esn], w)
	}
	return cur
}

// byTime is esn's stored frames in time order.
func (l *storeLog) byTime(esn preview.ESN) []stored {
	l.mu.Lock()
	s := slices.Clone(l.seen[esn])
	l.mu.Unlock()
	slices.SortStableFunc(s, func(a, b stored) int {
		return cmp.Or(a.TS.Time().Compare(b.TS.Time()), a.At.Compare(b.At))
	})
	return s
}

// writers is the fetchers that stored esn's frames, one entry per run:
// "0@ts 1@ts" is fetcher 0, then fetcher 1 from that frame on.
func (l *storeLog) writers(esn preview.ESN) (changes int, runs string) {
	var b strings.Builder
	s := l.byTime(esn)
	for i, w := range s {
		if i == 0 || w.Fetcher != s[i-1].Fetcher {
			changes++
			fmt.Fprintf(&b, " %d@%s", w.Fetcher, w.TS)
		}
	}
	return max(changes-1, 0), b.String()
}

// splitLead names a lead whose stored frames another lead's frame split:
// two fetchers storing side by side. While a lead holds the lock, the
// fenced write refuses every other writer, so each lead's frames come in
// one unbroken run.
func (l *storeLog) splitLead(esn preview.ESN) string {
	type lead struct {
		fetcher int
		since   time.Time
	}
	ended := make(map[lead]bool)
	var prev *stored
	for _, w := range l.byTime(esn) {
		if w.Lead.IsZero() {
			continue
		}
		if prev != nil && (prev.Fetcher != w.Fetcher || !prev.Lead.Equal(w.Lead)) {
			ended[lead{prev.Fetcher, prev.Lead}] = true
		}
		if ended[lead{w.Fetcher, w.Lead}] {
			return fmt.Sprintf("fetcher %d's lead of %s stored %s after another lead's %s", w.Fetcher, w.Lead.Format(time.StampMilli), w.TS, prev.TS)
		}
		prev = &w
	}
	return ""
}

package fetcher

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// fakeMembers stands in for the live set and the camera lists in Redis,
// shared by several fetchers.
type fakeMembers struct {
	fakeSink
	mu    sync.Mutex
	beats map[string]int
	lists map[string][]preview.ESN
}

func (m *fakeMembers) Heartbeat(ctx context.Context, id string, window time.Duration) ([]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.beats[id]++
	m.beaten.Signal(id)
	return slices.Sorted(maps.Keys(m.beats)), m.beats[id] == 1, nil
}

func (m *fakeMembers) FollowLists(ctx context.Context, id string, cams []preview.ESN, live, want []string) (map[string][]preview.ESN, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cams != nil {
		m.lists[id] = slices.Sorted(slices.Values(cams))
	}
	out := make(map[string][]preview.ESN)
	for _, w := range want {
		if l, ok := m.lists[w]; ok {
			out[w] = l
		}
	}
	_, stored := m.lists[id]
	return out, stored, nil
}

func (m *fakeMembers) beatsOf(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.beats[id]
}

// Issue 12: two fetchers list twelve cameras, a third lists only one of
// them (it would be given four if lists were ignored). Every camera must
// be assigned to exactly one fetcher, and each fetcher warns once per peer
// whose list differs.
func TestDifferentListsLeaveNoCameraWithoutOwner(t *testing.T) {
	c := cams(12)
	m := &fakeMembers{beats: map[string]int{}, lists: map[string][]preview.ESN{}}
	m.beaten.Init()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	checked := make(chan struct{}) // no credentials to check
	close(checked)
	fetchers := map[string]*Fetcher{}
	logs := map[string]*bytes.Buffer{} // read once the loops have ended
	for id, list := range map[string][]preview.ESN{"a": c, "b": c, "c": c[:1]} {
		var cameras []preview.Camera
		for _, esn := range list {
			cameras = append(cameras, preview.Camera{ESN: esn})
		}
		logs[id] = &bytes.Buffer{}
		f := New(Config{ID: id, Cameras: cameras, LockTTL: 100 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs[id], nil))}, nil, m, nil)
		f.TestSignals.Init()
		fetchers[id] = f
		wg.Go(func() { f.membershipLoop(ctx, checked) })
	}
	owners := func() map[preview.ESN]int {
		out := map[preview.ESN]int{}
		for _, f := range fetchers {
			for _, esn := range c {
				if mine, _, _, _ := f.view.get(esn); mine {
					out[esn]++
				}
			}
		}
		return out
	}
	onceEach := func() bool {
		o := owners()
		return len(o) == len(c) && !slices.ContainsFunc(slices.Collect(maps.Values(o)), func(n int) bool { return n != 1 })
	}
	// Once each has installed the assignment of all three, every camera
	// has its one owner.
	for id, f := range fetchers {
		f.TestSignals.MembershipInstalled.WaitFor(t, "fetcher "+id+" assigning among 3", func(m Membership) bool { return m.Fetchers == 3 })
	}
	if !onceEach() {
		t.Fatalf("owners per camera once each fetcher knows the three: %v", owners())
	}
	m.beaten.WaitUntil(t, "ten more beats each", func() bool {
		return m.beatsOf("a") > 10 && m.beatsOf("b") > 10 && m.beatsOf("c") > 10
	})
	if !onceEach() {
		t.Errorf("owners per camera after ten beats: %v", owners())
	}
	// /status shows how many fetchers list each camera.
	if st := fetchers["a"].State(); st[c[0]].Followers != 3 || st[c[1]].Followers != 2 {
		t.Errorf("fetcher a's state %+v, want 3 followers of %s and 2 of the others", st, c[0])
	}
	cancel()
	wg.Wait()
	const warn = `msg="fetcher: camera lists differ"`
	for id, want := range map[string]int{"a": 1, "b": 1, "c": 2} {
		if n := strings.Count(logs[id].String(), warn); n != want {
			t.Errorf("fetcher %s warned %d times of different lists, want %d:\n%s", id, n, want, logs[id])
		}
	}
	var rest []string
	for _, esn := range c[1:] {
		rest = append(rest, string(esn))
	}
	if want := `peer=a only_here="" only_there=` + strings.Join(rest, ","); !strings.Contains(logs["c"].String(), want) {
		t.Errorf("fetcher c's warning lacks %s:\n%s", want, logs["c"])
	}
}

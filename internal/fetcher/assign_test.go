package fetcher

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/camrelay/camrelay/internal/preview"
)

func cams(n int) []preview.ESN {
	out := make([]preview.ESN, n)
	for i := range out {
		out[i] = preview.ESN(fmt.Sprintf("%08x", 0x10060000+i*7))
	}
	return out
}

// everyone has each fetcher list the same cameras.
func everyone(ids []string, c []preview.ESN) map[string][]preview.ESN {
	out := make(map[string][]preview.ESN, len(ids))
	for _, id := range ids {
		out[id] = c
	}
	return out
}

func TestAssignIsBalancedAndDeterministic(t *testing.T) {
	for _, tc := range []struct{ cams, fetchers int }{{30, 3}, {2000, 3}, {7, 3}, {5, 8}, {1000, 7}} {
		ids := make([]string, tc.fetchers)
		for i := range ids {
			ids[i] = fmt.Sprintf("host%d-%d", i, 1000+i)
		}
		c := cams(tc.cams)
		a := Assign(everyone(ids, c))
		again := Assign(everyone(append([]string(nil), ids...), c))
		load := map[string]int{}
		for _, esn := range c {
			if a[esn] == "" || a[esn] != again[esn] {
				t.Fatalf("%v: camera %s assigned to %q / %q", tc, esn, a[esn], again[esn])
			}
			load[a[esn]]++
		}
		limit := (tc.cams + tc.fetchers - 1) / tc.fetchers
		for id, n := range load {
			if n > limit {
				t.Errorf("%v: %s has %d cameras, more than ceil(N/F)=%d", tc, id, n, limit)
			}
		}
	}
}

func TestAssignMovesFewOnJoin(t *testing.T) {
	c := cams(300)
	before := Assign(everyone([]string{"a", "b", "c"}, c))
	after := Assign(everyone([]string{"a", "b", "c", "d"}, c))
	moved := 0
	for _, esn := range c {
		if before[esn] != after[esn] {
			moved++
		}
	}
	// The newcomer's fair share is 75; bounded loads shift a few more.
	if moved < 75 || moved > 150 {
		t.Errorf("%d of 300 cameras moved when a 4th fetcher joined, want about 75", moved)
	}
}

// moved counts the cameras of c whose owner differs.
func moved(before, after map[preview.ESN]string, c []preview.ESN) int {
	n := 0
	for _, esn := range c {
		if before[esn] != after[esn] {
			n++
		}
	}
	return n
}

// Issue 12: with different lists, every camera any fetcher lists goes to a
// fetcher that lists it, whatever the others list.
func TestAssignOnlyToFetchersThatListTheCamera(t *testing.T) {
	c := cams(300)
	for _, follows := range []map[string][]preview.ESN{
		{"a": c[:4], "b": c[:4], "c": c[:1]}, // the three fetchers
		{"a": c, "b": c, "c": c, "d": c[7:8]},
		{"a": c[:100], "b": c[50:200], "c": c[150:], "d": c[:10], "e": nil},
	} {
		owners := Assign(follows)
		load := map[string]int{}
		for id, list := range follows {
			for _, esn := range list {
				owner := owners[esn]
				if !slices.Contains(follows[owner], esn) {
					t.Fatalf("camera %s (listed by %s) assigned to %q, which does not list it", esn, id, owner)
				}
			}
		}
		for esn, owner := range owners {
			load[owner]++
			if !slices.Contains(follows[owner], esn) {
				t.Fatalf("camera %s assigned to %q, which does not list it", esn, owner)
			}
		}
		// The same view gives the same owners, however the lists are ordered.
		shuffled := make(map[string][]preview.ESN, len(follows))
		for id, list := range follows {
			shuffled[id] = slices.Clone(list)
			slices.Reverse(shuffled[id])
		}
		if again := Assign(shuffled); !maps.Equal(owners, again) {
			t.Errorf("%d fetchers: another order of the lists gave other owners", len(follows))
		}
		t.Logf("%d fetchers: load %v", len(follows), load)
	}
}

// A fetcher that lists a single camera takes at most that one, and the
// others share the rest evenly, not capped at ceil(N/F) with F counting it.
func TestAssignBalancesAroundNarrowLists(t *testing.T) {
	c := cams(300)
	owners := Assign(map[string][]preview.ESN{"a": c, "b": c, "c": c, "d": c[7:8]})
	load := map[string]int{}
	for _, owner := range owners {
		load[owner]++
	}
	if len(owners) != 300 || load["d"] > 1 || max(load["a"], load["b"], load["c"]) > 100 {
		t.Errorf("load %v over %d cameras, want d ≤ 1 and a, b, c ≤ 100", load, len(owners))
	}
}

// A rolling deploy: a fetcher joins listing one camera more than the
// others (or one only); it moves no more cameras than a join with the
// same list would, and a camera added to one list moves few others.
func TestAssignMovesFewWhenListsDiffer(t *testing.T) {
	c := cams(301)
	old := c[:300]
	before := Assign(everyone([]string{"a", "b", "c"}, old))
	same := Assign(everyone([]string{"a", "b", "c", "d"}, old))
	wider := Assign(map[string][]preview.ESN{"a": old, "b": old, "c": old, "d": c})
	narrow := Assign(map[string][]preview.ESN{"a": old, "b": old, "c": old, "d": old[:1]})
	if n, m := moved(before, wider, old), moved(before, same, old); n > m+10 {
		t.Errorf("a newcomer listing one more camera moved %d of 300 others, a plain join %d", n, m)
	}
	if n := moved(before, narrow, old); n > 1 {
		t.Errorf("a newcomer listing one camera moved %d cameras, want at most that one", n)
	}
	all := Assign(everyone([]string{"a", "b", "c", "d"}, c))
	if n := moved(same, wider, old); n > 10 {
		t.Errorf("adding a camera to one of 4 lists moved %d of 300 other cameras, want few", n)
	}
	t.Logf("moved of 300: plain join %d, join listing one more %d, join listing one %d; one camera added to one list %d, to all %d",
		moved(before, same, old), moved(before, wider, old), moved(before, narrow, old), moved(same, wider, old), moved(same, all, old))
}

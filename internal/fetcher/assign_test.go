package fetcher

import (
	"fmt"
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

func TestAssignIsBalancedAndDeterministic(t *testing.T) {
	for _, tc := range []struct{ cams, fetchers int }{{30, 3}, {2000, 3}, {7, 3}, {5, 8}, {1000, 7}} {
		ids := make([]string, tc.fetchers)
		for i := range ids {
			ids[i] = fmt.Sprintf("host%d-%d", i, 1000+i)
		}
		c := cams(tc.cams)
		a := Assign(ids, c)
		b := Assign([]string{ids[len(ids)-1], ids[0]}, c) // other order, fewer members
		_ = b
		again := Assign(append([]string(nil), ids...), c)
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
	before := Assign([]string{"a", "b", "c"}, c)
	after := Assign([]string{"a", "b", "c", "d"}, c)
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

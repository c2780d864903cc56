package fetcher

import (
	"hash/fnv"
	"maps"
	"slices"
	"sort"

	"github.com/camrelay/camrelay/internal/preview"
)

// Assign spreads cameras over the fetchers that can follow them: follows
// maps each live fetcher id to the cameras it lists. Rendezvous hashing
// with bounded load: cameras are taken in a fixed hash order and each goes
// to the highest-ranked fetcher that lists it and is still below the load
// limit. The limit is ceil(N/F) when every camera can be placed so (always
// the case when all fetchers list the same cameras), else the smallest
// limit that places them all: fetchers listing few cameras leave the rest
// to the others. Every fetcher computes the same answer from the same
// inputs, and a change of membership or of one list moves few cameras.
func Assign(follows map[string][]preview.ESN) map[preview.ESN]string {
	ranked := rankings(follows)
	order := slices.Collect(maps.Keys(ranked))
	sort.Slice(order, func(i, j int) bool {
		hi, hj := hash64(string(order[i])), hash64(string(order[j]))
		return hi < hj || hi == hj && order[i] < order[j]
	})
	fetchers := 0
	for _, cams := range follows {
		if len(cams) > 0 {
			fetchers++
		}
	}
	if fetchers == 0 {
		return map[preview.ESN]string{}
	}
	lo, hi := (len(order)+fetchers-1)/fetchers, len(order)
	if out, ok := place(order, ranked, lo); ok {
		return out
	}
	// A limit of N always places every camera; search down from there.
	for lo < hi {
		mid := lo + (hi-lo)/2
		if _, ok := place(order, ranked, mid); ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	out, _ := place(order, ranked, hi)
	return out
}

// rankings lists, for each camera, the fetchers that follow it, best
// rendezvous score first.
func rankings(follows map[string][]preview.ESN) map[preview.ESN][]string {
	out := make(map[preview.ESN][]string)
	for id, cams := range follows {
		for _, esn := range slices.Compact(slices.Sorted(slices.Values(cams))) {
			out[esn] = append(out[esn], id)
		}
	}
	for esn, ids := range out {
		sort.Slice(ids, func(i, j int) bool {
			si, sj := score(ids[i], esn), score(ids[j], esn)
			return si > sj || si == sj && ids[i] < ids[j]
		})
	}
	return out
}

// place gives each camera, in order, to its best-ranked fetcher below
// limit; ok is false when some camera found all its fetchers full.
func place(order []preview.ESN, ranked map[preview.ESN][]string, limit int) (out map[preview.ESN]string, ok bool) {
	out = make(map[preview.ESN]string, len(order))
	load := make(map[string]int)
	for _, esn := range order {
		i := slices.IndexFunc(ranked[esn], func(id string) bool { return load[id] < limit })
		if i < 0 {
			return out, false
		}
		out[esn] = ranked[esn][i]
		load[ranked[esn][i]]++
	}
	return out, true
}

func score(id string, esn preview.ESN) uint64 { return hash64(id + "\x00" + string(esn)) }

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	// FNV's low bits mix poorly for similar inputs; finish with a mixer.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

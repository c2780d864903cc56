package fetcher

import (
	"hash/fnv"
	"slices"
	"sort"

	"github.com/camrelay/camrelay/internal/preview"
)

// Assign spreads cameras over fetchers by rendezvous hashing with bounded
// load: each camera goes to the fetcher that ranks highest for it among
// those still below ceil(N/F) cameras. Every fetcher computes the same
// answer from the same inputs, no fetcher gets more than its share, and a
// membership change moves few cameras.
func Assign(fetchers []string, cams []preview.ESN) map[preview.ESN]string {
	out := make(map[preview.ESN]string, len(cams))
	if len(fetchers) == 0 {
		return out
	}
	ids := slices.Clone(fetchers)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	order := slices.Clone(cams)
	sort.Slice(order, func(i, j int) bool {
		hi, hj := hash64(string(order[i])), hash64(string(order[j]))
		return hi < hj || hi == hj && order[i] < order[j]
	})
	limit := (len(cams) + len(ids) - 1) / len(ids)
	load := make(map[string]int, len(ids))
	ranked := make([]string, len(ids))
	for _, esn := range order {
		copy(ranked, ids)
		sort.Slice(ranked, func(i, j int) bool {
			return score(ranked[i], esn) > score(ranked[j], esn)
		})
		for _, id := range ranked {
			if load[id] < limit {
				out[esn] = id
				load[id]++
				break
			}
		}
	}
	return out
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

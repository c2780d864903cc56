package fetcher

import (
	"fmt"
	"slices"
	"strings"

	"github.com/camrelay/camrelay/internal/preview"
)

// roster is what a fetcher knows of the live fetchers' camera lists. A
// fetcher's list is fixed for its life (its id names one process), so a
// peer's list is read once, when the peer shows up.
type roster struct {
	id        string
	own       []preview.ESN            // sorted
	published bool                     // own list known to be in Redis
	lists     map[string][]preview.ESN // by fetcher id, own included
}

func newRoster(id string, cams []preview.Camera) *roster {
	own := make([]preview.ESN, len(cams))
	for i, c := range cams {
		own[i] = c.ESN
	}
	slices.Sort(own)
	return &roster{id: id, own: own, lists: map[string][]preview.ESN{id: own}}
}

// unknown returns the live fetchers whose lists are still to be read.
func (r *roster) unknown(live []string) []string {
	var out []string
	for _, id := range live {
		if _, ok := r.lists[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// follows returns the lists of the live fetchers whose lists are known,
// and forgets those of the fetchers no longer live.
func (r *roster) follows(live []string) map[string][]preview.ESN {
	out := map[string][]preview.ESN{r.id: r.own}
	for _, id := range live {
		if l, ok := r.lists[id]; ok {
			out[id] = l
		}
	}
	for id := range r.lists {
		if _, ok := out[id]; !ok {
			delete(r.lists, id)
		}
	}
	return out
}

// compareLists warns, once per peer since it is read once, when the peer
// lists other cameras than this fetcher: each camera is then led by one of
// the fetchers that list it, but the operator likely meant them equal.
func (f *Fetcher) compareLists(peer string, own, theirs []preview.ESN) {
	here, there := missingFrom(own, theirs), missingFrom(theirs, own)
	if len(here)+len(there) == 0 {
		return
	}
	f.log.Warn("fetcher: camera lists differ", "peer", peer,
		"only_here", esnList(here), "only_there", esnList(there))
}

// missingFrom returns the cameras of a that b (sorted) does not list.
func missingFrom(a, b []preview.ESN) []preview.ESN {
	var out []preview.ESN
	for _, esn := range a {
		if _, found := slices.BinarySearch(b, esn); !found {
			out = append(out, esn)
		}
	}
	return out
}

// esnList writes cameras comma-separated for a log line, the first 20 of
// a long list and how many more.
func esnList(esns []preview.ESN) string {
	const most = 20
	s := make([]string, 0, min(len(esns), most))
	for _, esn := range esns[:min(len(esns), most)] {
		s = append(s, string(esn))
	}
	out := strings.Join(s, ",")
	if len(esns) > most {
		out += fmt.Sprintf(",… (%d more)", len(esns)-most)
	}
	return out
}

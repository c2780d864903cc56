package fetcher

import (
	"sync"

	"github.com/camrelay/camrelay/internal/preview"
)

// The states /status and the camera_state metric show of a camera.
const (
	StatePinned  = "pinned"  // followed all the time: FETCH=always, or ";always"
	StateWatched = "watched" // someone watches it: followed
	StateAsleep  = "asleep"  // nobody watches it: not followed
)

// interest is what this fetcher knows of who watches the cameras it
// follows only while watched (FETCH=watched, not pinned). Wake notices set
// a camera watched; reads of its watch mark set it either way.
type interest struct {
	mu   sync.Mutex
	cams map[preview.ESN]*watchState // only the cameras followed while watched
}

type watchState struct {
	watched bool
	// seq counts wake notices, so that a read of the mark that began
	// before a notice cannot put the camera back to sleep after it.
	seq     uint64
	changed chan struct{} // closed and replaced at each change of watched
}

func newInterest(cams []preview.Camera) *interest {
	in := &interest{cams: make(map[preview.ESN]*watchState)}
	for _, c := range cams {
		if c.Watched {
			in.cams[c.ESN] = &watchState{changed: make(chan struct{})}
		}
	}
	return in
}

// get reports whether the camera is to be followed (watched, or pinned)
// and a channel closed when that changes (nil for a pinned camera: it
// never does).
func (in *interest) get(esn preview.ESN) (follow bool, changed <-chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	st, ok := in.cams[esn]
	if !ok {
		return true, nil
	}
	return st.watched, st.changed
}

// seq returns the camera's count of wake notices, to pass to set.
func (in *interest) seq(esn preview.ESN) uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	if st, ok := in.cams[esn]; ok {
		return st.seq
	}
	return 0
}

// notice records a wake notice; it reports whether the camera was asleep
// (false for a camera not followed while watched).
func (in *interest) notice(esn preview.ESN) (woke bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	st, ok := in.cams[esn]
	if !ok {
		return false
	}
	st.seq++
	return st.setLocked(true)
}

// set records what a read of the watch mark found, unless it would put
// the camera to sleep and a wake notice came since seq was taken. It
// reports whether the camera changed state.
func (in *interest) set(esn preview.ESN, seq uint64, watched bool) (changed bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	st, ok := in.cams[esn]
	if !ok || !watched && st.seq != seq {
		return false
	}
	return st.setLocked(watched)
}

func (st *watchState) setLocked(watched bool) bool {
	if st.watched == watched {
		return false
	}
	st.watched = watched
	close(st.changed)
	st.changed = make(chan struct{})
	return true
}

// state names the camera's state for /status and the metrics.
func (in *interest) state(esn preview.ESN) string {
	switch follow, changed := in.get(esn); {
	case changed == nil:
		return StatePinned
	case follow:
		return StateWatched
	}
	return StateAsleep
}

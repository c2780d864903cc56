package fanout

import (
	"sync"
	"time"
)

// A writer delivers events to its share of the direct subscribers, in
// the order they were published, on a goroutine that runs while it has
// work. A hub has one per CPU and deals direct subscribers to them in
// turn; so one event to 10,000 streams is a loop of socket writes on a
// few goroutines rather than 10,000 goroutine wake-ups, the larger part
// of a stream's cost after the write itself (issue 17's profile). The
// writes cannot wait (a Sink's Try), so no client holds up
// the others in its share.
type writer struct {
	mu      sync.Mutex
	jobs    []job
	running bool
}

// job is one event for one writer's share of its camera's subscribers.
type job struct {
	ev   *Event
	subs []*Subscription
	at   time.Time // when it was published
}

// maxWriterLag is how late a writer may deliver an event. A writer
// behind by more (the replica short of CPU for its streams) drops the
// event's subscribers as too slow, as a subscriber's full buffer would,
// rather than queue without bound; they reconnect and resume.
const maxWriterLag = 5 * time.Second

// add queues j and starts the writer's goroutine if it is not running.
func (w *writer) add(h *Hub, j job) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs = append(w.jobs, j)
	if !w.running {
		w.running = true
		go w.run(h)
	}
}

// run delivers the queued jobs until there are none.
func (w *writer) run(h *Hub) {
	for {
		w.mu.Lock()
		if len(w.jobs) == 0 {
			w.jobs, w.running = nil, false
			w.mu.Unlock()
			return
		}
		j := w.jobs[0]
		w.jobs[0] = job{}
		w.jobs = w.jobs[1:]
		w.mu.Unlock()
		late := time.Since(j.at) > maxWriterLag
		for _, s := range j.subs {
			if late || !s.deliver(j.ev) {
				h.drop(s)
			}
		}
	}
}

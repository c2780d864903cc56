package fanout

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

// frameData is the JSON of a frame or offline event.
type frameData struct {
	ESN  preview.ESN       `json:"esn"`
	TS   preview.Timestamp `json:"ts"`
	URL  string            `json:"url"`
	ETag string            `json:"etag"`
}

// encodeEvent renders an event as SSE, query appended to its image URL.
// The id names the camera and time, so a resuming client's Last-Event-ID
// says what it saw last. Data is JSON, so it holds no newline.
func encodeEvent(ev *Event, query string) []byte {
	m := ev.Meta
	d, _ := json.Marshal(frameData{ESN: m.ESN, TS: m.TS, ETag: m.ETag,
		URL: "/preview/" + string(m.ESN) + ".jpg?ts=" + string(m.TS) + query})
	name := "frame"
	if ev.Offline {
		name = "offline"
	}
	return fmt.Appendf(nil, "event: %s\nid: %s\ndata: %s\n\n", name, eventID(m), d)
}

func eventID(m Meta) string { return string(m.ESN) + "-" + string(m.TS) }

// heartbeat is the comment that keeps idle proxies from closing a stream.
var heartbeat = &Event{Beat: true, sse: []byte(": hb\n\n"), chunk: chunkOf([]byte(": hb\n\n"))}

// streamPreamble opens every SSE stream: a comment that gets the headers
// through buffering proxies at once, and the reconnection delay.
var streamPreamble = []byte(": camrelay\nretry: 2000\n\n")

// wakingEvent tells a stream that a camera followed only while watched has
// no fresh frame yet: it is waking up, not offline. It has no id: it is no
// frame to resume from. Clients that do not know it ignore it.
func wakingEvent(esn preview.ESN) []byte {
	d, _ := json.Marshal(struct {
		ESN preview.ESN `json:"esn"`
	}{esn})
	return fmt.Appendf(nil, "event: waking\ndata: %s\n\n", d)
}

// StartSSE returns what an SSE stream of esns starts with: the preamble,
// then each camera's current frame, or offline when it is stale, or
// waking when it has no fresh frame and asleep (nil: none) says it is
// followed only while watched; and the time of what it sent of each
// camera, so the stream can skip events it already sent. Resuming:
// lastEventID names one camera's frame (a grid stream's id names the
// camera of its last event); that camera's current frame is skipped when
// it is that very frame and still fresh. Every other camera's current
// state is sent again: one id cannot say what a grid client has, and a
// repeated frame is harmless where a missed one is not. query is appended
// to the image URLs (see Event.SSEWith). The parts are shared: never
// modify them.
func (h *Hub) StartSSE(esns []preview.ESN, lastEventID, query string, now time.Time, asleep func(preview.ESN) bool) (first [][]byte, sent map[preview.ESN]preview.Timestamp) {
	first = [][]byte{streamPreamble}
	sent = make(map[preview.ESN]preview.Timestamp, len(esns))
	for _, esn := range esns {
		ev, fresh := h.currentEvent(esn, now)
		switch {
		case !fresh && asleep != nil && asleep(esn):
			first = append(first, wakingEvent(esn))
		case ev == nil:
		case !fresh:
			first = append(first, newEvent(ev.Meta, true).SSEWith(query))
		case eventID(ev.Meta) != lastEventID:
			first = append(first, ev.SSEWith(query))
		}
		if ev != nil {
			sent[esn] = ev.Meta.TS
		}
	}
	return first, sent
}

package fanout

import (
	"strings"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
)

func TestEventEncoding(t *testing.T) {
	m := Meta{ESN: camA, TS: "20261124040506.250", ETag: `"abc"`, SeenAt: t0}
	const data = `data: {"esn":"1006073b","ts":"20261124040506.250","url":"/preview/1006073b.jpg?ts=20261124040506.250","etag":"\"abc\""}`
	for _, tc := range []struct {
		offline bool
		want    string
	}{
		{false, "event: frame\nid: 1006073b-20261124040506.250\n" + data + "\n\n"},
		{true, "event: offline\nid: 1006073b-20261124040506.250\n" + data + "\n\n"},
	} {
		if got := string(newEvent(m, tc.offline).SSE()); got != tc.want {
			t.Errorf("offline=%v:\n got %q\nwant %q", tc.offline, got, tc.want)
		}
	}
	if got := string(heartbeat.SSE()); got != ": hb\n\n" {
		t.Errorf("heartbeat %q, want a comment", got)
	}
}

func TestStartSSE(t *testing.T) {
	const preamble = ": camrelay\nretry: 2000\n\n"
	h := New(ttl, nil)
	a := frameAt(camA, 0, t0)
	b := frameAt(camB, 0, t0.Add(-ttl-time.Millisecond)) // stale at t0
	h.Publish(a)
	h.Publish(b)
	unknown := preview.ESN("10000000")
	esns := []preview.ESN{camA, camB, unknown}
	always := func(preview.ESN) bool { return true }
	for _, tc := range []struct {
		name, lastID string
		asleep       func(preview.ESN) bool
		want         []string
	}{
		{"new stream", "", nil, []string{preamble, "event: frame\nid: " + eventID(a), "event: offline\nid: " + eventID(b)}},
		{"resumed at the current frame", eventID(a), nil, []string{preamble, "event: offline\nid: " + eventID(b)}},
		{"resumed at an older frame", string(camA) + "-20261124040505.000", nil, []string{preamble, "event: frame\nid: " + eventID(a), "event: offline\nid: " + eventID(b)}},
		{"resumed at a stale frame", eventID(b), nil, []string{preamble, "event: frame\nid: " + eventID(a), "event: offline\nid: " + eventID(b)}},
		// Followed only while watched: without a fresh frame, stale or none, waking.
		{"waking", "", always, []string{preamble, "event: frame\nid: " + eventID(a),
			"event: waking\ndata: {\"esn\":\"100c2f4e\"}\n\n", "event: waking\ndata: {\"esn\":\"10000000\"}\n\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, sent := h.StartSSE(esns, tc.lastID, "", t0, tc.asleep)
			if len(first) != len(tc.want) {
				t.Fatalf("got %d parts %q, want %d", len(first), first, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(string(first[i]), w) {
					t.Errorf("part %d = %q, want it to start %q", i, first[i], w)
				}
			}
			if len(sent) != 2 || sent[camA] != a.TS || sent[camB] != b.TS {
				t.Errorf("sent = %v, want %s and %s at their frames", sent, camA, camB)
			}
		})
	}
}

// TestStartSSESharesTheFramesEncoding: a stream starting costs no
// encoding of a fresh frame; the bytes sent are those every subscriber got.
func TestStartSSESharesTheFramesEncoding(t *testing.T) {
	h := New(ttl, nil)
	s := h.Subscribe([]preview.ESN{camA}, nop)
	h.Publish(frameAt(camA, 0, t0))
	ev := next(t, s)
	first, _ := h.StartSSE([]preview.ESN{camA}, "", "", t0, nil)
	if len(first) != 2 || &first[1][0] != &ev.SSE()[0] {
		t.Errorf("StartSSE's frame is not the published event's encoding: %q", first)
	}
}

// TestSSEWith: a thumbnail stream's image URL carries its query; each
// variant is encoded once per event and shared, by StartSSE too; the
// heartbeat has no URL to change.
func TestSSEWith(t *testing.T) {
	h := New(ttl, nil)
	s := h.Subscribe([]preview.ESN{camA}, nop)
	h.Publish(frameAt(camA, 0, t0))
	ev := next(t, s)
	got := ev.SSEWith("&w=320")
	// encoding/json escapes & in strings; JSON.parse reads it back.
	want := strings.Replace(string(ev.SSE()), `.jpg?ts=`+string(ev.Meta.TS), `.jpg?ts=`+string(ev.Meta.TS)+`\u0026w=320`, 1)
	if string(got) != want || want == string(ev.SSE()) {
		t.Errorf("SSEWith:\n got %q\nwant %q", got, want)
	}
	first, _ := h.StartSSE([]preview.ESN{camA}, "", "&w=320", t0, nil)
	if len(first) != 2 || &first[1][0] != &got[0] || &ev.SSEWith("&w=320")[0] != &got[0] {
		t.Errorf("the variant is encoded again, not shared: %q", first)
	}
	if &ev.SSEWith("")[0] != &ev.SSE()[0] || string(heartbeat.SSEWith("&w=320")) != ": hb\n\n" {
		t.Error("no query or a heartbeat must give SSE")
	}
}

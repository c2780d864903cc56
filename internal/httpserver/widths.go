package httpserver

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultWidths are the thumbnail widths a replica offers when
// Config.Widths is empty (the WIDTHS setting's default): a small grid
// card, a phone-wide card, and a desktop card or a 2× phone card.
var DefaultWidths = []int{160, 320, 640}

// Bounds of the WIDTHS setting: the list stays short, so nobody can make a
// replica resize a frame to many sizes, and a width is a real picture.
const (
	MinWidth  = 16
	MaxWidth  = 4096
	maxWidths = 8 // an image keeps one thumbnail slot per width
)

// ParseWidths parses a WIDTHS setting: comma-separated widths in pixels,
// each from MinWidth to MaxWidth, at most 8, no duplicates.
func ParseWidths(v string) ([]int, error) {
	var ws []int
	for p := range strings.SplitSeq(v, ",") {
		p = strings.TrimSpace(p)
		w, err := strconv.Atoi(p)
		switch {
		case err != nil || w < MinWidth || w > MaxWidth:
			return nil, fmt.Errorf("%q is not a width from %d to %d pixels", p, MinWidth, MaxWidth)
		case slices.Contains(ws, w):
			return nil, fmt.Errorf("%d is listed twice", w)
		}
		ws = append(ws, w)
	}
	if len(ws) > maxWidths {
		return nil, fmt.Errorf("%d widths; at most %d", len(ws), maxWidths)
	}
	return ws, nil
}

// widths are the thumbnail widths a replica offers, in the order given.
type widths struct {
	px   []int
	text []string // each width as a query value must spell it
}

func newWidths(px []int) widths {
	ws := widths{px: px, text: make([]string, len(px))}
	for i, w := range px {
		ws.text[i] = strconv.Itoa(w)
	}
	return ws
}

// reason is the 400's reason for a bad width parameter named key.
func (ws widths) reason(key string) string {
	return key + " must be given once, one of " + strings.Join(ws.text, ", ")
}

// errBadWidth is a width the replica does not offer; see widths.reason.
var errBadWidth = errors.New("bad width")

// slot returns the index among the widths of the query's parameter key
// (w on images and streams), or -1 when the query has none. Any other
// value is errBadWidth: one not spelt as an offered width (empty, signed,
// padded, with a unit), or the parameter given twice. A query without
// the key's first letter or an escape is not parsed at all: the images'
// own URLs (?ts=…) stay as cheap as they were.
func (ws widths) slot(rawQuery, key string) (int, error) {
	if !strings.ContainsAny(rawQuery, key[:1]+"%") {
		return -1, nil
	}
	slot, seen := -1, false
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k != key {
			if uk, err := url.QueryUnescape(k); err != nil || uk != key {
				continue
			}
		}
		if seen {
			return -1, errBadWidth
		}
		seen = true
		uv, err := url.QueryUnescape(v)
		if slot = slices.Index(ws.text, uv); err != nil || slot < 0 {
			return -1, errBadWidth
		}
	}
	return slot, nil
}

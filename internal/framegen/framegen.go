// Package framegen draws synthetic camera preview frames as baseline JPEGs
// showing a camera's id, name and the frame time, cheaply enough to serve
// thousands of cameras from one core.
//
// The JPEG uses a restart interval of one MCU row, so each row is coded
// independently. Rows without changing text are encoded once per camera.
// Rows crossing the date and clock lines are spliced per frame from runs of
// pre-encoded MCUs: one per glyph cell, whose bits depend only on that
// glyph, plus the static spans beside the cells. A frame therefore costs a
// few microseconds of bit shifting instead of a DCT of every block.
package framegen

import (
	"sync"
	"time"
)

// Renderer draws preview frames; safe for concurrent use by many goroutines.
type Renderer struct {
	l      *layout
	header []byte // SOI through SOS, shared by all frames

	mu   sync.RWMutex
	cams map[string]*camera // by esn; all cameras are kept
}

// New returns a Renderer for frames of the given size. Both sides must be
// positive multiples of 8 (the MCU size, 4:4:4 sampling) up to 4096, and
// large enough for the text.
func New(width, height int) (*Renderer, error) {
	l, err := newLayout(width, height)
	if err != nil {
		return nil, err
	}
	return &Renderer{l: l, header: header(width, height), cams: map[string]*camera{}}, nil
}

// Frame returns a complete JPEG showing esn, name (truncated to fit) and t
// in UTC with milliseconds. The first call for an esn, or after its name
// changes, prepares the camera (1-2 ms); later calls only splice cached
// bits (tens of microseconds). The returned slice is owned by the caller.
func (r *Renderer) Frame(esn, name string, t time.Time) []byte {
	cam := r.camera(esn, name)
	var txt [nLines][12]uint8
	glyphIndices(t, &txt)
	w := bitWriter{buf: make([]byte, cam.maxLen), stuff: true}
	w.raw(r.header...)
	for i, it := range r.l.plan {
		if it.line < 0 {
			w.raw(cam.static[i]...)
			continue
		}
		w.rst(it.row0)
		cam.emitRow(&w, it, txt[it.line][:r.l.lines[it.line].n])
	}
	w.raw(0xFF, 0xD9) // EOI
	return w.bytes()
}

// camera returns the prepared state for esn, preparing it if needed. Two
// goroutines may prepare the same camera at once; the results are equal,
// so the last one stored wins harmlessly.
func (r *Renderer) camera(esn, name string) *camera {
	r.mu.RLock()
	cam := r.cams[esn]
	r.mu.RUnlock()
	if cam != nil && cam.name == name {
		return cam
	}
	cam = r.prepare(esn, name)
	r.mu.Lock()
	r.cams[esn] = cam
	r.mu.Unlock()
	return cam
}

// emitRow writes one MCU row crossing a dynamic line showing glyphs.
func (c *camera) emitRow(w *bitWriter, it planItem, glyphs []uint8) {
	lr := &c.lines[it.line]
	var pred [3]int16 // restart: DC predictors start at 0
	w.emit(c.arena, &lr.left[it.cellRow], &pred)
	for _, g := range glyphs {
		w.emit(c.arena, &lr.glyphs[g][it.cellRow], &pred)
	}
	w.emit(c.arena, &lr.right[it.cellRow], &pred)
	w.pad()
}

// glyphIndices spells t (UTC) as cellGlyphs indices: the date as
// 2006-01-02 and the clock as 15:04:05.000.
func glyphIndices(t time.Time, txt *[nLines][12]uint8) {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	y = max(y, -y) % 10000
	const dash, colon, dot = 10, 11, 12
	txt[lineDate] = [12]uint8{
		digit(y, 1000), digit(y, 100), digit(y, 10), digit(y, 1), dash,
		digit(int(mo), 10), digit(int(mo), 1), dash, digit(d, 10), digit(d, 1),
	}
	txt[lineClock] = [12]uint8{
		digit(h, 10), digit(h, 1), colon, digit(mi, 10), digit(mi, 1), colon,
		digit(s, 10), digit(s, 1), dot, digit(ms, 100), digit(ms, 10), digit(ms, 1),
	}
}

// digit returns the decimal digit of v at place (1, 10, 100, ...).
func digit(v, place int) uint8 { return uint8(v / place % 10) }

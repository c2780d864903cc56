package framegen

import (
	"image/color"
	"math"
	"unsafe"
)

// cellGlyphs are the characters the dynamic lines use; a cell's glyph is
// stored as its index in this string.
const cellGlyphs = "0123456789-:."

// camera is the prepared, immutable state of one camera. At 640x360 it
// holds about 30 KB (the prepared-B/camera benchmark metric): ~13 KB of
// glyph-cell bits, ~7 KB of static bands and ~9 KB of run headers. The
// Renderer keeps every camera it has seen, so 1,000 cameras take ~30 MB.
type camera struct {
	name   string   // as passed to Frame, to notice renames
	arena  []byte   // unstuffed bits of all runs
	static [][]byte // per plan item: finished bytes of static bands, else nil
	lines  [nLines]lineRuns
	maxLen int // frame length bound, to allocate frames once
}

// lineRuns are the runs of one dynamic line, indexed by cell row.
type lineRuns struct {
	left, right []run // static pixels beside the cells
	glyphs      [len(cellGlyphs)][]run
}

// palette is a camera's colours in YCbCr.
type palette struct {
	bg, esn, name, date, clock, utc [3]uint8
}

// paletteFor derives a dark background tint from the camera id, so cameras
// are told apart at a glance, with light text on top.
func paletteFor(esn string) palette {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(esn); i++ {
		h = (h ^ uint32(esn[i])) * 16777619
	}
	// FNV's low bits barely change between similar ids: mix them (murmur3's
	// finaliser) so neighbouring cameras get clearly different hues.
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	hue := float64(h % 360)
	sat := 0.55 + float64(h>>9%16)/100
	val := 0.26 + float64(h>>13%8)/100
	return palette{
		bg:    hsv(hue, sat, val),
		esn:   hsv(hue, 0.2, 1),
		name:  hsv(0, 0, 0.85),
		date:  hsv(0, 0, 0.85),
		clock: hsv(0, 0, 0.97),
		utc:   hsv(0, 0, 0.7),
	}
}

// line returns the text colour of dynamic line i.
func (p palette) line(i int) [3]uint8 {
	if i == lineDate {
		return p.date
	}
	return p.clock
}

// hsv converts hue (degrees), saturation and value to JFIF YCbCr.
func hsv(h, s, v float64) [3]uint8 {
	f := func(n float64) uint8 {
		k := math.Mod(n+h/60, 6)
		return uint8(math.Round(255 * (v - v*s*max(0, min(k, 4-k, 1)))))
	}
	y, cb, cr := color.RGBToYCbCr(f(5), f(3), f(1))
	return [3]uint8{y, cb, cr}
}

// truncate keeps at most n runes of s.
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// prepare renders and encodes everything about a camera that does not
// change between frames.
func (r *Renderer) prepare(esn, name string) *camera {
	l := r.l
	pal := paletteFor(esn)
	cam := &camera{name: name, static: make([][]byte, len(l.plan))}
	esn, name = truncate(esn, l.esn.max), truncate(name, l.name.max)
	arena := &bitWriter{}
	strip := newCanvas(l.w, 8)
	draw := func(row int) {
		strip.y0 = row * 8
		strip.fill(pal.bg)
		strip.drawText(l.esn.x, l.esn.y, l.esn.scale, l.esn.adv, esn, pal.esn)
		strip.drawText(l.name.x, l.name.y, l.name.scale, l.name.adv, name, pal.name)
		strip.drawText(l.utc.x, l.utc.y, l.utc.scale, l.utc.adv, "UTC", pal.utc)
	}
	for i, it := range l.plan {
		if it.line < 0 {
			cam.static[i] = staticBand(it, strip, draw)
			continue
		}
		s, lr := l.lines[it.line], &cam.lines[it.line]
		draw(it.row0)
		lr.left = append(lr.left, encodeRun(arena, strip, 0, 0, s.col0))
		lr.right = append(lr.right, encodeRun(arena, strip, 0, s.col0+s.n*s.cw, l.w/8))
	}
	for i, s := range l.lines {
		encodeCells(arena, &cam.lines[i], s, pal.bg, pal.line(i))
	}
	cam.arena = append([]byte(nil), arena.bytes()...) // drop growth slack
	cam.maxLen = r.maxLen(cam)
	return cam
}

// staticBand encodes MCU rows [it.row0, it.row1) into finished entropy
// bytes, each row preceded by its restart marker (none before row 0).
func staticBand(it planItem, strip *canvas, draw func(row int)) []byte {
	out := &bitWriter{stuff: true}
	scratch := &bitWriter{}
	for row := it.row0; row < it.row1; row++ {
		draw(row)
		scratch.pos = 0
		ru := encodeRun(scratch, strip, 0, 0, strip.w/8)
		out.rst(row)
		out.emit(scratch.bytes(), &ru, &[3]int16{})
		out.pad()
	}
	return append([]byte(nil), out.bytes()...) // drop growth slack
}

// rst writes the restart marker that precedes MCU row (RSTn cycles through
// 0..7); row 0 follows SOS directly.
func (w *bitWriter) rst(row int) {
	if row > 0 {
		w.raw(0xFF, 0xD0+byte((row-1)&7))
	}
}

// encodeCells encodes every cell glyph of a line against background bg.
func encodeCells(arena *bitWriter, lr *lineRuns, s lineSpec, bg, col [3]uint8) {
	cell := newCanvas(s.cw*8, s.ch*8)
	for g, ch := range cellGlyphs {
		cell.fill(bg)
		cell.drawGlyph(s.gx, s.gy, s.scale, ch, col)
		lr.glyphs[g] = make([]run, s.ch)
		for cr := range s.ch {
			lr.glyphs[g][cr] = encodeRun(arena, cell, cr, 0, s.cw)
		}
	}
}

// maxLen bounds the length of any frame of cam (stuffing aside, which is
// rare; append grows the buffer if it happens).
func (r *Renderer) maxLen(cam *camera) int {
	n := len(r.header) + 2
	for i, it := range r.l.plan {
		if it.line < 0 {
			n += len(cam.static[i])
			continue
		}
		lr := &cam.lines[it.line]
		most := 0
		for _, g := range lr.glyphs {
			most = max(most, g[it.cellRow].maxBits())
		}
		bitsLen := lr.left[it.cellRow].maxBits() + lr.right[it.cellRow].maxBits() +
			r.l.lines[it.line].n*most
		n += 2 + (bitsLen+7)/8
	}
	return n
}

// size is the memory held by cam, for the prepared-bytes metric.
func (c *camera) size() int {
	n := len(c.arena) + len(c.name)
	for _, s := range c.static {
		n += len(s)
	}
	for _, lr := range c.lines {
		runs := len(lr.left) + len(lr.right)
		for _, g := range lr.glyphs {
			runs += len(g)
		}
		n += runs * int(unsafe.Sizeof(run{}))
	}
	return n
}

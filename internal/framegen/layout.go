package framegen

import (
	"errors"
	"fmt"
)

// maxSide bounds frame sizes; prepared state grows with the area.
const maxSide = 4096

// textSpec places static text: top-left (x, y), font scale, advance per
// character and the most characters that fit.
type textSpec struct {
	x, y, scale, adv, max int
}

// lineSpec places a dynamic text line on a grid of cells that are whole
// MCUs, so each cell's pixels depend only on its own glyph. row0, col0, cw
// and ch are in MCUs; gx, gy offset the glyph inside its cell in pixels.
type lineSpec struct {
	row0, col0, cw, ch, n, scale, gx, gy int
}

// planItem is a band of MCU rows: static rows [row0, row1) when line < 0,
// else cell row cellRow of lines[line] at row0.
type planItem struct {
	row0, row1, line, cellRow int
}

// Dynamic lines.
const (
	lineDate  = iota // 2026-11-24
	lineClock        // 04:05:06.250
	nLines
)

// layout is the frame geometry shared by all cameras of a Renderer.
type layout struct {
	w, h           int
	esn, name, utc textSpec
	lines          [nLines]lineSpec
	plan           []planItem
}

// newLayout scales the 640x360 design to w x h, shrinking the text further
// until it fits.
func newLayout(w, h int) (*layout, error) {
	if w <= 0 || h <= 0 || w%8 != 0 || h%8 != 0 || w > maxSide || h > maxSide {
		return nil, fmt.Errorf("framegen: size %dx%d: sides must be positive multiples of 8 up to %d", w, h, maxSide)
	}
	for f := min(float64(w)/640, float64(h)/360); f > 0.05; f *= 0.9 {
		if l := scaledLayout(w, h, f); l.fits() {
			l.plan = l.makePlan()
			return l, nil
		}
	}
	return nil, errors.New("framegen: frame too small for the text")
}

func scaledLayout(w, h int, f float64) *layout {
	sc := func(base float64) int { return max(1, int(base*f+0.5)) }
	m := max(8, int(32*f)/8*8)
	l := &layout{w: w, h: h}
	s := sc(8)
	l.esn = textSpec{x: m, y: m, scale: s, adv: 6 * s, max: (w - 2*m + s) / (6 * s)}
	n := sc(4)
	l.name = textSpec{x: m, y: m + 7*s + 3*n, scale: n, adv: 6 * n, max: (w - 2*m + n) / (6 * n)}
	clock := cellLine(sc(7), 12)
	clock.row0, clock.col0 = h/8-m/8-clock.ch, m/8
	date := cellLine(sc(4), 10)
	date.row0, date.col0 = clock.row0-date.ch-1, m/8
	l.lines = [nLines]lineSpec{lineDate: date, lineClock: clock}
	u := date.scale
	l.utc = textSpec{
		x:     (clock.col0+clock.n*clock.cw)*8 + 2*u,
		y:     clock.row0*8 + clock.gy + 7*(clock.scale-u),
		scale: u, adv: 6 * u, max: 3,
	}
	return l
}

// cellLine sizes n cells for glyphs at scale, with a small gap.
func cellLine(scale, n int) lineSpec {
	cw := (glyphW*scale + max(1, scale/2) + 7) / 8
	ch := (glyphH*scale + scale/2 + 7) / 8
	return lineSpec{
		cw: cw, ch: ch, n: n, scale: scale,
		gx: (cw*8 - glyphW*scale) / 2,
		gy: (ch*8 - glyphH*scale) / 2,
	}
}

// fits reports whether all text lies inside the frame without overlaps.
func (l *layout) fits() bool {
	date := l.lines[lineDate]
	nameBottom := l.name.y + glyphRows*l.name.scale // with descenders
	return l.esn.max >= 8 && l.name.max >= 1 &&
		date.row0 >= 0 && date.row0*8 >= nameBottom &&
		(date.col0+date.n*date.cw)*8 <= l.w &&
		l.utc.x+3*l.utc.adv <= l.w
}

// makePlan splits the MCU rows into static bands and dynamic cell rows.
func (l *layout) makePlan() []planItem {
	var plan []planItem
	rows := l.h / 8
	for row := 0; row < rows; {
		if line, cellRow := l.lineAt(row); line >= 0 {
			plan = append(plan, planItem{row, row + 1, line, cellRow})
			row++
			continue
		}
		end := row + 1
		for end < rows {
			if line, _ := l.lineAt(end); line >= 0 {
				break
			}
			end++
		}
		plan = append(plan, planItem{row, end, -1, 0})
		row = end
	}
	return plan
}

// lineAt returns the dynamic line covering MCU row, or -1.
func (l *layout) lineAt(row int) (line, cellRow int) {
	for i, s := range l.lines {
		if row >= s.row0 && row < s.row0+s.ch {
			return i, row - s.row0
		}
	}
	return -1, 0
}

package framegen

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"testing"
	"time"
)

// t0 is the frame time of the brief's example.
var t0 = time.Date(2026, 11, 24, 4, 5, 6, 250e6, time.UTC)

func newRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decode decodes a frame with image/jpeg into RGBA.
func decode(t testing.TB, b []byte) *image.RGBA {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	out := image.NewRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// mae is the mean absolute difference of the RGB channels of a and b
// within rect.
func mae(a, b *image.RGBA, rect image.Rectangle) float64 {
	sum, n := 0.0, 0
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := range 3 {
				sum += math.Abs(float64(a.Pix[i+c]) - float64(b.Pix[j+c]))
				n++
			}
		}
	}
	return sum / float64(n)
}

// lineRect is the pixel rectangle covered by the cells of dynamic line i.
func lineRect(l *layout, i int) image.Rectangle {
	s := l.lines[i]
	return image.Rect(s.col0*8, s.row0*8, (s.col0+s.n*s.cw)*8, (s.row0+s.ch)*8)
}

// cellRect is the pixel rectangle of cell k of dynamic line i.
func cellRect(l *layout, i, k int) image.Rectangle {
	s := l.lines[i]
	x := (s.col0 + k*s.cw) * 8
	return image.Rect(x, s.row0*8, x+s.cw*8, (s.row0+s.ch)*8)
}

// rgb converts a palette colour to RGBA.
func rgb(c [3]uint8) color.RGBA {
	r, g, b := color.YCbCrToRGB(c[0], c[1], c[2])
	return color.RGBA{r, g, b, 255}
}

// refText draws s into img the plain way: one scale x scale square per set
// font pixel, advancing adv pixels per character.
func refText(img *image.RGBA, x, y, scale, adv int, s string, c [3]uint8) {
	for k, r := range []rune(s) {
		g := glyph(r)
		for gy := range glyphRows {
			for gx := range glyphW {
				if g[gy]&(0x10>>gx) == 0 {
					continue
				}
				for dy := range scale {
					for dx := range scale {
						img.SetRGBA(x+k*adv+gx*scale+dx, y+gy*scale+dy, rgb(c))
					}
				}
			}
		}
	}
}

// reference draws the frame the renderer should produce straight into an
// RGBA image with the same font and layout, without any JPEG involved.
func reference(l *layout, esn, name string, at time.Time) *image.RGBA {
	pal := paletteFor(esn)
	img := image.NewRGBA(image.Rect(0, 0, l.w, l.h))
	draw.Draw(img, img.Bounds(), image.NewUniform(rgb(pal.bg)), image.Point{}, draw.Src)
	refText(img, l.esn.x, l.esn.y, l.esn.scale, l.esn.adv, truncate(esn, l.esn.max), pal.esn)
	refText(img, l.name.x, l.name.y, l.name.scale, l.name.adv, truncate(name, l.name.max), pal.name)
	refText(img, l.utc.x, l.utc.y, l.utc.scale, l.utc.adv, "UTC", pal.utc)
	at = at.UTC()
	lines := [nLines]string{at.Format("2006-01-02"), at.Format("15:04:05.000")}
	for i, s := range l.lines {
		refText(img, s.col0*8+s.gx, s.row0*8+s.gy, s.scale, s.cw*8, lines[i], pal.line(i))
	}
	return img
}

// readCell returns the character of cellGlyphs whose plain rendering is
// closest to cell k of line i in img: a minimal OCR.
func readCell(l *layout, img *image.RGBA, pal palette, i, k int) byte {
	s, rect := l.lines[i], cellRect(l, i, k)
	best, bestErr := byte(0), math.Inf(1)
	for _, ch := range []byte(cellGlyphs) {
		ref := image.NewRGBA(img.Bounds())
		draw.Draw(ref, rect, image.NewUniform(rgb(pal.bg)), image.Point{}, draw.Src)
		refText(ref, rect.Min.X+s.gx, rect.Min.Y+s.gy, s.scale, 0, string(ch), pal.line(i))
		if e := mae(img, ref, rect); e < bestErr {
			best, bestErr = ch, e
		}
	}
	return best
}

// checkStructure walks the JPEG markers strictly: the restart markers must
// be RST0..RST7 in order, one per MCU row boundary, and every 0xFF in the
// entropy data must be stuffed.
func checkStructure(t *testing.T, b []byte, rows int) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(b, []byte{0xFF, 0xD9}) {
		t.Fatalf("missing SOI/EOI")
	}
	i := 2
	for b[i+1] != 0xDA { // segments up to SOS
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	}
	i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	rst := 0
	for ; i < len(b)-2; i++ {
		if b[i] != 0xFF {
			continue
		}
		switch m := b[i+1]; {
		case m == 0:
		case m == 0xD0+byte(rst%8):
			rst++
		default:
			t.Fatalf("unexpected marker FF %02X at %d after %d restarts", m, i, rst)
		}
		i++
	}
	if rst != rows-1 {
		t.Fatalf("got %d restart markers, want %d", rst, rows-1)
	}
}

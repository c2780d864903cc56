package framegen

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"testing"
	"time"
)

func TestNewSizes(t *testing.T) {
	for _, s := range [][2]int{{640, 360}, {1280, 720}, {320, 176}, {200, 120}} {
		r, err := New(s[0], s[1])
		if err != nil {
			t.Errorf("New(%d, %d): %v", s[0], s[1], err)
			continue
		}
		f := r.Frame("1006073b", "Lobby", t0)
		checkStructure(t, f, s[1]/8)
		if b := decode(t, f).Bounds(); b.Dx() != s[0] || b.Dy() != s[1] {
			t.Errorf("%v: decoded %v", s, b)
		}
	}
	for _, s := range [][2]int{{0, 360}, {640, 0}, {-640, 360}, {641, 360}, {640, 362}, {644, 360}, {8, 8}, {8192, 360}} {
		if _, err := New(s[0], s[1]); err == nil {
			t.Errorf("New(%d, %d) succeeded", s[0], s[1])
		}
	}
}

func TestFrameIsJPEG(t *testing.T) {
	r := newRenderer(t)
	f := r.Frame("1006073b", "Front door", t0)
	checkStructure(t, f, 360/8)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(f))
	if err != nil || cfg.Width != 640 || cfg.Height != 360 {
		t.Fatalf("DecodeConfig: %+v, %v", cfg, err)
	}
	if b := decode(t, f).Bounds(); b != image.Rect(0, 0, 640, 360) {
		t.Fatalf("bounds %v", b)
	}
	if g := r.Frame("1006073b", "Front door", t0); !bytes.Equal(f, g) {
		t.Fatal("same input, different frames")
	}
	g := r.Frame("1006073b", "Front door", t0)
	g[len(g)/2] ^= 0xFF // the caller owns the slice
	if h := r.Frame("1006073b", "Front door", t0); !bytes.Equal(f, h) {
		t.Fatal("frames share memory")
	}
}

func TestTimeChanges(t *testing.T) {
	r := newRenderer(t)
	t1 := time.Date(2027, 3, 15, 13, 47, 29, 981e6, time.UTC)
	fa, fb := r.Frame("1006073b", "Gate", t0), r.Frame("1006073b", "Gate", t1)
	if bytes.Equal(fa, fb) {
		t.Fatal("frames at different times are equal")
	}
	a, b := decode(t, fa), decode(t, fb)
	var txt0, txt1 [nLines][12]uint8
	glyphIndices(t0, &txt0)
	glyphIndices(t1, &txt1)
	for i, s := range r.l.lines {
		for k := range s.n {
			d := mae(a, b, cellRect(r.l, i, k))
			if txt0[i][k] != txt1[i][k] && d < 10 {
				t.Errorf("line %d cell %d: changed glyph, mean pixel difference only %.1f", i, k, d)
			}
			if txt0[i][k] == txt1[i][k] && d != 0 {
				t.Errorf("line %d cell %d: same glyph, pixels differ by %.2f", i, k, d)
			}
		}
	}
	for y := range 360 {
		for x := range 640 {
			p := image.Pt(x, y)
			if p.In(lineRect(r.l, lineDate)) || p.In(lineRect(r.l, lineClock)) {
				continue
			}
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				t.Fatalf("pixel %v outside the time text changed", p)
			}
		}
	}
}

func TestCamerasDiffer(t *testing.T) {
	r := newRenderer(t)
	a := decode(t, r.Frame("1006073b", "", t0)).RGBAAt(4, 4)
	b := decode(t, r.Frame("1006073c", "", t0)).RGBAAt(4, 4)
	diff := abs(int(a.R)-int(b.R)) + abs(int(a.G)-int(b.G)) + abs(int(a.B)-int(b.B))
	if diff < 20 {
		t.Errorf("backgrounds too similar: %v vs %v", a, b)
	}
	for _, c := range []struct{ R, G, B uint8 }{{a.R, a.G, a.B}, {b.R, b.G, b.B}} {
		if int(c.R)+int(c.G)+int(c.B) > 3*110 {
			t.Errorf("background %v is not dark", c)
		}
	}
}

func abs(v int) int { return max(v, -v) }

func TestTextMatchesReference(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct{ esn, name string }{
		{"1006073b", "Front door"},
		{"100a0b0c", ""},
		{"deadbeef", "A very long camera name that will not fit on one line"},
		{"12345678", "Café ☕ 2/3_x-y.z:w"},
	} {
		img := decode(t, r.Frame(tc.esn, tc.name, t0))
		ref := reference(r.l, tc.esn, tc.name, t0)
		if d := mae(img, ref, img.Bounds()); d > 2 {
			t.Errorf("%q: whole frame differs from reference by %.2f", tc.name, d)
		}
		wrong := reference(r.l, tc.esn, tc.name, t0.AddDate(1, 2, 3).Add(11*time.Hour+11*time.Minute+11111*time.Millisecond))
		for i := range nLines {
			rect := lineRect(r.l, i)
			good, bad := mae(img, ref, rect), mae(img, wrong, rect)
			if good > 6 || bad < 3*good {
				t.Errorf("%q line %d: error %.2f vs right time, %.2f vs wrong time", tc.name, i, good, bad)
			}
		}
		if d := mae(img, reference(r.l, "ffffffff", tc.name, t0), img.Bounds()); d < 4*mae(img, ref, img.Bounds()) {
			t.Errorf("%q: frame resembles another camera's reference (%.2f)", tc.name, d)
		}
	}
}

// TestReadBack reads the time back from decoded frames cell by cell.
func TestReadBack(t *testing.T) {
	r := newRenderer(t)
	for _, at := range []time.Time{t0, time.Date(2031, 7, 8, 19, 37, 48, 159e6, time.UTC)} {
		img := decode(t, r.Frame("1006073b", "Front door", at))
		got := ""
		for i, s := range r.l.lines {
			for k := range s.n {
				got += string(readCell(r.l, img, paletteFor("1006073b"), i, k))
			}
			got += " "
		}
		if want := at.Format("2006-01-02 15:04:05.000 "); got != want {
			t.Errorf("read %q, want %q", got, want)
		}
	}
}

func TestNameChange(t *testing.T) {
	r := newRenderer(t)
	a := decode(t, r.Frame("1006073b", "Front door", t0))
	b := decode(t, r.Frame("1006073b", "Back door", t0))
	name := image.Rect(r.l.name.x, r.l.name.y, 640, r.l.name.y+glyphRows*r.l.name.scale)
	if d := mae(a, b, name); d < 5 {
		t.Errorf("renamed camera: name region differs by only %.2f", d)
	}
}

func TestGlyphIndices(t *testing.T) {
	at := time.Date(2026, 1, 2, 23, 59, 59, 999999999, time.FixedZone("X", 5*3600))
	var txt [nLines][12]uint8
	glyphIndices(at, &txt)
	got := ""
	for i, s := range []int{10, 12} {
		for _, g := range txt[i][:s] {
			got += string(cellGlyphs[g])
		}
		got += " "
	}
	if want := "2026-01-02 18:59:59.999 "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConcurrent(t *testing.T) {
	r, want := newRenderer(t), newRenderer(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 30 {
				esn := fmt.Sprintf("%08x", 0x10000000+(g*7+i)%13)
				at := t0.Add(time.Duration(g*1000+i) * time.Millisecond)
				f := r.Frame(esn, "cam "+esn[6:], at)
				if !bytes.Equal(f, want.Frame(esn, "cam "+esn[6:], at)) {
					t.Errorf("%s: concurrent frame differs", esn)
				}
				if i > 0 {
					continue
				}
				if _, err := jpeg.Decode(bytes.NewReader(f)); err != nil {
					t.Errorf("%s: %v", esn, err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(r.cams); n != 13 {
		t.Errorf("cached %d cameras, want 13", n)
	}
}

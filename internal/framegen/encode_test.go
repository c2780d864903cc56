package framegen

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// naiveCoeffs is the textbook 2-D DCT-II, quantized, as a reference for the
// AAN implementation.
func naiveCoeffs(c *canvas, p int) (z [64]int16) {
	var out [8][8]float64
	for v := range 8 {
		for u := range 8 {
			s := 0.0
			for y := range 8 {
				for x := range 8 {
					f := float64(c.pl[p][y*c.w+x]) - 128
					s += f * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) *
						math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
				}
			}
			cu, cv := 1.0, 1.0
			if u == 0 {
				cu = 1 / math.Sqrt2
			}
			if v == 0 {
				cv = 1 / math.Sqrt2
			}
			out[v][u] = s * cu * cv / 4
		}
	}
	for i, k := range zigzag {
		z[i] = int16(math.Round(out[k/8][k%8] / float64(quant[min(p, 1)][i])))
	}
	return z
}

func TestDCTMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newCanvas(8, 8)
	off := 0
	for n := range 500 {
		for p := range c.pl {
			for i := range c.pl[p] {
				c.pl[p][i] = uint8(rng.IntN(256) >> (n % 8)) // smooth to noisy
			}
		}
		for p := range 3 {
			got, nz := coeffs(c, p, 0, 0)
			want := naiveCoeffs(c, p)
			for i := range got {
				if d := got[i] - want[i]; d > 1 || d < -1 {
					t.Fatalf("block %d plane %d coefficient %d: got %d, want %d", n, p, i, got[i], want[i])
				} else if d != 0 {
					off++
				}
				if i >= nz && got[i] != 0 {
					t.Fatalf("non-zero coefficient %d past nz %d", i, nz)
				}
			}
		}
	}
	if off > 500*3*64/1000 { // rounding ties may differ, rarely
		t.Errorf("%d coefficients off by one", off)
	}
}

func TestBitWriterStuffing(t *testing.T) {
	w := &bitWriter{stuff: true}
	w.put(0xFFFF, 16)
	w.put(0x7, 3)
	w.pad()
	if got := fmt.Sprintf("% X", w.bytes()); got != "FF 00 FF 00 FF 00" {
		t.Errorf("got %s", got)
	}
	arena := &bitWriter{}
	off := arena.begin()
	for i := range 100 {
		arena.put(uint64(i*37)&0x1FF, 9)
	}
	s := arena.end(off)
	for shift := range uint(8) {
		a, b := &bitWriter{}, &bitWriter{}
		a.put(0, shift)
		b.put(0, shift)
		a.splice(arena.bytes(), s)
		for i := range 100 {
			b.put(uint64(i*37)&0x1FF, 9)
		}
		a.pad()
		b.pad()
		if !bytes.Equal(a.bytes(), b.bytes()) {
			t.Fatalf("splice at bit offset %d differs", shift)
		}
	}
}

// TestLibjpeg decodes a frame with libjpeg-turbo (what Chromium uses), when
// its djpeg tool is installed, in strict mode, and compares the pixels.
func TestLibjpeg(t *testing.T) {
	djpeg, err := exec.LookPath("djpeg")
	if err != nil {
		msg := "djpeg not found (apt-get install libjpeg-turbo-progs): skipping the libjpeg-turbo decode check"
		if os.Getenv("CAMRELAY_NO_SKIP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	r := newRenderer(t)
	f := r.Frame("1006073b", "Front door", t0)
	path := filepath.Join(t.TempDir(), "f.jpg")
	if err := os.WriteFile(path, f, 0o644); err != nil {
		t.Fatal(err)
	}
	ppm, err := exec.Command(djpeg, "-strict", "-pnm", path).Output()
	if err != nil {
		t.Fatalf("djpeg: %v", err)
	}
	head := []byte("P6\n640 360\n255\n")
	if !bytes.HasPrefix(ppm, head) || len(ppm) != len(head)+640*360*3 {
		t.Fatalf("unexpected djpeg output %q", ppm[:min(len(ppm), 20)])
	}
	lib := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for i := range 640 * 360 {
		copy(lib.Pix[4*i:], ppm[len(head)+3*i:len(head)+3*i+3])
	}
	if d := mae(decode(t, f), lib, lib.Bounds()); d > 1 {
		t.Errorf("libjpeg and image/jpeg disagree by %.2f", d)
	}
}

package thumb

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/camrelay/camrelay/internal/framegen"
)

func simFrame(t testing.TB) []byte {
	r, err := framegen.New(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	return r.Frame("1006073b", "Front door", time.Unix(1e9, 0))
}

// Resize keeps the aspect, never upscales, and refuses what does not
// decode or claims too many pixels.
func TestResize(t *testing.T) {
	src := simFrame(t)
	for w, want := range map[int]string{160: "160×90 resized", 320: "320×180 resized", 639: "639×359 resized", 640: "640×360 as is", 4096: "640×360 as is"} {
		th, err := Resize(src, w)
		if err != nil {
			t.Fatalf("w=%d: %v", w, err)
		}
		c, err := jpeg.DecodeConfig(bytes.NewReader(th.JPEG))
		how := map[bool]string{true: "resized", false: "as is"}[th.Resized]
		if got := fmt.Sprintf("%d×%d %s", c.Width, c.Height, how); err != nil || got != want || th.Width != c.Width {
			t.Errorf("w=%d: %s (Width %d), %v; want %s", w, got, th.Width, err, want)
		}
		if !th.Resized && &th.JPEG[0] != &src[0] {
			t.Errorf("w=%d: a frame no wider is copied, not returned", w)
		}
	}
	for name, b := range map[string][]byte{"empty": nil, "garbage": []byte("\xff\xd8\xffjunk"), "truncated": src[:len(src)/2]} {
		if _, err := Resize(b, 160); !errors.Is(err, ErrUndecodable) {
			t.Errorf("%s: %v, want ErrUndecodable", name, err)
		}
	}
	if h := Height(4000, 1, 320); h != 1 {
		t.Errorf("Height(4000, 1, 320) = %d, want 1 (never 0)", h)
	}
}

// BenchmarkResize compares the resamplers on a simulator frame.
func BenchmarkResize(b *testing.B) {
	src := simFrame(b)
	for _, sc := range []struct {
		name string
		s    draw.Scaler
	}{{"CatmullRom", draw.CatmullRom}, {"ApproxBiLinear", draw.ApproxBiLinear}} {
		for _, w := range []int{160, 320} {
			b.Run(fmt.Sprintf("%s/w=%d", sc.name, w), func(b *testing.B) {
				for b.Loop() {
					if _, err := ResizeWith(sc.s, src, w); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

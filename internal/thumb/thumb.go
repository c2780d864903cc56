// Package thumb resizes a JPEG frame to a thumbnail: decoded with
// image/jpeg, scaled with golang.org/x/image/draw, encoded again with
// image/jpeg. It never upscales and refuses frames too large to decode
// safely.
package thumb

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// Quality is the thumbnails' JPEG quality. image/jpeg's default (75)
// blurs the small clock and name lettering of a 160-pixel thumbnail into
// the blocks around it; 80 keeps it legible for about 10 % more bytes,
// and a thumbnail is still a fraction of the frame's size.
const Quality = 80

// MaxPixels bounds the frames resized: a camera preview is far smaller,
// and a corrupt header claiming 65535×65535 must not make a replica
// allocate gigabytes or decode for seconds.
const MaxPixels = 2048 * 2048

// Scaler is the resampler: ApproxBiLinear, measured against CatmullRom
// (docs/BENCHMARKS.md). A resize costs CPU per frame per width on every
// replica, for every camera watched at that width, so it is chosen for
// cost: its whole resize (decode, scale, encode) takes about 40 % of
// CatmullRom's, whose wide float kernel costs more than the decode.
// At half the width (640 → 320, the grid's usual) ApproxBiLinear samples
// exactly between 2×2 pixels, a box filter, and looks like CatmullRom; at
// a quarter it skips pixels and thin strokes lose a little, which a
// 160-pixel thumbnail shows barely.
var Scaler draw.Scaler = draw.ApproxBiLinear

// ErrUndecodable says the frame is no JPEG this package can resize.
var ErrUndecodable = errors.New("frame does not decode as a JPEG")

// Thumbnail is a frame at a width.
type Thumbnail struct {
	JPEG    []byte
	Width   int
	Resized bool // false: JPEG is the frame itself, no wider than asked
}

// Resize returns src scaled to width w, the height keeping the aspect
// (at least 1 pixel). A frame no wider than w is returned as it is:
// thumbnails never upscale.
func Resize(src []byte, w int) (Thumbnail, error) {
	return ResizeWith(Scaler, src, w)
}

// ResizeWith is Resize with another scaler, for measuring them.
func ResizeWith(sc draw.Scaler, src []byte, w int) (Thumbnail, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(src))
	switch {
	case err != nil:
		return Thumbnail{}, fmt.Errorf("%w: %w", ErrUndecodable, err)
	case cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels:
		return Thumbnail{}, fmt.Errorf("%w: %d×%d pixels", ErrUndecodable, cfg.Width, cfg.Height)
	case cfg.Width <= w:
		return Thumbnail{JPEG: src, Width: cfg.Width}, nil
	}
	m, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		return Thumbnail{}, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	b := m.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, w, Height(b.Dx(), b.Dy(), w)))
	sc.Scale(dst, dst.Bounds(), m, b, draw.Src, nil)
	var buf bytes.Buffer
	buf.Grow(len(src) * w / b.Dx())
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: Quality}); err != nil {
		return Thumbnail{}, err // writing to memory: does not happen
	}
	return Thumbnail{JPEG: buf.Bytes(), Width: w, Resized: true}, nil
}

// Height is the height of a srcW×srcH picture scaled to width w, rounded,
// at least 1.
func Height(srcW, srcH, w int) int {
	return max(1, (srcH*w+srcW/2)/srcW)
}

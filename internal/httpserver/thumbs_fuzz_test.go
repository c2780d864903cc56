package httpserver

import (
	"bytes"
	"errors"
	stdjpeg "image/jpeg"
	"strconv"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/preview"
	"github.com/camrelay/camrelay/internal/thumb"
)

// FuzzThumbnail feeds any query to the w parsing and any frame bytes to
// the resize path (seeds in testdata/fuzz/FuzzThumbnail: real frames,
// truncated and corrupt ones, 1×1, 4000×1, 1×4000, a header claiming
// 65535×65535). A w is accepted only as an offered width; a thumbnail
// either is one that decodes at that width (the frame's own when it is no
// wider) with the aspect kept, or the error says the frame does not
// decode; never a panic.
func FuzzThumbnail(f *testing.F) {
	srv := New(Config{}, newFakeStore())
	f.Fuzz(func(t *testing.T, query string, frame []byte) {
		slot, err := srv.widths.slot(query, "w")
		switch {
		case err != nil && !errors.Is(err, errBadWidth):
			t.Fatalf("slot(%q): %v", query, err)
		case err == nil && slot >= len(srv.widths.px):
			t.Fatalf("slot(%q) = %d of %d widths", query, slot, len(srv.widths.px))
		case err != nil || slot < 0:
			slot = len(query) % len(srv.widths.px) // still resize, at some width
		}
		img := newImage(preview.NewFrame(camA, "20261124040506.250", frame, time.Time{}))
		r, err := srv.thumbnail(img, slot)
		if err != nil {
			if !errors.Is(err, thumb.ErrUndecodable) {
				t.Fatalf("resize: %v, not ErrUndecodable", err)
			}
			return
		}
		want, _ := strconv.Atoi(r.width[0])
		src, _ := stdjpeg.DecodeConfig(bytes.NewReader(frame))
		got, err := stdjpeg.DecodeConfig(bytes.NewReader(r.jpeg))
		switch {
		case err != nil:
			t.Fatalf("the thumbnail does not decode: %v", err)
		case got.Width != want || want > srv.widths.px[slot]:
			t.Fatalf("thumbnail %d wide, says %d, asked %d", got.Width, want, srv.widths.px[slot])
		case want < src.Width && got.Height != thumb.Height(src.Width, src.Height, want):
			t.Fatalf("thumbnail %d×%d of %d×%d: aspect not kept", got.Width, got.Height, src.Width, src.Height)
		}
	})
}

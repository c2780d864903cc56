package framegen

import (
	"encoding/binary"
	"math"
)

// aanScale are the output scale factors of the AAN DCT below:
// 1 for k = 0, else cos(k*pi/16)*sqrt(2).
var aanScale = [8]float64{1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.541196100, 0.275899379}

// quantDiv folds the AAN scaling, the factor 8 of the 2-D DCT and the
// quantizer into one multiplier per zig-zag coefficient.
var quantDiv = func() (d [2][64]float32) {
	for t := range quant {
		for i, k := range zigzag {
			d[t][i] = float32(1 / (float64(quant[t][i]) * aanScale[k/8] * aanScale[k%8] * 8))
		}
	}
	return d
}()

// aan is the Arai-Agui-Nakajima scaled 1-D forward DCT (as in IJG's
// jfdctflt.c) of the 8 values of b at off, off+stride, ...
func aan(b *[64]float32, off, stride int) {
	var d [8]float32
	for i := range d {
		d[i] = b[off+i*stride]
	}
	t0, t7 := d[0]+d[7], d[0]-d[7]
	t1, t6 := d[1]+d[6], d[1]-d[6]
	t2, t5 := d[2]+d[5], d[2]-d[5]
	t3, t4 := d[3]+d[4], d[3]-d[4]

	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2
	d[0], d[4] = t10+t11, t10-t11
	z1 := (t12 + t13) * 0.707106781
	d[2], d[6] = t13+z1, t13-z1

	t10, t11, t12 = t4+t5, t5+t6, t6+t7
	z5 := (t10 - t12) * 0.382683433
	z2 := 0.541196100*t10 + z5
	z4 := 1.306562965*t12 + z5
	z3 := t11 * 0.707106781
	z11, z13 := t7+z3, t7-z3
	d[5], d[3] = z13+z2, z13-z2
	d[1], d[7] = z11+z4, z11-z4
	for i, v := range d {
		b[off+i*stride] = v
	}
}

// coeffs returns the quantized zig-zag DCT coefficients of the 8x8 block of
// plane p at (x, y) within canvas c, and nz, one past the last non-zero
// coefficient (at least 1). Flat blocks, which dominate these images, skip
// the DCT.
func coeffs(c *canvas, p, x, y int) (z [64]int16, nz int) {
	pl, q := c.pl[p], min(p, 1)
	v0 := pl[y*c.w+x]
	if isFlat(pl[y*c.w+x:], c.w, v0) {
		z[0] = int16(math.Round(8 * (float64(v0) - 128) / float64(quant[q][0])))
		return z, 1
	}
	var b [64]float32
	for j := range 8 {
		for i, v := range pl[(y+j)*c.w+x : (y+j)*c.w+x+8] {
			b[j*8+i] = float32(v) - 128
		}
	}
	for j := range 8 {
		aan(&b, j*8, 1)
	}
	for i := range 8 {
		aan(&b, i, 8)
	}
	nz = 1
	for i, k := range zigzag {
		z[i] = int16(math.Round(float64(b[k] * quantDiv[q][i])))
		if z[i] != 0 {
			nz = max(nz, i+1)
		}
	}
	return z, nz
}

// isFlat reports whether all 8x8 pixels at pl (row stride w) equal v,
// comparing 8 pixels at a time.
func isFlat(pl []uint8, w int, v uint8) bool {
	pat := uint64(v) * 0x0101010101010101
	for j := range 8 {
		if binary.LittleEndian.Uint64(pl[j*w:]) != pat {
			return false
		}
	}
	return true
}

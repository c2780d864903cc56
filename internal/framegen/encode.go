package framegen

import (
	"encoding/binary"
	mbits "math/bits"
)

// bitWriter appends Huffman-coded bits to buf, 32 bits at a time. With
// stuff set it inserts the 0x00 after each 0xFF byte that entropy-coded data
// requires; cached pieces are stored unstuffed because their byte
// boundaries shift when spliced. It writes at buf[pos] rather than
// appending, which keeps slice-header stores (and their GC write barriers)
// out of the inner loop.
type bitWriter struct {
	buf   []byte
	pos   int
	acc   uint64 // pending bits: the low n are not yet in buf
	n     uint   // < 32 between calls
	stuff bool
}

// ensure makes room for k more bytes.
func (w *bitWriter) ensure(k int) {
	if w.pos+k > len(w.buf) {
		w.grow(k)
	}
}

func (w *bitWriter) grow(k int) {
	b := make([]byte, max(2*len(w.buf), w.pos+k, 256))
	copy(b, w.buf[:w.pos])
	w.buf = b
}

// bytes returns everything written so far.
func (w *bitWriter) bytes() []byte { return w.buf[:w.pos] }

// raw copies b (markers, finished segments) to the output; the writer
// must be byte aligned.
func (w *bitWriter) raw(b ...byte) {
	w.ensure(len(b))
	w.pos += copy(w.buf[w.pos:], b)
}

// put appends the low n (<= 32) bits of v, which must have no higher bits.
func (w *bitWriter) put(v uint64, n uint) {
	w.acc = w.acc<<n | v
	w.n += n
	if w.n >= 32 {
		w.spill()
	}
}

// spill writes out 32 pending bits; separate so that put inlines.
func (w *bitWriter) spill() {
	w.n -= 32
	x := uint32(w.acc >> w.n)
	w.ensure(8)
	if z := ^x; w.stuff && (z-0x01010101)&^z&0x80808080 != 0 { // has 0xFF
		w.stuffed(x)
		return
	}
	binary.BigEndian.PutUint32(w.buf[w.pos:], x)
	w.pos += 4
}

func (w *bitWriter) stuffed(x uint32) {
	for s := 24; s >= 0; s -= 8 {
		w.byte(byte(x >> s))
	}
}

func (w *bitWriter) byte(b byte) {
	w.ensure(2)
	w.buf[w.pos] = b
	w.pos++
	if b == 0xFF && w.stuff {
		w.buf[w.pos] = 0
		w.pos++
	}
}

// flush moves the pending whole bytes to buf.
func (w *bitWriter) flush() {
	for w.n >= 8 {
		w.n -= 8
		w.byte(byte(w.acc >> w.n))
	}
}

// pad fills the last byte with 1-bits, as required before a marker.
func (w *bitWriter) pad() {
	if k := (8 - w.n%8) % 8; k > 0 {
		w.put(1<<k-1, k)
	}
	w.flush()
}

// value writes symbol run<<4|size with table t followed by v's magnitude bits.
func (w *bitWriter) value(t *[256]code, run int, v int32) {
	a := v
	if a < 0 {
		a, v = -a, v-1
	}
	size := uint(mbits.Len32(uint32(a)))
	c := t[run<<4|int(size)]
	w.put(uint64(c.val), uint(c.len))
	if size > 0 {
		w.put(uint64(uint32(v)&(1<<size-1)), size)
	}
}

// ac writes the AC coefficients of a zig-zag block with run-length coding;
// coefficients from nz on are zero.
func (w *bitWriter) ac(t *[256]code, z *[64]int16, nz int) {
	run := 0
	for _, v := range z[1:nz] {
		if v == 0 {
			run++
			continue
		}
		for ; run > 15; run -= 16 {
			w.put(uint64(t[0xF0].val), uint(t[0xF0].len))
		}
		w.value(t, run, int32(v))
		run = 0
	}
	if nz < 64 {
		w.put(uint64(t[0].val), uint(t[0].len)) // EOB
	}
}

// bits locates an unstuffed bit sequence of n bits at byte off of an arena.
type bits struct {
	off, n int32
}

// begin starts a new sequence; the writer must be byte aligned.
func (w *bitWriter) begin() int32 { return int32(w.pos) }

// end closes a sequence started at off, zero-padding its last byte.
func (w *bitWriter) end(off int32) bits {
	n := int32(w.pos-int(off))*8 + int32(w.n)
	w.flush()
	if w.n > 0 {
		w.byte(byte(w.acc << (8 - w.n)))
		w.n = 0
	}
	return bits{off, n}
}

// splice copies sequence s from arena, 32 bits at a time.
func (w *bitWriter) splice(arena []byte, s bits) {
	d := arena[s.off : int(s.off)+int(s.n+7)/8]
	full := int(s.n / 8)
	w.ensure(2*len(d) + 8) // even if every byte needs stuffing
	i, acc, n, buf, pos := 0, w.acc, w.n, w.buf, w.pos
	for ; i+4 <= full; i += 4 { // the hot loop: put(word, 32) in locals
		acc = acc<<32 | uint64(binary.BigEndian.Uint32(d[i:i+4]))
		x := uint32(acc >> n)
		if z := ^x; (z-0x01010101)&^z&0x80808080 != 0 && w.stuff {
			w.pos = pos
			w.stuffed(x)
			buf, pos = w.buf, w.pos
			continue
		}
		binary.BigEndian.PutUint32(buf[pos:pos+4], x)
		pos += 4
	}
	w.acc, w.pos = acc, pos
	if r := uint(s.n) - uint(i)*8; r > 0 { // 1..31 bits left: one put
		var v uint64
		for _, c := range d[i:] {
			v = v<<8 | uint64(c)
		}
		w.put(v>>(uint(len(d)-i)*8-r), r)
	}
}

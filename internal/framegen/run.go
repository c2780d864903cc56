package framegen

// A run is a horizontal span of MCUs, entropy-coded once and spliced into
// frames at any bit offset. Only the first MCU's DC differences depend on
// what precedes the span (the DC predictors), so they are kept as values and
// coded at splice time; everything else is stored as ready-made bits.
type run struct {
	mcus int
	dc0  [3]int16 // DC of the first MCU, per component
	ac0  [3]bits  // AC bits of the first MCU, per component
	body bits     // remaining MCUs, coded relative to the first
	dcN  [3]int16 // DC of the last MCU: the predictors after the span
}

// tables returns the DC and AC code tables for component p.
func tables(p int) (dc, ac *[256]code) {
	t := 2 * min(p, 1)
	return &huffCodes[t+huffDC], &huffCodes[t+huffAC]
}

// encodeRun codes MCUs [col0, col1) of MCU row by of canvas c (band
// relative), appending the bits to w, an unstuffed arena writer.
func encodeRun(w *bitWriter, c *canvas, by, col0, col1 int) run {
	r := run{mcus: col1 - col0}
	if r.mcus <= 0 {
		return r
	}
	var pred [3]int16
	var body int32
	for col := col0; col < col1; col++ {
		if col == col0+1 {
			body = w.begin()
		}
		for p := range 3 {
			z, nz := coeffs(c, p, col*8, by*8)
			dc, ac := tables(p)
			if col == col0 {
				r.dc0[p] = z[0]
				off := w.begin()
				w.ac(ac, &z, nz)
				r.ac0[p] = w.end(off)
			} else {
				w.value(dc, 0, int32(z[0]-pred[p]))
				w.ac(ac, &z, nz)
			}
			pred[p] = z[0]
		}
	}
	if r.mcus > 1 {
		r.body = w.end(body)
	}
	r.dcN = pred
	return r
}

// emit splices r from arena into w, coding the first MCU's DC differences
// against pred and updating pred to the span's last DC values.
func (w *bitWriter) emit(arena []byte, r *run, pred *[3]int16) {
	if r.mcus == 0 {
		return
	}
	for p := range 3 {
		dc, _ := tables(p)
		w.value(dc, 0, int32(r.dc0[p]-pred[p]))
		w.splice(arena, r.ac0[p])
	}
	w.splice(arena, r.body)
	*pred = r.dcN
}

// maxBits bounds the bits emit can produce for r; a DC difference takes at
// most 22 bits (an 11-bit category code plus 11 magnitude bits).
func (r *run) maxBits() int {
	if r.mcus == 0 {
		return 0
	}
	n := 3*22 + int(r.body.n)
	for _, s := range r.ac0 {
		n += int(s.n)
	}
	return n
}

package barcode

// readableBand extends a 1D read over the scan lines that read it. Asked for
// a single symbol, zxing-cpp returns as soon as two adjacent lines agree; its
// multi-symbol mode, which would merge all the lines, is unsafe in 1.4 (see
// decodeFlags). So strips of bandStrip lines (zero-copy views of g) beyond
// each side of the band are read, and the band grows to the line where a
// strip gives the same text, for as long as strips start within half the
// code's length of the band (zxing's own criterion for merging lines). zxing's
// lines are always rows or columns of g. Strips are that thick because
// zxing's local-average binarizer falls back to a global histogram below 40
// lines, which reads far fewer lines of a photo.
func (d *Detector) readableBand(g Gray, c *[4]Point, format int, text string) [4]Point {
	x0, y0, x1, y1 := c[0].X, c[0].Y, c[0].X, c[0].Y
	for _, p := range c[1:] {
		x0, y0 = min(x0, p.X), min(y0, p.Y)
		x1, y1 = max(x1, p.X), max(y1, p.Y)
	}
	horizontal := x1-x0 >= y1-y0
	// a0..a1: the code along the lines; lo..hi: the band of lines;
	// lines: how many lines g has, span: their length.
	a0, a1, lo, hi, lines, span := x0, x1, y0, y1, g.Height, g.Width
	if !horizontal {
		a0, a1, lo, hi, lines, span = y0, y1, x0, x1, g.Width, g.Height
	}
	length := a1 - a0
	if length < 16 {
		return *c
	}
	margin := 0.1*length + 8
	s0 := max(int(a0-margin), 0)
	s1 := min(int(a1+margin)+1, span)
	thick := min(bandStrip, lines)
	// read reads the strip of lines [first, first+thick) and returns the
	// line where it found the same symbol.
	read := func(first int) (float64, bool) {
		var strip Gray
		flags := zxTryHarder
		if horizontal {
			strip = Gray{Pix: g.Pix[first*g.Stride+s0:], Stride: g.Stride, Width: s1 - s0, Height: thick}
		} else {
			strip = Gray{Pix: g.Pix[s0*g.Stride+first:], Stride: g.Stride, Width: thick, Height: s1 - s0}
			flags |= zxTryRotate
		}
		at, same := 0.0, false
		d.dec.read(strip, format, flags, 1, func(f int, t []byte, q *[4]Point) {
			if f != format || string(t) != text {
				return
			}
			same = true
			for _, p := range q {
				if horizontal {
					at += p.Y / 4
				} else {
					at += p.X / 4
				}
			}
		})
		return float64(first) + at, same
	}
	probes := 0
	// Upwards (towards line 0): strips ending just before the band.
	for next := int(lo); probes < maxBandProbes && lo-float64(next) <= length/2; probes++ {
		first := next - thick
		if first < 0 {
			break
		}
		if at, ok := read(first); ok && at < lo {
			lo, next = at, int(at)
		} else {
			next = first
		}
	}
	for next := int(hi) + 1; probes < 2*maxBandProbes && float64(next)-hi <= length/2; probes++ {
		if next+thick > lines {
			break
		}
		if at, ok := read(next); ok && at > hi {
			hi, next = at, int(at)+1
		} else {
			next += thick
		}
	}
	if horizontal {
		return [4]Point{{a0, lo}, {a1, lo}, {a1, hi}, {a0, hi}}
	}
	return [4]Point{{lo, a0}, {hi, a0}, {hi, a1}, {lo, a1}}
}

// maxBandProbes bounds the probes on each side of a 1D read; bandStrip is
// the thickness of a probe strip (see readableBand).
const (
	maxBandProbes = 32
	bandStrip     = 41
)

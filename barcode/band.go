package barcode

import "math"

// A 1D symbol is placed the way zxing-cpp itself reports one found in a
// whole image: across its bars, the band from the first to the last scan
// line (row, or column for a vertical code) where it reads, each end as long
// as the symbol is on that line. Asked for a single symbol, zxing returns as
// soon as two lines agree, and its multi-symbol mode cannot be used in 1.4
// (comparing two merged 1D results trips an assertion that aborts the
// process, see decodeFlags). So lines are read one at a time (readLine):
// zxing's 1D readers binarize every line by its own histogram, so a line
// read alone reads as it does within the image.

// readLine reads line i of g (a row, or a column when !horizontal) from s0
// to s1 alone, and reports whether it reads text in format, and where
// along the line the symbol lies.
func (d *Detector) readLine(g Gray, horizontal bool, i, s0, s1, format int, text string) (ok bool, e0, e1 float64) {
	n := s1 - s0
	if n < 3 {
		return false, 0, 0
	}
	if cap(d.line) < 2*n {
		d.line = make([]byte, 2*n)
	}
	buf := d.line[:2*n]
	if horizontal {
		copy(buf, g.Pix[i*g.Stride+s0:i*g.Stride+s1])
	} else {
		for k := range n {
			buf[k] = g.Pix[(s0+k)*g.Stride+i]
		}
	}
	// Twice, as a two-line image: zxing wants two lines to agree.
	copy(buf[n:], buf[:n])
	d.dec.read(Gray{Pix: buf, Stride: n, Width: n, Height: 2}, format, zxTryHarder, 1,
		func(f int, t []byte, c *[4]Point) {
			if ok || f != format || string(t) != text {
				return
			}
			ok, e0, e1 = true, math.Inf(1), math.Inf(-1)
			for _, p := range c {
				e0, e1 = min(e0, p.X), max(e1, p.X)
			}
		})
	return ok, float64(s0) + e0, float64(s0) + e1
}

// readableBand finds the lines of g that read a 1D symbol (text in format)
// read at c (g's pixel indices, as zxing gives them): every line
// across c's bounding box, then lines outwards for as long as they lie
// within half the code's length of the last reading line (zxing's own
// criterion for one symbol). Lines are read whole, as zxing reads an
// image's. It returns the band (the first and last reading
// lines' spans, in g's pixel indices) and how many lines read.
func (d *Detector) readableBand(g Gray, c *[4]Point, format int, text string) (band [4]Point, reads int) {
	x0, y0, x1, y1 := bounds(c)
	horizontal := x1-x0 >= y1-y0
	// a0..a1: the code along the lines; lo..hi: across them;
	// lines: how many lines g has, span: their length.
	a0, a1, lo, hi, lines, span := x0, x1, y0, y1, g.Height, g.Width
	if !horizontal {
		a0, a1, lo, hi, lines, span = y0, y1, x0, x1, g.Width, g.Height
	}
	length := a1 - a0
	if length < 16 || g.Width < 1 || g.Height < 1 {
		return *c, 0
	}
	var top, bot [2]float64 // the first and last reading lines' spans
	first, last := -1, -1
	probe := func(i int) bool {
		ok, e0, e1 := d.readLine(g, horizontal, i, 0, span, format, text)
		if !ok {
			return false
		}
		reads++
		if first < 0 || i < first {
			first, top = i, [2]float64{e0, e1}
		}
		if i > last {
			last, bot = i, [2]float64{e0, e1}
		}
		return true
	}
	from, to := max(int(math.Floor(lo)), 0), min(int(math.Ceil(hi)), lines-1)
	step := max(1, (to-from+1)/maxBandProbes)
	for i := from; i <= to; i += step {
		probe(i)
	}
	// Outwards from the reading lines, or from c when none of these lines
	// reads (c may come from lines of another length, binarized apart).
	up, down := first, last
	if reads == 0 {
		up, down = from, to
	}
	reach := length / 2
	for i, n := up-1, 0; i >= 0 && float64(up-i) < reach && n < maxBandProbes; i, n = i-1, n+1 {
		if probe(i) && i < up {
			up = i
		}
	}
	for i, n := down+1, 0; i < lines && float64(i-down) < reach && n < maxBandProbes; i, n = i+1, n+1 {
		if probe(i) && i > down {
			down = i
		}
	}
	if reads == 0 {
		return *c, 0
	}
	t, b := float64(first), float64(last)
	if horizontal {
		return [4]Point{{top[0], t}, {top[1], t}, {bot[1], b}, {bot[0], b}}, reads
	}
	return [4]Point{{t, top[0]}, {b, bot[0]}, {b, bot[1]}, {t, top[1]}}, reads
}

// bounds is the bounding box of c.
func bounds(c *[4]Point) (x0, y0, x1, y1 float64) {
	x0, y0, x1, y1 = c[0].X, c[0].Y, c[0].X, c[0].Y
	for _, p := range c[1:] {
		x0, y0 = min(x0, p.X), min(y0, p.Y)
		x1, y1 = max(x1, p.X), max(y1, p.Y)
	}
	return
}

// maxBandProbes bounds the lines probed across a 1D read and on each side
// of it (see readableBand); bandStrip is how many lines a re-read of a 1D
// symbol is given at least, so that zxing's binarizer has the rows it needs.
const (
	maxBandProbes = 512
	bandStrip     = 41
)

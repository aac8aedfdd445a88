package barcode

import "math"

// Module-count plausibility for regions that did not decode: a code crossed
// along its bars (or along either grid axis of a 2D code) shows many
// light/dark runs of a few different widths, where an edge, a line of text or
// a regular stripe texture shows few runs or equal ones.

const profileLines = 16 // scan lines averaged per profile

// runsAlong samples the mean luma profile of region r along its axis (0: the
// rectangle's u axis, 1: v), averaging profileLines lines spread over the
// middle half of the other axis, binarizes it at the midpoint of its range
// and returns the number of runs and the coefficient of variation of their
// widths. Too little contrast gives 0 runs.
func (d *Detector) runsAlong(r *region, axis int, luma Gray) (runs int, cv float64) {
	c, s := math.Cos(r.angle), math.Sin(r.angle)
	// Unit vector along the profile and across it.
	ax, ay, bx, by := c, s, -s, c
	half, across := r.hu, r.hv
	if axis == 1 {
		ax, ay, bx, by = -s, c, c, s
		half, across = r.hv, r.hu
	}
	n := int(2 * half)
	if n < 8 {
		return 0, 0
	}
	if cap(d.prof) < n {
		d.prof = make([]float64, n)
	}
	prof := d.prof[:n]
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range prof {
		t := float64(i) + 0.5 - half
		sum := 0.0
		for k := 0; k < profileLines; k++ {
			o := (float64(k)/(profileLines-1) - 0.5) * across // middle half: ±across/2
			x := r.cx + t*ax + o*bx - 0.5
			y := r.cy + t*ay + o*by - 0.5
			sum += float64(bilinear(luma, x, y))
		}
		v := sum / profileLines
		prof[i] = v
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo < float64(d.p.MinProfileContrast) {
		return 0, 0
	}
	mid := (lo + hi) / 2
	// Runs between the first and last transition; the outer ones are
	// quiet zone or background.
	var sum, sum2 float64
	last := -1
	dark := prof[0] < mid
	for i := 1; i < n; i++ {
		if dk := prof[i] < mid; dk != dark {
			dark = dk
			if last >= 0 {
				w := float64(i - last)
				sum += w
				sum2 += w * w
				runs++
			}
			last = i
		}
	}
	if runs < 2 {
		return runs, 0
	}
	mean := sum / float64(runs)
	return runs, math.Sqrt(max(sum2/float64(runs)-mean*mean, 0)) / mean
}

// codeLike applies the run checks to an undecoded region.
func (d *Detector) codeLike(r *region, luma Gray) bool {
	p := &d.p
	nu, cvu := d.runsAlong(r, 0, luma)
	nv, cvv := d.runsAlong(r, 1, luma)
	if r.kind == kindBars {
		n, cv := nu, cvu
		if nv > nu {
			n, cv = nv, cvv
		}
		return n >= p.MinRuns1D && cv >= p.MinRunCV
	}
	return nu >= p.MinRuns2D && nv >= p.MinRuns2D && cvu >= p.MinRunCV && cvv >= p.MinRunCV
}

package barcodetest

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Seen is one detection in one frame, reduced to what video scoring uses
// (a DetectedBarcode from /api/events or `detect --json`).
type Seen struct {
	Format   string
	RawValue string
	Corners  [4][2]float64
}

// decoded reports whether the detection carries a value (not "unknown").
func (s Seen) decoded() bool { return s.RawValue != "" && s.Format != "unknown" }

// CodeID names a code of a clip: segment and index in its Case.Truth.
type CodeID struct{ Segment, Index int }

// VideoReport holds the figures of one clip played through a detector.
type VideoReport struct {
	Codes int // codes in the clip (each counted once, however long in view)
	Read  int // codes decoded (value and format) in some frame while in view
	// FramesToRead holds, per read code, the frames from its first frame in
	// view to its first read (0: read in the first frame).
	FramesToRead []float64
	// CornerErr holds, per frame and detection matched to a code in view,
	// the distance of the worst corner from the code's true corner in that
	// frame (px), corners paired in the rotation that fits best.
	CornerErr []float64
	// CornerErrOf holds CornerErr by the format of the code matched: 1D
	// codes' true corners span only the lines zxing read, 2D codes' are
	// the symbol's own (see CornerErrIn).
	CornerErrOf map[string][]float64
	// CodeFrames counts (code, frame) pairs with the code in view;
	// CodeFramesBoxed those where some detection matched the code (a box
	// on it in that frame's event, however far off).
	CodeFrames, CodeFramesBoxed int
	// Matched is len(CornerErr); MatchedDecoded those matched by value.
	Matched, MatchedDecoded int

	FalsePosPhotos   int // photos without codes that had a detection in some frame
	FalsePosFrames   int // their frames with a detection
	NotInView        int // decoded detections whose value is on no code in view
	NotInViewFrames  int // frames with at least one such detection
	StaleDetections  int // of NotInView: an earlier photo's value, after the cut
	Unmatched        int // undecoded detections with no code in view under their centre
	FramesWithEvents int

	// Against a reference detector (`shadercast detect`) run on some frames
	// of each photo: RefRead codes it read; ReadOfRef of those the video
	// read too.
	RefFrames       int
	RefRead         int
	ReadOfRef       int
	PerFormat       map[string]*[3]int // format: codes, read, reference read
	Missed          []string           // codes not read
	MissedByVideoOf []string           // codes the reference read and the video did not
}

// ScoreVideo scores per-frame detections (frame index in the clip -> what
// was reported for it; a frame absent from dets had no detection) against
// the clip's truth. ref holds the reference detector's detections on the
// frames it was run on (nil: no comparison).
func ScoreVideo(c *Clip, dets map[int][]Seen, ref map[int][]Seen) VideoReport {
	r := VideoReport{PerFormat: map[string]*[3]int{}, CornerErrOf: map[string][]float64{}}
	type state struct {
		first, refRead bool
		firstAt        int
	}
	st := map[CodeID]*state{}
	for i, s := range c.Segments {
		for j, tr := range s.Case.Truth {
			st[CodeID{i, j}] = &state{firstAt: -1}
			r.Codes++
			pf := r.PerFormat[tr.Format]
			if pf == nil {
				pf = &[3]int{}
				r.PerFormat[tr.Format] = pf
			}
			pf[0]++
		}
	}
	fpPhoto := map[int]bool{}
	shownBefore := map[string]bool{} // values of the photos before the current one
	for n := 0; n < c.Frames; n++ {
		i := c.Segment(n)
		seg := &c.Segments[i]
		if n == seg.Start && i > 0 {
			for _, tr := range c.Segments[i-1].Case.Truth {
				shownBefore[tr.Text] = true
			}
		}
		if !seg.Case.FalsePositive {
			r.CodeFrames += len(seg.Case.Truth)
		}
		if rs, ok := ref[n]; ok {
			r.RefFrames++
			for _, d := range rs {
				for j, tr := range seg.Case.Truth {
					if d.decoded() && d.RawValue == tr.Text && d.Format == tr.Format {
						st[CodeID{i, j}].refRead = true
					}
				}
			}
		}
		ds, ok := dets[n]
		if !ok {
			continue
		}
		if len(ds) > 0 {
			r.FramesWithEvents++
		}
		if seg.Case.FalsePositive {
			if len(ds) > 0 {
				fpPhoto[i] = true
				r.FalsePosFrames++
			}
			continue
		}
		view := c.Truth(n)
		notInView := false
		boxed := make([]bool, len(view))
		for _, d := range ds {
			j := -1
			if d.decoded() {
				for k, iv := range view {
					if d.RawValue == iv.Text && d.Format == iv.Format {
						j = k
						break
					}
				}
				if j < 0 {
					r.NotInView++
					notInView = true
					if shownBefore[d.RawValue] {
						r.StaleDetections++
					}
					continue
				}
				s := st[CodeID{i, j}]
				if !s.first {
					s.first, s.firstAt = true, n-seg.Start
				}
				r.MatchedDecoded++
			} else {
				cx, cy := 0.0, 0.0
				for _, p := range d.Corners {
					cx, cy = cx+p[0]/4, cy+p[1]/4
				}
				for k, iv := range view {
					if insideQuad(iv.Corners, cx, cy) {
						j = k
						break
					}
				}
				if j < 0 {
					r.Unmatched++
					continue
				}
			}
			e := CornerError(d.Corners, view[j].Corners)
			r.CornerErr = append(r.CornerErr, e)
			r.CornerErrOf[view[j].Format] = append(r.CornerErrOf[view[j].Format], e)
			if !boxed[j] {
				boxed[j] = true
				r.CodeFramesBoxed++
			}
		}
		if notInView {
			r.NotInViewFrames++
		}
	}
	r.FalsePosPhotos = len(fpPhoto)
	r.Matched = len(r.CornerErr)
	for i, s := range c.Segments {
		for j, tr := range s.Case.Truth {
			x := st[CodeID{i, j}]
			pf := r.PerFormat[tr.Format]
			id := fmt.Sprintf("%s %s %q", s.Case.Name, tr.Format, tr.Text)
			if x.first {
				r.Read++
				pf[1]++
				r.FramesToRead = append(r.FramesToRead, float64(x.firstAt))
			} else {
				r.Missed = append(r.Missed, id)
			}
			if x.refRead {
				r.RefRead++
				pf[2]++
				if x.first {
					r.ReadOfRef++
				} else {
					r.MissedByVideoOf = append(r.MissedByVideoOf, id)
				}
			}
		}
	}
	return r
}

// CornerError is the distance of the worst corner of got from want, with
// the corners paired in whichever of the 8 cyclic orders (either winding)
// fits best: DetectedBarcode starts at the corner nearest the image's
// top-left, the manifest at the symbol's own first corner.
func CornerError(got, want [4][2]float64) float64 {
	best := math.Inf(1)
	for _, rev := range []bool{false, true} {
		for sh := 0; sh < 4; sh++ {
			worst := 0.0
			for k := 0; k < 4; k++ {
				m := (sh + k) % 4
				if rev {
					m = (sh - k + 4) % 4
				}
				worst = math.Max(worst, math.Hypot(got[k][0]-want[m][0], got[k][1]-want[m][1]))
			}
			best = math.Min(best, worst)
		}
	}
	return best
}

// insideQuad reports whether (x, y) is inside the convex quadrilateral q
// (either winding).
func insideQuad(q [4][2]float64, x, y float64) bool {
	sign := 0.0
	for k := 0; k < 4; k++ {
		a, b := q[k], q[(k+1)%4]
		cr := (b[0]-a[0])*(y-a[1]) - (b[1]-a[1])*(x-a[0])
		if cr == 0 {
			continue
		}
		if sign == 0 {
			sign = cr
		} else if (cr > 0) != (sign > 0) {
			return false
		}
	}
	return true
}

// Percentile is the p-quantile (0..1) of xs by nearest rank; 0 for none.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// Mean is the arithmetic mean; 0 for none.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// CornerErrIn returns the corner errors of the detections matched to codes
// of the given formats.
func (r VideoReport) CornerErrIn(formats ...string) []float64 {
	var out []float64
	for _, f := range formats {
		out = append(out, r.CornerErrOf[f]...)
	}
	return out
}

// ReadRate is Read/Codes.
func (r VideoReport) ReadRate() float64 { return frac(r.Read, r.Codes) }

// RefReadRate is RefRead/Codes: what the reference read on its frames.
func (r VideoReport) RefReadRate() float64 { return frac(r.RefRead, r.Codes) }

// ReadOfRefRate is ReadOfRef/RefRead: of the codes the reference read, the
// share the video read too (the "≥ 95% of what detect reads").
func (r VideoReport) ReadOfRefRate() float64 { return frac(r.ReadOfRef, r.RefRead) }

// String formats every figure, one per line.
func (r VideoReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "read %d of %d codes (%.1f%%)", r.Read, r.Codes, 100*r.ReadRate())
	if r.RefFrames > 0 {
		fmt.Fprintf(&b, "; reference read %d (%.1f%%) on %d frames; of those the video read %d (%.1f%%)",
			r.RefRead, 100*r.RefReadRate(), r.RefFrames, r.ReadOfRef, 100*r.ReadOfRefRate())
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "frames to first read: median %.0f, p95 %.0f (%d codes)\n",
		Percentile(r.FramesToRead, 0.5), Percentile(r.FramesToRead, 0.95), len(r.FramesToRead))
	fmt.Fprintf(&b, "corner error (worst corner, px): median %.1f, mean %.1f, p95 %.1f, max %.1f (%d detections in frames, %d matched by value)\n",
		Percentile(r.CornerErr, 0.5), Mean(r.CornerErr), Percentile(r.CornerErr, 0.95), Percentile(r.CornerErr, 1), r.Matched, r.MatchedDecoded)
	fmt.Fprintf(&b, "codes in view with a box on them: %d of %d code-frames (%.1f%%)\n", r.CodeFramesBoxed, r.CodeFrames, 100*frac(r.CodeFramesBoxed, r.CodeFrames))
	fmt.Fprintf(&b, "false positives: %d photos without codes had detections (%d frames); %d decoded detections not in view in %d frames (%d an earlier photo's); %d undecoded detections on no code\n",
		r.FalsePosPhotos, r.FalsePosFrames, r.NotInView, r.NotInViewFrames, r.StaleDetections, r.Unmatched)
	names := make([]string, 0, len(r.PerFormat))
	for n := range r.PerFormat {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pf := r.PerFormat[n]
		ce := r.CornerErrOf[n]
		fmt.Fprintf(&b, "  %-12s %4d codes, read %4d (%5.1f%%), reference %4d (%5.1f%%); corner error median %.1f, p95 %.1f px (%d)\n",
			n, pf[0], pf[1], 100*frac(pf[1], pf[0]), pf[2], 100*frac(pf[2], pf[0]), Percentile(ce, 0.5), Percentile(ce, 0.95), len(ce))
	}
	return b.String()
}

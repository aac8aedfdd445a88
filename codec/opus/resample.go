package opus

import "math"

// resampler converts interleaved float32 audio from an integer input rate
// to 48 kHz with a windowed-sinc (Blackman) polyphase filter. Linear
// interpolation would alias and dull the top octave audibly; this filter
// keeps aliasing and imaging well below what Opus can represent.
//
// Output sample n lies exactly at input time n*inRate/48000 (in input
// samples) from the first input sample: the filter is centred, not causal,
// so it adds latency (half the filter) but no timing offset, and packet
// timestamps can be computed from sample counts alone. Positions are kept
// as an integer plus a fraction over 48000, so nothing drifts however long
// the stream runs.
type resampler struct {
	ch, inRate int
	half       int       // filter taps on each side of the output position
	table      []float32 // (phases+1) rows of 2*half taps
	hist       []float32 // interleaved input not yet fully used
	s          int       // frame index in hist of the current output's first tap
	frac       int       // fractional position, in 1/48000 of an input sample
}

const (
	outRate        = 48000
	zeroCrossings  = 16  // filter half-width in zero crossings of the sinc
	resamplePhases = 256 // table resolution; rows in between are interpolated
)

func newResampler(ch, inRate int) *resampler {
	// Cut off a little below the lower Nyquist frequency so the transition
	// band of the finite filter lies where nothing is kept anyway.
	cutoff := 0.95 * math.Min(1, float64(outRate)/float64(inRate))
	half := int(math.Ceil(zeroCrossings / cutoff))
	taps := 2 * half
	table := make([]float32, (resamplePhases+1)*taps)
	row := make([]float64, taps)
	for q := range resamplePhases + 1 {
		f := float64(q) / resamplePhases
		var sum float64
		for j := range taps {
			// distance from the output position to tap j's input sample
			d := f + float64(half-1-j)
			x := d / float64(half)
			var w float64
			if math.Abs(x) < 1 {
				w = 0.42 + 0.5*math.Cos(math.Pi*x) + 0.08*math.Cos(2*math.Pi*x)
			}
			v := cutoff * sinc(cutoff*d) * w
			row[j], sum = v, sum+v
		}
		// Unit gain at DC for every phase, or the fractional position would
		// modulate the level.
		for j := range taps {
			table[q*taps+j] = float32(row[j] / sum)
		}
	}
	r := &resampler{ch: ch, inRate: inRate, half: half, table: table}
	// half-1 frames of silence before the first sample centre the filter
	// on input sample 0 for output sample 0.
	r.hist = make([]float32, (half-1)*ch, 4096*ch)
	return r
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// process appends in (interleaved) to the history and appends every output
// frame that the available input fully determines to out.
func (r *resampler) process(in []float32, out []float32) []float32 {
	r.hist = append(r.hist, in...)
	ch, taps := r.ch, 2*r.half
	frames := len(r.hist) / ch
	for r.s+taps <= frames {
		qf := float64(r.frac) * resamplePhases / outRate
		q := int(qf)
		a := float32(qf - float64(q))
		k0 := r.table[q*taps : (q+1)*taps]
		k1 := r.table[(q+1)*taps : (q+2)*taps]
		x := r.hist[r.s*ch : (r.s+taps)*ch]
		for c := range ch {
			var acc0, acc1 float32
			for j := range taps {
				v := x[j*ch+c]
				acc0 += v * k0[j]
				acc1 += v * k1[j]
			}
			out = append(out, acc0+a*(acc1-acc0))
		}
		r.frac += r.inRate
		r.s += r.frac / outRate
		r.frac %= outRate
	}
	// Drop input that no later output needs.
	n := copy(r.hist, r.hist[r.s*ch:])
	r.hist = r.hist[:n]
	r.s = 0
	return out
}

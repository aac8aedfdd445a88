// Package spectrum computes magnitude spectra of audio blocks, for ISF's
// audioFFT images: a Hann window, a radix-2 FFT, and magnitudes scaled so
// that a sine's bin reads its amplitude.
package spectrum

import (
	"fmt"
	"math"
	"math/cmplx"
)

// Analyzer computes the spectra of blocks of N samples. It keeps its
// buffers: one per goroutine.
type Analyzer struct {
	n      int
	window []float64
	gain   float64 // 2 / sum(window): a sine of amplitude A reads A
	buf    []complex128
	tw     []complex128 // twiddles
}

// New returns an Analyzer of blocks of n samples, n a power of two from 2
// to 65536.
func New(n int) (*Analyzer, error) {
	if n < 2 || n > 1<<16 || n&(n-1) != 0 {
		return nil, fmt.Errorf("spectrum: block of %d samples: want a power of two from 2 to 65536", n)
	}
	a := &Analyzer{n: n, window: make([]float64, n), buf: make([]complex128, n), tw: make([]complex128, n/2)}
	sum := 0.0
	for i := range a.window {
		a.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		sum += a.window[i]
	}
	a.gain = 2 / sum
	for k := range a.tw {
		a.tw[k] = cmplx.Exp(complex(0, -2*math.Pi*float64(k)/float64(n)))
	}
	return a, nil
}

// Bins is the number of bins a spectrum has: N/2, from 0 Hz up to (not
// including) half the sample rate.
func (a *Analyzer) Bins() int { return a.n / 2 }

// Magnitudes writes into out (Bins() long) the magnitudes of the block
// x[offset], x[offset+stride], ... (N samples: one channel of interleaved
// audio), clamped to 0..1.
func (a *Analyzer) Magnitudes(x []float32, offset, stride int, out []float32) {
	n := a.n
	// Bit-reversed order, windowed.
	bits := 0
	for 1<<bits < n {
		bits++
	}
	for i := 0; i < n; i++ {
		j := 0
		for b := 0; b < bits; b++ {
			j |= (i >> b & 1) << (bits - 1 - b)
		}
		a.buf[j] = complex(float64(x[offset+i*stride])*a.window[i], 0)
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for k := 0; k < half; k++ {
				t := a.tw[k*step] * a.buf[start+k+half]
				u := a.buf[start+k]
				a.buf[start+k], a.buf[start+k+half] = u+t, u-t
			}
		}
	}
	for k := range out[:n/2] {
		out[k] = float32(min(cmplx.Abs(a.buf[k])*a.gain, 1))
	}
}

package spectrum

import (
	"math"
	"testing"
)

// A sine on a bin reads its amplitude there and next to nothing far from
// it; two channels interleaved are told apart; silence is zero.
func TestMagnitudes(t *testing.T) {
	const n = 1024
	a, err := New(n)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		x[2*i] = float32(0.5 * math.Sin(2*math.Pi*40*float64(i)/n))    // bin 40, left
		x[2*i+1] = float32(0.8 * math.Sin(2*math.Pi*100*float64(i)/n)) // bin 100, right
	}
	out := make([]float32, a.Bins())
	a.Magnitudes(x, 0, 2, out)
	if math.Abs(float64(out[40])-0.5) > 0.01 || out[100] > 0.001 || out[200] > 0.001 {
		t.Errorf("left: bin 40 %.4f (want 0.5), bin 100 %.4f, bin 200 %.4f", out[40], out[100], out[200])
	}
	a.Magnitudes(x, 1, 2, out)
	if math.Abs(float64(out[100])-0.8) > 0.01 || out[40] > 0.001 {
		t.Errorf("right: bin 100 %.4f (want 0.8), bin 40 %.4f", out[100], out[40])
	}
	a.Magnitudes(make([]float32, n), 0, 1, out)
	for k, v := range out {
		if v != 0 {
			t.Fatalf("silence: bin %d is %g", k, v)
		}
	}
	for _, bad := range []int{0, 3, 1000, 1 << 17} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%d) took a size that is not a power of two in range", bad)
		}
	}
}

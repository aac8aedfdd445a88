// Package codectest holds the test helpers of the codec packages (vp8,
// h264): a synthetic picture that moves, and the measures its round trip
// is checked with.
package codectest

import (
	"math"
	"testing"

	"github.com/shadercast/shadercast/media"
)

// Patch geometry and colour (BT.601 limited-range YUV of a saturated
// orange) for the round-trip test.
const (
	PatchX, PatchY, PatchW, PatchH = 96, 64, 128, 96
	PatchYv, PatchU, PatchV        = 150, 60, 190
)

// Pattern is an I420 frame: a diagonal luma gradient and smooth chroma
// ramps that scroll by shift pixels, a fine texture when textured is set
// (so the encoder needs real bits), and a solid patch.
func Pattern(t testing.TB, w, h int, ts int64, shift int, textured bool) media.VideoFrame {
	t.Helper()
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h, Timestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := f.Plane(0)
	u, _ := f.Plane(1)
	v, _ := f.Plane(2)
	for r := range y.Height {
		row := y.Data[r*y.Stride:]
		for c := range y.Width {
			val := 16 + ((c+shift)*219/max(1, w)+r*219/max(1, h))/2
			if textured {
				// deterministic hash noise that moves with the content
				x := uint32((c+shift)*7919 + r*104729)
				x ^= x >> 13
				x *= 0x5bd1e995
				val += int(x>>27) - 16
			}
			row[c] = byte(min(235, max(16, val)))
		}
	}
	for r := range u.Height {
		for c := range u.Width {
			u.Data[r*u.Stride+c] = byte(64 + ((c+shift/2)*128/max(1, u.Width))%128)
			v.Data[r*v.Stride+c] = byte(64 + r*128/max(1, u.Height))
		}
	}
	if w >= PatchX+PatchW && h >= PatchY+PatchH {
		for r := PatchY; r < PatchY+PatchH; r++ {
			for c := PatchX; c < PatchX+PatchW; c++ {
				y.Data[r*y.Stride+c] = PatchYv
			}
		}
		for r := PatchY / 2; r < (PatchY+PatchH)/2; r++ {
			for c := PatchX / 2; c < (PatchX+PatchW)/2; c++ {
				u.Data[r*u.Stride+c] = PatchU
				v.Data[r*v.Stride+c] = PatchV
			}
		}
	}
	return f
}

// PSNRY is the luma PSNR of b against a, in dB (99 when equal).
func PSNRY(t testing.TB, a, b media.VideoFrame) float64 {
	t.Helper()
	pa, err := a.Plane(0)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.Plane(0)
	if err != nil {
		t.Fatal(err)
	}
	if pa.Width != pb.Width || pa.Height != pb.Height {
		t.Fatalf("size mismatch %dx%d vs %dx%d", pa.Width, pa.Height, pb.Width, pb.Height)
	}
	var sse float64
	for r := range pa.Height {
		for c := range pa.Width {
			d := float64(pa.Data[r*pa.Stride+c]) - float64(pb.Data[r*pb.Stride+c])
			sse += d * d
		}
	}
	mse := sse / float64(pa.Width*pa.Height)
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

// MeanRect averages plane i over a rectangle given in that plane's samples.
func MeanRect(t testing.TB, f media.VideoFrame, i, x0, y0, x1, y1 int) float64 {
	t.Helper()
	p, err := f.Plane(i)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for r := y0; r < y1; r++ {
		for c := x0; c < x1; c++ {
			s += float64(p.Data[r*p.Stride+c])
		}
	}
	return s / float64((x1-x0)*(y1-y0))
}

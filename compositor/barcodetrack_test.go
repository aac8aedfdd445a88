package compositor

import (
	"context"
	"image"
	"math"
	"slices"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/source/testsrc"
)

// TestBarcodeCornersFollowMotion plays the test scene as video through the
// barcode pass at the service's software defaults (analysis at 427 px) and
// checks every frame's QR corners against the scene's exact corners of
// that frame: a box served from an earlier frame lags a moving, rotating
// code. The scene is rendered at a low nominal rate so that it moves ten
// times as far per frame as at 30 fps (5° and up to 5 px per frame).
func TestBarcodeCornersFollowMotion(t *testing.T) {
	const w, h, frames = 1280, 720, 120
	pat, err := testsrc.New(w, h, 3)
	if err != nil {
		t.Fatal(err)
	}
	params := barcode.DefaultParams()
	params.MaxAnalysisSide = 427
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA}, NewBarcodePass(params))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var out Output
	var errs []float64
	missed := 0
	for i := range frames {
		pat.Render(i, img)
		fr := rgbaFrame(t, img, int64(i))
		if err := p.Process(context.Background(), fr, &out); err != nil {
			t.Fatal(err)
		}
		fr.Close()
		out.Frame.Close()
		for _, want := range pat.Barcodes(i) {
			if want.Format != "qr_code" {
				continue // 1D corners span only the scan lines that read
			}
			got := -1.0
			for _, d := range out.Detections {
				if d.Format == want.Format && d.RawValue == want.Value && len(d.CornerPoints) == 4 {
					got = cornerError(want.Corners, [4]barcode.Point(d.CornerPoints))
				}
			}
			if got < 0 {
				missed++
				continue
			}
			errs = append(errs, got)
		}
	}
	if len(errs) == 0 {
		t.Fatal("the QR code was never read")
	}
	med, p95 := percentile(errs, 0.5), percentile(errs, 0.95)
	t.Logf("QR corner error over %d frames (worst corner): median %.1f px, p95 %.1f px, max %.1f px; not reported in %d frames",
		len(errs), med, p95, slices.Max(errs), missed)
	if med > 3 || p95 > 8 {
		t.Errorf("corner error median %.1f px (want ≤ 3), p95 %.1f px (want ≤ 8)", med, p95)
	}
	if missed > frames/20 {
		t.Errorf("QR code not reported in %d of %d frames", missed, frames)
	}
}

// cornerError is the distance of the worst corner of got from want, for
// the cyclic correspondence that makes it smallest: both are quads, but
// which corner a detector starts from depends on the rotation.
func cornerError(want, got [4]barcode.Point) float64 {
	best := math.Inf(1)
	for s := range 4 {
		worst := 0.0
		for k := range 4 {
			g := got[(k+s)%4]
			worst = max(worst, math.Hypot(g.X-want[k].X, g.Y-want[k].Y))
		}
		best = min(best, worst)
	}
	return best
}

// percentile is the q-quantile of xs (nearest rank).
func percentile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

package testsrc

import (
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/internal/barcodetest"
)

// TestBarcodesDecode runs the project's barcode detector (CPU reference of
// the GPU mask stages, which work at half resolution at 720p, then zxing-cpp
// on full-resolution luma) over frames spread across a whole turn of the QR
// code, and checks that every code is read with the right value where
// Barcodes says it is.
func TestBarcodesDecode(t *testing.T) {
	for _, size := range [][2]int{{1280, 720}, {1920, 1080}} {
		p := newPattern(t, size[0], size[1], 30)
		params := barcode.DefaultParams()
		params.DisableCache = true // every frame on its own merits
		d := barcode.NewDetector(params)
		defer d.Close()
		var mask barcode.Mask
		var luma barcode.Gray
		img := image.NewRGBA(image.Rect(0, 0, size[0], size[1]))
		step := 41
		if testing.Short() {
			step = 163
		}
		// 24 s of frames: one full turn of the QR code.
		for i := 0; i < qrTurnSeconds*30; i += step {
			p.Render(i, img)
			barcode.ReferenceMask(img, params, &mask)
			barcode.LumaFromRGBA(img, &luma)
			got := d.Detect(&mask, luma)
			for _, want := range p.Barcodes(i) {
				if err := matchDetection(want, got); err != "" {
					t.Errorf("%dx%d frame %d %s: %s", size[0], size[1], i, want.Format, err)
				}
			}
			for _, g := range got {
				if g.Format != "unknown" && !isOurs(g, p.Barcodes(i)) {
					t.Errorf("%dx%d frame %d: spurious %s %q", size[0], size[1], i, g.Format, g.RawValue)
				}
			}
		}
	}
}

func isOurs(g barcode.DetectedBarcode, placed []Placed) bool {
	for _, pl := range placed {
		if pl.Format == g.Format && pl.Value == g.RawValue {
			return true
		}
	}
	return false
}

// matchDetection finds want among the detections and checks its position
// with the criterion the detector is scored by on photos
// (barcodetest.Localized: the detected box covers most of the true one and
// is not much larger). For QR codes the corners come from zxing and are the
// symbol's own, so they must also agree with the truth to a few pixels.
func matchDetection(want Placed, got []barcode.DetectedBarcode) string {
	tb := boxOf(want.Corners[:])
	for _, g := range got {
		if g.Format != want.Format || g.RawValue != want.Value {
			continue
		}
		db := barcodetest.Box{X: g.BoundingBox.X, Y: g.BoundingBox.Y, W: g.BoundingBox.Width, H: g.BoundingBox.Height}
		if !barcodetest.Localized(db, tb) {
			return fmt.Sprintf("detected box %+v does not localize true box %+v", db, tb)
		}
		if want.Format != "qr_code" {
			return ""
		}
		for _, w := range want.Corners {
			best := math.Inf(1)
			for _, c := range g.CornerPoints {
				best = min(best, math.Hypot(c.X-w.X, c.Y-w.Y))
			}
			if best > 4 {
				return fmt.Sprintf("true corner %v is %.1f px from the nearest detected corner", w, best)
			}
		}
		return ""
	}
	return "not detected"
}

func boxOf(pts []barcode.Point) barcodetest.Box {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		x0, y0, x1, y1 = min(x0, p.X), min(y0, p.Y), max(x1, p.X), max(y1, p.Y)
	}
	return barcodetest.Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

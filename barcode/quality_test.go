package barcode

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/barcodetest"
)

// TestQualityReference scores the reference path (ReferenceMask ->
// Detector.Detect, cache disabled as for still images) on the photo set.
func TestQualityReference(t *testing.T) {
	cases := barcodetest.Load(t)
	p := DefaultParams()
	p.DisableCache = true
	d := NewDetector(p)
	defer d.Close()
	var m Mask
	var luma Gray
	dets := make([][]barcodetest.Detection, len(cases))
	var tMask, tDetect, worst time.Duration
	worstName := ""
	verbose := os.Getenv("BARCODE_VERBOSE") != ""
	for i, c := range cases {
		img, err := barcodetest.LoadRGBA(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		ReferenceMask(img, p, &m)
		t1 := time.Now()
		LumaFromRGBA(img, &luma)
		got := d.Detect(&m, luma)
		dt := time.Since(t1)
		tDetect += dt
		if dt > worst {
			worst, worstName = dt, c.Name
		}
		tMask += t1.Sub(t0)
		for _, g := range got {
			b := g.BoundingBox
			dets[i] = append(dets[i], barcodetest.Detection{
				Box:      barcodetest.Box{X: b.X, Y: b.Y, W: b.Width, H: b.Height},
				Format:   g.Format,
				RawValue: g.RawValue,
			})
		}
		if verbose {
			var s []string
			for _, g := range got {
				s = append(s, g.Format+":"+g.RawValue)
			}
			t.Logf("%s: %s", c.Name, strings.Join(s, " | "))
		}
	}
	r := barcodetest.Score(cases, dets)
	t.Logf("%d images: reference mask %v, luma+Detect %v (slowest %v, %s)", len(cases),
		tMask.Round(time.Millisecond), tDetect.Round(time.Millisecond), worst.Round(time.Millisecond), worstName)
	t.Logf("\n%s", r)
	for _, s := range r.Missed {
		t.Logf("not localized: %s", s)
	}
	for _, s := range r.Undecoded {
		t.Logf("not decoded:   %s", s)
	}
	for _, s := range r.FalseAlarms {
		t.Logf("false alarm:   %s", s)
	}
	r.Check(t)
}

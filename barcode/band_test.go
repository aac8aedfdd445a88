package barcode

import (
	"fmt"
	"testing"
)

// TestLinearBandIsReadingLines: a 1D code is reported on the band of frame
// rows that read it, as zxing-cpp places one it finds in a whole image. The
// code's rows are made unreadable (smeared along the bars' normal) except
// every 7th row of [a, b], so the band is known without asking zxing: from
// the first to the last intact row. Straight codes are read through the
// frame's own rows, tilted ones through a crop turned upright and then
// placed on the frame's rows.
func TestLinearBandIsReadingLines(t *testing.T) {
	for _, c := range []struct {
		format, text string
		deg          float64
	}{
		{"ean_13", "5901234123457", 0},
		{"code_128", "band-128", 0},
		{"ean_13", "5901234123457", 6},
	} {
		t.Run(fmt.Sprintf("%s/%g", c.format, c.deg), func(t *testing.T) {
			const cx, cy, w, h = 400, 240, 260, 120
			img, _ := render(t, 800, 480, []placed{{c.format, c.text, w, h, cx, cy, c.deg, false}})
			a, b := cy-30, cy-30+7*8
			intact := func(y int) bool { return y >= a && y <= b && (y-a)%7 == 0 }
			// Smear every other row of the code over 24 pixels: bars gone.
			for y := cy - h; y < cy+h; y++ {
				if intact(y) {
					continue
				}
				row := img.Pix[y*img.Stride : (y+1)*img.Stride]
				sm := make([]int, 800)
				for x := range 800 {
					s, n := 0, 0
					for k := max(x-12, 0); k < min(x+12, 800); k++ {
						s += int(row[4*k])
						n++
					}
					sm[x] = s / n
				}
				for x := range 800 {
					row[4*x], row[4*x+1], row[4*x+2] = byte(sm[x]), byte(sm[x]), byte(sm[x])
				}
			}
			var luma Gray
			LumaFromRGBA(img, &luma)
			p := DefaultParams()
			p.DisableCache = true
			var m Mask
			ReferenceMask(img, p, &m)
			d := NewDetector(p)
			defer d.Close()
			var got *DetectedBarcode
			for _, g := range d.Detect(&m, luma) {
				if g.Format == c.format && g.RawValue == c.text {
					got = &g
				}
			}
			if got == nil {
				t.Fatalf("%s %q not read", c.format, c.text)
			}
			bb := got.BoundingBox
			// Rows at pixel centres: row y is y+0.5.
			top, bot := bb.Y-0.5, bb.Y+bb.Height-0.5
			t.Logf("band rows %.1f..%.1f, intact rows %d..%d", top, bot, a, b)
			if c.deg == 0 {
				if top < float64(a)-0.5 || top > float64(a)+0.5 || bot < float64(b)-0.5 || bot > float64(b)+0.5 {
					t.Errorf("band rows %.1f..%.1f, want %d..%d", top, bot, a, b)
				}
				return
			}
			// Tilted: the intact rows that cross all the bars.
			if top < float64(a)-0.5 || bot > float64(b)+0.5 || bot-top < float64(b-a)/3 {
				t.Errorf("band rows %.1f..%.1f, want within %d..%d and a third of it", top, bot, a, b)
			}
		})
	}
}

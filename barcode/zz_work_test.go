package barcode_test

import (
	"image"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/source/testsrc"
)

func TestZZWork(t *testing.T) {
	p := barcode.DefaultParams()
	p.MaxAnalysisSide = 427
	pat, _ := testsrc.New(1280, 720, 30)
	d := barcode.NewDetector(p)
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	var m barcode.Mask
	var luma barcode.Gray
	busy := 0
	for i := 0; i < 300; i++ {
		pat.Render(i, img)
		barcode.ReferenceMask(img, p, &m)
		barcode.LumaFromRGBA(img, &luma)
		n := d.Decodes() + d.Verifies()
		d.Detect(&m, luma)
		if d.Decodes()+d.Verifies() > n {
			busy++
		}
	}
	t.Logf("300 frames at 30 fps: %d decodes, %d re-reads, %d frames with zxing work (luma read back)", d.Decodes(), d.Verifies(), busy)
}

// Package codetest makes pictures of barcodes whose place is known by
// construction, for the tests of what finds them (the compositor's barcode
// pass, the service). It is apart from barcodetest, which barcode's own
// tests use: this one imports barcode.
package codetest

import (
	"image"
	"testing"

	"github.com/shadercast/shadercast/barcode"
)

// QROnGrey is an opaque w x h picture of grey level grey with a size x size
// QR code of value at (ox, oy): a code whose place is known by construction.
func QROnGrey(t testing.TB, value string, size, w, h, ox, oy int, grey uint8) *image.RGBA {
	t.Helper()
	code, err := barcode.Encode("qr_code", value, size, size)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = grey
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			v := code.GrayAt(x, y).Y
			o := img.PixOffset(ox+x, oy+y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = v, v, v
		}
	}
	return img
}

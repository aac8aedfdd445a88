package compositor

import (
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/media"
)

// benchFrame is a smooth gradient I420 frame (no barcodes).
func benchFrame(b testing.TB, w, h int, withBarcodes bool) media.VideoFrame {
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		pl, _ := f.Plane(i)
		for y := 0; y < pl.Height; y++ {
			for x := 0; x < pl.Width; x++ {
				pl.Data[y*pl.Stride+x] = byte((x + y*i) & 0xff)
			}
		}
	}
	return f
}

func benchBarcodePass(b testing.TB) Pass {
	return NewBarcodePass(barcode.DefaultParams())
}

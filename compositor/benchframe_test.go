package compositor

import (
	"image"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
)

// benchFrame is an I420 frame: the built-in test pattern (three barcodes
// over a textured background) when withBarcodes, else a plain gradient.
func benchFrame(b testing.TB, w, h int, withBarcodes bool) media.VideoFrame {
	var img *image.RGBA
	if withBarcodes {
		pat, err := testsrc.New(w, h, 30)
		if err != nil {
			b.Fatal(err)
		}
		img = image.NewRGBA(image.Rect(0, 0, w, h))
		pat.Render(0, img)
	}
	return i420Frame(b, w, h, img)
}

// benchFrames is n consecutive frames of the test pattern at fps.
func benchFrames(b testing.TB, w, h int, fps float64, n int) []media.VideoFrame {
	pat, err := testsrc.New(w, h, fps)
	if err != nil {
		b.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fs := make([]media.VideoFrame, n)
	for i := range fs {
		pat.Render(i, img)
		fs[i] = i420Frame(b, w, h, img)
	}
	return fs
}

// i420Frame converts img to an I420 frame; nil: a plain gradient.
func i420Frame(b testing.TB, w, h int, img *image.RGBA) media.VideoFrame {
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h})
	if err != nil {
		b.Fatal(err)
	}
	var pl [3]media.Plane
	for i := range pl {
		pl[i], _ = f.Plane(i)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl := float64(x%256), float64(y%256), float64((x+y)%256)
			if img != nil {
				o := img.PixOffset(x, y)
				r, g, bl = float64(img.Pix[o]), float64(img.Pix[o+1]), float64(img.Pix[o+2])
			}
			// BT.709 limited range.
			yy := 16 + (0.2126*r+0.7152*g+0.0722*bl)*219/255
			pl[0].Data[y*pl[0].Stride+x] = byte(yy + 0.5)
			if x%2 == 0 && y%2 == 0 {
				l := 0.2126*r + 0.7152*g + 0.0722*bl
				pl[1].Data[(y/2)*pl[1].Stride+x/2] = byte(128 + (bl-l)/1.8556*224/255 + 0.5)
				pl[2].Data[(y/2)*pl[2].Stride+x/2] = byte(128 + (r-l)/1.5748*224/255 + 0.5)
			}
		}
	}
	return f
}

func benchBarcodePass(b testing.TB) Pass {
	return NewBarcodePass(barcode.DefaultParams())
}

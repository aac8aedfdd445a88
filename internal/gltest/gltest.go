// Package gltest holds the test helpers of the GPU packages (compositor
// and the pass kinds beside their packages): frames made from images, the
// bytes of a frame's plane, test pictures and the benchmark frames. It
// imports no GPU package, so that compositor's own tests can use it too.
package gltest

import (
	"image"
	"image/color"
	"testing"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
)

// RGBAFrame is a frame over img's pixels (no copy), timestamp ts.
func RGBAFrame(t testing.TB, img *image.RGBA, ts int64) media.VideoFrame {
	t.Helper()
	b := img.Bounds()
	fr, err := media.NewVideoFrame(img.Pix, media.VideoFrameInit{
		Format: media.RGBA, CodedWidth: b.Dx(), CodedHeight: b.Dy(), Timestamp: ts,
		Layout: []media.PlaneLayout{{Offset: 0, Stride: img.Stride}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// SolidFrame is a w x h RGBA frame of one colour, closed when the test
// ends.
func SolidFrame(t testing.TB, w, h int, c [4]byte) media.VideoFrame {
	t.Helper()
	buf := make([]byte, 4*w*h)
	for i := 0; i < len(buf); i += 4 {
		copy(buf[i:], c[:])
	}
	fr, err := media.NewVideoFrame(buf, media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fr.Close() })
	return fr
}

// I420Frame converts img to an I420 frame (BT.709 limited range); nil: a
// plain gradient.
func I420Frame(t testing.TB, w, h int, img *image.RGBA) media.VideoFrame {
	t.Helper()
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h})
	if err != nil {
		t.Fatal(err)
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

// PlaneBytes is plane i of f without row padding: one byte per sample
// for I420 and NV12, four for the RGB formats.
func PlaneBytes(t testing.TB, f media.VideoFrame, i int) []byte {
	t.Helper()
	pl, err := f.Plane(i)
	if err != nil {
		t.Fatal(err)
	}
	bpp := 1
	if f.Format() != media.I420 && f.Format() != media.NV12 {
		bpp = 4
	}
	out := make([]byte, 0, pl.Width*bpp*pl.Height)
	for y := 0; y < pl.Height; y++ {
		out = append(out, pl.Data[y*pl.Stride:y*pl.Stride+pl.Width*bpp]...)
	}
	return out
}

// BenchFrame is an I420 frame: the built-in test pattern (three barcodes
// over a textured background) when withBarcodes, else a plain gradient.
func BenchFrame(t testing.TB, w, h int, withBarcodes bool) media.VideoFrame {
	t.Helper()
	var img *image.RGBA
	if withBarcodes {
		pat, err := testsrc.New(w, h, 30)
		if err != nil {
			t.Fatal(err)
		}
		img = image.NewRGBA(image.Rect(0, 0, w, h))
		pat.Render(0, img)
	}
	return I420Frame(t, w, h, img)
}

// BenchFrames is n consecutive I420 frames of the test pattern at fps.
func BenchFrames(t testing.TB, w, h int, fps float64, n int) []media.VideoFrame {
	t.Helper()
	pat, err := testsrc.New(w, h, fps)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fs := make([]media.VideoFrame, n)
	for i := range fs {
		pat.Render(i, img)
		fs[i] = I420Frame(t, w, h, img)
	}
	return fs
}

// PingPong is frames played forwards and then backwards to the second
// (a loop with no jump; closing a frame twice is harmless).
func PingPong(frames []media.VideoFrame) []media.VideoFrame {
	for i := len(frames) - 2; i > 0; i-- {
		frames = append(frames, frames[i])
	}
	return frames
}

// Gradient is a w x h image whose colour changes along both axes, with
// the given alpha.
func Gradient(w, h int, alpha uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(255 * x / w), uint8(255 * y / h), uint8(255 - 200*x/w), alpha})
		}
	}
	return img
}

// Checker is a w x h checkerboard of 8-pixel squares, opaque red and
// half-transparent white.
func Checker(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x/8+y/8)%2 == 0 {
				img.SetRGBA(x, y, color.RGBA{220, 30, 30, 255})
			} else {
				img.SetRGBA(x, y, color.RGBA{250, 250, 250, 128})
			}
		}
	}
	return img
}

// NearRGB reports whether the first pixel of got is within tol of want
// in each of R, G and B.
func NearRGB(got []byte, want [3]int, tol int) bool {
	for i, w := range want {
		if d := int(got[i]) - w; d < -tol || d > tol {
			return false
		}
	}
	return true
}

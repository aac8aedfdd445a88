package plugins

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand"
	"os"
	"testing"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/trial"
)

// testDevice is the real GL context every test renders with.
var testDevice *compositor.Device

func TestMain(m *testing.M) {
	// TestTrialBeforeJoining's trials run in children of this binary.
	trial.RunChildIfRequested()
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugins tests need OpenGL 3.3 (EGL, Mesa llvmpipe will do; see README): %v\n", err)
		os.Exit(1)
	}
	testDevice = dev
	code := m.Run()
	dev.Close()
	os.Exit(code)
}

// rgbaPipeline is a pipeline that reads RGBA back, closed with the test.
func rgbaPipeline(t *testing.T, passes ...compositor.Pass) *compositor.Pipeline {
	t.Helper()
	pl, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA, Readback: compositor.ReadbackSync}, passes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	return pl
}

// process runs img through pl and returns the result.
func process(t testing.TB, pl *compositor.Pipeline, img *image.RGBA, ts int64) *image.RGBA {
	t.Helper()
	w, h := img.Rect.Dx(), img.Rect.Dy()
	fr, err := media.NewVideoFrame(img.Pix, media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h, Timestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	var out compositor.Output
	if err := pl.Process(context.Background(), fr, &out); err != nil {
		t.Fatal(err)
	}
	defer out.Frame.Close()
	res := image.NewRGBA(image.Rect(0, 0, w, h))
	if _, err := out.Frame.CopyTo(res.Pix, nil); err != nil {
		t.Fatal(err)
	}
	return res
}

// noise is a reproducible test picture: random colours, with a block of
// near-green "screen" pixels, a hard-edged bright square and smooth
// gradients, so that every filter has something to act on.
func noise(w, h int, seed int64) *image.RGBA {
	rng := rand.New(rand.NewSource(seed))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			p := img.Pix[i : i+4 : i+4]
			switch {
			case x < w/4:
				p[0], p[1], p[2] = uint8(rng.Intn(40)), uint8(200+rng.Intn(56)), uint8(rng.Intn(40))
			case x < w/2 && y < h/2:
				p[0], p[1], p[2] = uint8(x*255/w), uint8(y*255/h), 128
			case x >= 3*w/4 && y >= h/2:
				p[0], p[1], p[2] = 250, 250, 250
			default:
				p[0], p[1], p[2] = uint8(rng.Intn(256)), uint8(rng.Intn(256)), uint8(rng.Intn(256))
			}
			p[3] = 255
		}
	}
	return img
}

// compare fails when more than maxBad of the pixels differ from want by
// more than tol levels in any channel: threshold functions (smoothstep,
// a lens edge) legitimately flip a few pixels between float32 and float64.
func compare(t testing.TB, name string, got, want *image.RGBA, tol int, maxBad float64) {
	t.Helper()
	bad, worst := 0, 0
	wx, wy := -1, -1
	for i := 0; i < len(want.Pix); i += 4 {
		d := 0
		for c := 0; c < 4; c++ {
			d = max(d, abs(int(got.Pix[i+c])-int(want.Pix[i+c])))
		}
		if d > tol {
			bad++
			if d > worst {
				worst = d
				wx, wy = (i/4)%want.Rect.Dx(), (i/4)/want.Rect.Dx()
			}
		}
	}
	n := len(want.Pix) / 4
	if float64(bad) > maxBad*float64(n) {
		i := want.PixOffset(wx, wy)
		t.Fatalf("%s: %d of %d pixels differ by more than %d; worst %d at (%d,%d): got %v want %v",
			name, bad, n, tol, worst, wx, wy, got.Pix[i:i+4], want.Pix[i:i+4])
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// reference builds an expected image pixel by pixel; f gets ISF's
// normalized coordinate of the pixel centre (origin bottom left, y up)
// and returns RGBA in 0..1.
func reference(src *image.RGBA, f func(u, v float64) [4]float64) *image.RGBA {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	out := image.NewRGBA(src.Rect)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := f((float64(x)+0.5)/float64(w), 1-(float64(y)+0.5)/float64(h))
			i := out.PixOffset(x, y)
			for k := 0; k < 4; k++ {
				out.Pix[i+k] = uint8(math.Round(math.Max(0, math.Min(1, c[k])) * 255))
			}
		}
	}
	return out
}

// texel reads src at ISF pixel coordinates (y up), clamped to the edge,
// as 0..1.
func texel(src *image.RGBA, x, y int) [4]float64 {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	x = max(0, min(w-1, x))
	y = max(0, min(h-1, y))
	i := src.PixOffset(x, h-1-y)
	return [4]float64{float64(src.Pix[i]) / 255, float64(src.Pix[i+1]) / 255, float64(src.Pix[i+2]) / 255, float64(src.Pix[i+3]) / 255}
}

// bilinear samples src like GL_LINEAR with clamp-to-edge at ISF
// normalized coordinates.
func bilinear(src *image.RGBA, u, v float64) [4]float64 {
	w, h := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	fx, fy := u*w-0.5, v*h-0.5
	x0, y0 := math.Floor(fx), math.Floor(fy)
	ax, ay := fx-x0, fy-y0
	var out [4]float64
	a, b := texel(src, int(x0), int(y0)), texel(src, int(x0)+1, int(y0))
	c, d := texel(src, int(x0), int(y0)+1), texel(src, int(x0)+1, int(y0)+1)
	for k := range out {
		out[k] = (a[k]*(1-ax)+b[k]*ax)*(1-ay) + (c[k]*(1-ax)+d[k]*ax)*ay
	}
	return out
}

func smoothstep(e0, e1, x float64) float64 {
	t := math.Max(0, math.Min(1, (x-e0)/(e1-e0)))
	return t * t * (3 - 2*t)
}

func luma(c [4]float64) float64 { return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2] }

// pipelineUnderTest is a one-pass pipeline of a test.
type pipelineUnderTest struct {
	t    *testing.T
	pl   *compositor.Pipeline
	name string
}

func (p *pipelineUnderTest) process(img *image.RGBA, ts int64) *image.RGBA {
	p.t.Helper()
	return process(p.t, p.pl, img, ts)
}

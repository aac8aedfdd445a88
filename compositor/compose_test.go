package compositor

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

// visible is a layer spec as scene.Parse fills in its defaults.
func visible(r scene.Rect, fit scene.Fit) scene.Layer {
	return scene.Layer{Rect: r, Fit: fit, Opacity: 1, Visible: true, Gain: 1}
}

// composeOnce composes c on a new pipeline of cfg, closed again; the
// caller closes the output's frame.
func composeOnce(t *testing.T, cfg Config, c *Composition) Output {
	t.Helper()
	p, err := NewPipeline(testDevice, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var out Output
	if err := p.Compose(context.Background(), c, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestComposeMatchesReference: Compose (RGBA sources, RGBA readback)
// against the Go reference of the same layers over black; an invisible
// layer and one at opacity 0 draw nothing; the output has the
// composition's timestamp.
func TestComposeMatchesReference(t *testing.T) {
	const W, H = 320, 180
	wide, square := gltest.Gradient(200, 100, 255), gltest.Checker(64, 64)
	frames := []media.VideoFrame{gltest.RGBAFrame(t, wide, 0), gltest.RGBAFrame(t, square, 0)}
	defer func() {
		for _, f := range frames {
			f.Close()
		}
	}()
	turned := visible(scene.Rect{150, 40, 120, 60}, scene.FitStretch)
	turned.Rotation, turned.Opacity, turned.Crop = 20, 0.7, scene.Crop{0, 0.25, 0, 0}
	hidden := visible(scene.Rect{0, 0, W, H}, scene.FitStretch)
	hidden.Visible = false
	clear := visible(scene.Rect{0, 0, W, H}, scene.FitStretch)
	clear.Opacity = 0
	c := &Composition{Width: W, Height: H, Timestamp: 4242, Duration: 33333, Frames: frames, Layers: []Layer{
		{Frame: 0, Spec: visible(scene.Rect{0, 0, W, H}, scene.FitContain)},
		{Frame: 1, Spec: visible(scene.Rect{20, 20, 100, 100}, scene.FitCover)},
		{Frame: 0, Spec: turned},
		{Frame: 1, Spec: hidden},
		{Frame: 1, Spec: clear},
	}}
	out := composeOnce(t, Config{Output: OutputRGBA, Readback: ReadbackSync}, c)
	defer out.Frame.Close()
	if out.Frame.CodedWidth() != W || out.Frame.CodedHeight() != H || out.Frame.Timestamp() != 4242 || out.Frame.Duration() != 33333 {
		t.Fatalf("output %dx%d at %d for %d", out.Frame.CodedWidth(), out.Frame.CodedHeight(), out.Frame.Timestamp(), out.Frame.Duration())
	}
	pl, _ := out.Frame.Plane(0)
	got := make([]byte, 4*W*H)
	for y := 0; y < H; y++ {
		copy(got[4*W*y:4*W*(y+1)], pl.Data[y*pl.Stride:])
	}
	srcs := []*image.RGBA{wide, square}
	var refs []refLayer
	for _, l := range c.Layers {
		if l.Spec.Visible && l.Spec.Opacity > 0 {
			refs = append(refs, refLayer{srcs[l.Frame], l.Spec})
		}
	}
	want, edge := composeReference(W, H, [4]uint8{0, 0, 0, 255}, refs)
	checkComposed(t, W, H, got, want, edge, 3)
}

// TestComposeI420Grid: four I420 sources of one colour each in a 2x2 grid,
// read back as I420: each quadrant carries its source's Y, U and V.
func TestComposeI420Grid(t *testing.T) {
	const W, H = 256, 144
	colours := []color.RGBA{{200, 30, 30, 255}, {30, 200, 30, 255}, {30, 30, 200, 255}, {220, 220, 40, 255}}
	c := &Composition{Width: W, Height: H}
	var want [4][3]float64
	for i, col := range colours {
		img := image.NewRGBA(image.Rect(0, 0, 160, 90))
		for k := 0; k < len(img.Pix); k += 4 {
			img.Pix[k], img.Pix[k+1], img.Pix[k+2], img.Pix[k+3] = col.R, col.G, col.B, 255
		}
		f := gltest.I420Frame(t, 160, 90, img)
		defer f.Close()
		for pi := range 3 {
			pl, _ := f.Plane(pi)
			want[i][pi] = float64(pl.Data[0])
		}
		c.Frames = append(c.Frames, f)
		c.Layers = append(c.Layers, Layer{Frame: i, Spec: visible(scene.Rect{float64(i%2) * W / 2, float64(i/2) * H / 2, W / 2, H / 2}, scene.FitStretch)})
	}
	out := composeOnce(t, Config{}, c)
	defer out.Frame.Close()
	for i := range colours {
		x0, y0 := (i%2)*W/2, (i/2)*H/2
		for pi := range 3 {
			pl, _ := out.Frame.Plane(pi)
			s := 1
			if pi > 0 {
				s = 2
			}
			// The quadrant's inside, away from the edges.
			for y := (y0 + 4) / s; y < (y0+H/2-4)/s; y++ {
				for x := (x0 + 4) / s; x < (x0+W/2-4)/s; x++ {
					if d := math.Abs(float64(pl.Data[y*pl.Stride+x]) - want[i][pi]); d > 2 {
						t.Fatalf("source %d plane %d at (%d, %d): %d, want %.0f", i, pi, x, y, pl.Data[y*pl.Stride+x], want[i][pi])
					}
				}
			}
		}
	}
}

// TestComposeErrors: a bad composition is refused with ErrFrame and
// leaves the pipeline working; a closed frame is no error, its layer shows
// nothing.
func TestComposeErrors(t *testing.T) {
	img := gltest.Gradient(32, 18, 255)
	fr := gltest.RGBAFrame(t, img, 0)
	defer fr.Close()
	closed := gltest.RGBAFrame(t, img, 0)
	closed.Close()
	p, err := NewPipeline(testDevice, Config{Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l := visible(scene.Rect{0, 0, 64, 36}, scene.FitStretch)
	for name, c := range map[string]*Composition{
		"odd canvas": {Width: 63, Height: 36, Frames: []media.VideoFrame{fr}, Layers: []Layer{{Frame: 0, Spec: l}}},
		"bad index":  {Width: 64, Height: 36, Frames: []media.VideoFrame{fr}, Layers: []Layer{{Frame: 1, Spec: l}}},
	} {
		var out Output
		if err := p.Compose(context.Background(), c, &out); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v, want ErrFrame", name, err)
		}
		if out.Frame.CodedWidth() != 0 {
			t.Errorf("%s: an output frame with the error", name)
		}
	}
	var out Output
	if err := p.Compose(context.Background(), &Composition{Width: 64, Height: 36, Frames: []media.VideoFrame{fr}, Layers: []Layer{{Frame: 0, Spec: l}}}, &out); err != nil {
		t.Fatalf("after the errors: %v", err)
	}
	out.Frame.Close()
	// A closed frame is a source without one: its layer shows nothing.
	cfg := Config{Output: OutputRGBA, Readback: ReadbackSync}
	out = composeOnce(t, cfg, &Composition{Width: 64, Height: 36, Frames: []media.VideoFrame{closed}, Layers: []Layer{{Frame: 0, Spec: l}}})
	if px := gltest.PlaneBytes(t, out.Frame, 0)[:4]; px[0] != 0 || px[1] != 0 || px[2] != 0 || px[3] != 255 {
		t.Errorf("a closed frame's layer drew %v", px)
	}
	out.Frame.Close()
}

// TestComposeFreesEverything: compositions of changing sources (count,
// format, size), then Close: every GL object is gone, no frame leaked.
func TestComposeFreesEverything(t *testing.T) {
	base := testDevice.Objects()
	live := media.PoolStats().LiveVideoFrames
	p, err := NewPipeline(testDevice, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		c := &Composition{Width: 64, Height: 36}
		for k := 0; k <= i%3; k++ {
			f, _ := testFrame(t, []media.PixelFormat{media.I420, media.NV12, media.BGRA}[(i+k)%3], 32+2*i, 18, media.ColorSpace{}, int64(i))
			c.Frames = append(c.Frames, f)
			c.Layers = append(c.Layers, Layer{Frame: k, Spec: visible(scene.Rect{float64(10 * k), 0, 32, 18}, scene.FitContain)})
		}
		var out Output
		if err := p.Compose(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
		out.Frame.Close()
		for _, f := range c.Frames {
			f.Close()
		}
		if i == 0 && len(testDevice.Objects()) == len(base) {
			t.Fatal("an open pipeline shows no GL objects: the count is not tracking")
		}
	}
	p.Close()
	for k, v := range testDevice.Objects() {
		if v != base[k] {
			t.Errorf("%s objects: %d before, %d after", k, base[k], v)
		}
	}
	if n := media.PoolStats().LiveVideoFrames; n != live {
		t.Errorf("live video frames %d, want %d", n, live)
	}
}

// TestComposeUploadsOnce: a frame shown by two layers is uploaded once; the
// same frame again (or a clone, or a retimed copy: the same pixels) is not
// uploaded again; a new frame is; and the picture stays right.
func TestComposeUploadsOnce(t *testing.T) {
	a, b := gltest.Gradient(64, 36, 255), gltest.Checker(64, 36)
	fa, fb := gltest.RGBAFrame(t, a, 0), gltest.RGBAFrame(t, b, 0)
	defer fa.Close()
	defer fb.Close()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l := visible(scene.Rect{0, 0, 64, 36}, scene.FitStretch)
	small := visible(scene.Rect{0, 0, 32, 18}, scene.FitStretch)
	compose := func(f media.VideoFrame) [4]byte {
		t.Helper()
		var out Output
		c := &Composition{Width: 64, Height: 36, Frames: []media.VideoFrame{f}, Layers: []Layer{{Frame: 0, Spec: l}, {Frame: 0, Spec: small}}}
		if err := p.Compose(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
		defer out.Frame.Close()
		pl, _ := out.Frame.Plane(0)
		o := 20*pl.Stride + 4*50 // outside the small layer: the big one's pixel
		return [4]byte(pl.Data[o : o+4])
	}
	at := func(img *image.RGBA) [4]byte { o := img.PixOffset(50, 20); return [4]byte(img.Pix[o : o+4]) }
	near := func(x, y [4]byte) bool {
		for k := range 3 {
			if math.Abs(float64(x[k])-float64(y[k])) > 3 {
				return false
			}
		}
		return true
	}
	if got := compose(fa); !near(got, at(a)) {
		t.Errorf("first: %v, want %v", got, at(a))
	}
	clone, _ := fa.Clone()
	retimed, _ := fa.WithTimestamp(5000, 1000)
	for _, f := range []media.VideoFrame{fa, clone, retimed} {
		compose(f)
		f.Close()
	}
	if n := p.sources[0].uploads; n != 1 {
		t.Errorf("%d uploads of one picture shown by two layers, composed four times", n)
	}
	if got := compose(fb); !near(got, at(b)) || p.sources[0].uploads != 2 {
		t.Errorf("a new frame: %v (want %v), %d uploads", got, at(b), p.sources[0].uploads)
	}
}

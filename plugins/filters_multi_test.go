package plugins

import (
	"image"
	"image/png"
	"math"
	"testing"

	"github.com/shadercast/shadercast/shaders"
)

// referenceSize is reference for an image of any size: f gets the ISF
// normalized coordinate of each pixel centre.
func referenceSize(w, h int, f func(u, v float64) [4]float64) *image.RGBA {
	return reference(image.NewRGBA(image.Rect(0, 0, w, h)), f)
}

func builtinPipeline(t *testing.T, r *Registry, name string, inputs map[string]any) *pipelineUnderTest {
	t.Helper()
	pass, err := r.New(name)
	if err != nil {
		t.Fatal(err)
	}
	pl := rgbaPipeline(t, pass)
	for k, v := range inputs {
		if err := pl.SetUniform(name, k, v); err != nil {
			t.Fatalf("%s.%s: %v", name, k, err)
		}
	}
	return &pipelineUnderTest{t: t, pl: pl, name: name}
}

func openBuiltins(t *testing.T) *Registry {
	t.Helper()
	r, err := Open(Options{Builtins: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestBlurFilter checks the two-pass blur: a half-size target ($WIDTH/2
// expressions) of four linearly filtered reads, then four reads of it
// back at full size, blended with the frame. The reference rounds the
// target to 8 bits, as an RGBA8 target does.
func TestBlurFilter(t *testing.T) {
	r := openBuiltins(t)
	const radius, amount = 2.0, 0.75
	p := builtinPipeline(t, r, "blur", map[string]any{"radius": radius, "amount": amount})
	src := noise(96, 54, 5)
	got := p.process(src, 0)

	W, H := 96.0, 54.0
	fourTaps := func(img *image.RGBA, u, v, ou, ov float64) [4]float64 {
		var s [4]float64
		for _, d := range [][2]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
			c := bilinear(img, u+d[0]*ou, v+d[1]*ov)
			for i := range s {
				s[i] += c[i] / 4
			}
		}
		return s
	}
	small := referenceSize(48, 27, func(u, v float64) [4]float64 { return fourTaps(src, u, v, radius/W, radius/H) })
	want := reference(src, func(u, v float64) [4]float64 {
		c, b := texelAt(src, u, v), fourTaps(small, u, v, radius/W, radius/H)
		var o [4]float64
		for i := range o {
			o[i] = c[i] + (b[i]-c[i])*amount
		}
		return o
	})
	compare(t, "blur", got, want, 2, 0.002)
	// The blur must actually blur: noise loses most of its contrast.
	if d := meanAbsDiff(got, src); d < 10 {
		t.Errorf("blurred noise differs from the input by only %.1f levels on average", d)
	}
}

func meanAbsDiff(a, b *image.RGBA) float64 {
	s := 0
	for i := range a.Pix {
		s += abs(int(a.Pix[i]) - int(b.Pix[i]))
	}
	return float64(s) / float64(len(a.Pix))
}

// TestTrailsFilter checks the persistent float buffer across frames and the
// clear event as a one-frame pulse.
func TestTrailsFilter(t *testing.T) {
	r := openBuiltins(t)
	const decay = 0.8
	p := builtinPipeline(t, r, "trails", map[string]any{"decay": decay})
	a, b, c := noise(64, 36, 1), noise(64, 36, 2), noise(64, 36, 3)
	// Frame 1: the buffer starts empty, so the output is the frame.
	compare(t, "trails frame 1", p.process(a, 0), a, 1, 0)
	// Frame 2: max(frame, previous*decay), kept in float.
	want2 := reference(b, func(u, v float64) [4]float64 {
		x, y := texelAt(b, u, v), texelAt(a, u, v)
		return [4]float64{math.Max(x[0], y[0]*decay), math.Max(x[1], y[1]*decay), math.Max(x[2], y[2]*decay), x[3]}
	})
	compare(t, "trails frame 2", p.process(b, 33333), want2, 1, 0)
	// Frame 3 builds on frame 2's float buffer (not its 8-bit output).
	want3 := reference(c, func(u, v float64) [4]float64 {
		x, y, z := texelAt(c, u, v), texelAt(b, u, v), texelAt(a, u, v)
		var o [4]float64
		for i := 0; i < 3; i++ {
			o[i] = math.Max(x[i], math.Max(y[i], z[i]*decay)*decay)
		}
		o[3] = x[3]
		return o
	})
	compare(t, "trails frame 3", p.process(c, 66666), want3, 1, 0)
	// clear: this frame starts from an empty buffer; the next one
	// trails again (the event was a pulse).
	if err := p.pl.SetUniform("trails", "clear", true); err != nil {
		t.Fatal(err)
	}
	compare(t, "trails after clear", p.process(b, 99999), b, 1, 0)
	compare(t, "trails the frame after", p.process(a, 133332), reference(a, func(u, v float64) [4]float64 {
		x, y := texelAt(a, u, v), texelAt(b, u, v)
		return [4]float64{math.Max(x[0], y[0]*decay), math.Max(x[1], y[1]*decay), math.Max(x[2], y[2]*decay), x[3]}
	}), 1, 0)
}

// TestOverlayFilter checks the IMPORTED logo, decoded here independently
// from the embedded PNG, placed 1:1 on the frame's pixel grid.
func TestOverlayFilter(t *testing.T) {
	f, err := shaders.Filters().Open("overlay-logo.png")
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	logo := image.NewRGBA(decoded.Bounds()) // straight (non-premultiplied) bytes, read by texel/bilinear
	nrgba := decoded.(*image.NRGBA)
	copy(logo.Pix, nrgba.Pix)
	lw, lh := logo.Rect.Dx(), logo.Rect.Dy()

	const W, H = 160, 90
	const opacity = 0.7
	size := float64(lh) / H // logo drawn at its own pixel size
	r := openBuiltins(t)
	p := builtinPipeline(t, r, "overlay", map[string]any{"position": []float64{0.5, 0.5}, "size": size, "opacity": opacity})
	src := noise(W, H, 9)
	got := p.process(src, 0)
	x0, y0 := float64(W-lw)/2, float64(H-lh)/2 // bottom-left corner, y up
	want := reference(src, func(u, v float64) [4]float64 {
		c := texelAt(src, u, v)
		lu, lv := (u*W-x0)/float64(lw), (v*H-y0)/float64(lh)
		if lu < 0 || lv < 0 || lu >= 1 || lv >= 1 {
			return c
		}
		l := bilinear(logo, lu, lv)
		a := l[3] * opacity
		return [4]float64{c[0] + (l[0]-c[0])*a, c[1] + (l[1]-c[1])*a, c[2] + (l[2]-c[2])*a, c[3]}
	})
	compare(t, "overlay", got, want, 2, 0.001)
	// Orientation, independently of the reference's coordinate maths:
	// the logo's first white bar rises from its bottom (logo rows 22-35
	// of 48, x 50-57); the logo's top-left pixel lands on frame (32, 21).
	if px := got.RGBAAt(32+54, 21+34); px.B < 170 {
		t.Errorf("no white bar at the bottom of the logo: %v", px)
	}
	if px := got.RGBAAt(32+54, 21+14); px.B > 110 {
		t.Errorf("white above the logo's first bar (upside down?): %v", px)
	}
}

// TestFlashEventIsAPulse: the flash shows on the one frame after the event.
func TestFlashEventIsAPulse(t *testing.T) {
	r := openBuiltins(t)
	p := builtinPipeline(t, r, "flash", map[string]any{"flashColor": []float64{1, 1, 1, 1}})
	src := noise(32, 18, 4)
	compare(t, "before the event", p.process(src, 0), src, 0, 0)
	if err := p.pl.SetUniform("flash", "flash", true); err != nil {
		t.Fatal(err)
	}
	white := reference(src, func(u, v float64) [4]float64 { return [4]float64{1, 1, 1, 1} })
	compare(t, "event frame", p.process(src, 1), white, 0, 0)
	compare(t, "the frame after", p.process(src, 2), src, 0, 0)
}

package testsrc

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"testing"

	"github.com/shadercast/shadercast/barcode"
)

var pngOut = flag.String("testsrc.png", "", "write frame 45 at 1280x720 to this PNG file (for looking at)")

func newPattern(t testing.TB, w, h int, fps float64) *Pattern {
	t.Helper()
	p, err := New(w, h, fps)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func render(p *Pattern, i int) *image.RGBA {
	w, h := p.Size()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	p.Render(i, img)
	return img
}

func TestNewRejects(t *testing.T) {
	for _, c := range []struct {
		w, h int
		fps  float64
	}{
		{0, 720, 30}, {1280, -1, 30}, {1280, 720, 0}, {1280, 720, math.NaN()}, {1280, 720, math.Inf(1)},
		{160, 90, 30}, // too small for the scene
	} {
		if _, err := New(c.w, c.h, c.fps); err == nil {
			t.Errorf("New(%d, %d, %v) succeeded", c.w, c.h, c.fps)
		}
	}
}

func TestSizes(t *testing.T) {
	for _, s := range [][2]int{{320, 180}, {352, 288}, {640, 360}, {640, 480}, {1280, 720}, {1920, 1080}, {3840, 2160}, {720, 1280}} {
		p := newPattern(t, s[0], s[1], 30)
		render(p, 17) // must not panic or write out of bounds
	}
}

func TestDeterministic(t *testing.T) {
	p := newPattern(t, 1280, 720, 30)
	q := newPattern(t, 1280, 720, 30)
	for _, i := range []int{0, 1, 29, 30, 451, 7200} {
		a := render(p, i)
		// Dirty destination, other frames in between and a second Pattern:
		// none of it may leak into the result.
		b := image.NewRGBA(a.Rect)
		for k := range b.Pix {
			b.Pix[k] = byte(k)
		}
		q.Render(i+13, b)
		q.Render(i, b)
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Fatalf("frame %d renders differently the second time", i)
		}
	}
}

func TestFramesDiffer(t *testing.T) {
	p := newPattern(t, 1280, 720, 30)
	prev := render(p, 0)
	for i := 1; i < 40; i++ {
		cur := render(p, i)
		if bytes.Equal(prev.Pix, cur.Pix) {
			t.Fatalf("frames %d and %d are identical", i-1, i)
		}
		prev = cur
	}
}

func TestSubImage(t *testing.T) {
	p := newPattern(t, 640, 360, 25)
	want := render(p, 99)
	big := image.NewRGBA(image.Rect(0, 0, 700, 400))
	sub := big.SubImage(image.Rect(30, 20, 670, 380)).(*image.RGBA)
	p.Render(99, sub)
	for y := 0; y < 360; y++ {
		for x := 0; x < 640; x++ {
			if sub.RGBAAt(30+x, 20+y) != want.RGBAAt(x, y) {
				t.Fatalf("sub-image differs at %d,%d", x, y)
			}
		}
	}
	if big.RGBAAt(0, 0).A != 0 || big.RGBAAt(699, 399).A != 0 {
		t.Fatal("Render wrote outside the sub-image")
	}
}

func TestClockAndFlash(t *testing.T) {
	p := newPattern(t, 1280, 720, 30)
	for _, c := range []struct {
		i             int
		clock, frames string
	}{
		{0, "00:00:00.000", "FRAME 0000000"},
		{3, "00:00:00.100", "FRAME 0000003"},
		{30*3661 + 15, "01:01:01.500", "FRAME 0109845"},
	} {
		if got := string(p.clockText(c.i)); got != c.clock {
			t.Errorf("clock of frame %d = %q, want %q", c.i, got, c.clock)
		}
		if got := string(p.counterText(c.i)); got != c.frames {
			t.Errorf("counter of frame %d = %q, want %q", c.i, got, c.frames)
		}
	}

	// Exactly one lit frame per second, at non-integer rates too, and the
	// pixels agree with Flash.
	for _, fps := range []float64{30, 29.97, 25, 60} {
		p := newPattern(t, 640, 360, fps)
		lit := 0
		n := int(10 * fps)
		for i := 0; i < n; i++ {
			if p.Flash(i) {
				lit++
			}
		}
		if lit != 10 {
			t.Errorf("%v fps: %d lit frames in 10 s, want 10", fps, lit)
		}
		r := p.FlashRect()
		centre := image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
		for _, i := range []int{0, 1, int(math.Ceil(fps)), int(math.Ceil(fps)) + 1} {
			v := render(p, i).RGBAAt(centre.X, centre.Y).G
			if on := v > 200; on != p.Flash(i) {
				t.Errorf("%v fps frame %d: sync square value %d, Flash %v", fps, i, v, p.Flash(i))
			}
		}
	}
}

func TestBarcodesMove(t *testing.T) {
	p := newPattern(t, 1280, 720, 30)
	a, b := p.Barcodes(0), p.Barcodes(90)
	if len(a) != 3 {
		t.Fatalf("%d barcodes, want 3", len(a))
	}
	want := map[string]string{"ean_13": EAN13Value, "code_128": Code128Value, "qr_code": QRValue}
	for k := range a {
		if want[a[k].Format] != a[k].Value {
			t.Errorf("unexpected code %s %q", a[k].Format, a[k].Value)
		}
		if a[k].Corners == b[k].Corners {
			t.Errorf("%s did not move between frames 0 and 90", a[k].Format)
		}
	}
	// The QR code turns: its top edge direction changes with time.
	q0, q1 := a[2].Corners, b[2].Corners
	ang := func(c [4]barcode.Point) float64 { return math.Atan2(c[1].Y-c[0].Y, c[1].X-c[0].X) }
	if d := ang(q1) - ang(q0); math.Abs(d-2*math.Pi*3/qrTurnSeconds) > 1e-9 {
		t.Errorf("QR turned %v rad in 3 s, want %v", d, 2*math.Pi*3/qrTurnSeconds)
	}
}

// TestModuleSize checks the size promise made for downscaled analysis: at
// 720p the EAN-13 modules are at least 3 pixels wide.
func TestModuleSize(t *testing.T) {
	p := newPattern(t, 1280, 720, 30)
	for _, pl := range p.Barcodes(0) {
		width := math.Hypot(pl.Corners[1].X-pl.Corners[0].X, pl.Corners[1].Y-pl.Corners[0].Y)
		modules := map[string]float64{"ean_13": 95, "code_128": 189, "qr_code": 25}[pl.Format]
		if m := width / modules; m < 3 {
			t.Errorf("%s: %.2f px per module, want ≥ 3", pl.Format, m)
		}
	}
}

// TestPlacedCornersMatchPixels checks the ground truth against the pixels:
// just inside each reported corner is a dark module (all three symbologies
// start and end with dark modules at their corners), just outside is quiet
// zone.
func TestPlacedCornersMatchPixels(t *testing.T) {
	p := newPattern(t, 1280, 720, 30)
	for _, i := range []int{0, 77, 200, 333, 719} {
		img := render(p, i)
		for _, pl := range p.Barcodes(i) {
			c := pl.Corners
			cx := (c[0].X + c[1].X + c[2].X + c[3].X) / 4
			cy := (c[0].Y + c[1].Y + c[2].Y + c[3].Y) / 4
			for k, q := range c {
				// Unit vector from the corner toward the centre.
				dx, dy := cx-q.X, cy-q.Y
				n := math.Hypot(dx, dy)
				dx, dy = dx/n, dy/n
				in := img.RGBAAt(int(math.Floor(q.X+2*dx)), int(math.Floor(q.Y+2*dy))).G
				out := img.RGBAAt(int(math.Floor(q.X-3*dx)), int(math.Floor(q.Y-3*dy))).G
				if in > 100 || out < 200 {
					t.Errorf("frame %d %s corner %d (%.1f,%.1f): inside %d, outside %d", i, pl.Format, k, q.X, q.Y, in, out)
				}
			}
		}
	}
}

func TestRenderDoesNotAllocate(t *testing.T) {
	p := newPattern(t, 1280, 720, 30)
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	i := 0
	if n := testing.AllocsPerRun(20, func() { p.Render(i, img); i += 7 }); n != 0 {
		t.Fatalf("Render allocates %v times per frame", n)
	}
}

// TestWritePNG writes a frame for a person to look at: go test
// ./source/testsrc -run WritePNG -testsrc.png /tmp/testsrc.png
func TestWritePNG(t *testing.T) {
	if *pngOut == "" {
		t.Skip("no -testsrc.png given")
	}
	f, err := os.Create(*pngOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, render(newPattern(t, 1280, 720, 30), 45)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkRender720p(b *testing.B) {
	p := newPattern(b, 1280, 720, 30)
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Render(i, img)
	}
}

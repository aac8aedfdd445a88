package barcode

import (
	"image"
	"math"
	"testing"
)

// testFrame returns a w×h frame with a smooth gradient and mild noise (a
// deterministic stand-in for camera content without barcodes).
func testFrame(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(12345)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			n := int(seed>>24)%9 - 4
			v := 90 + 80*x/w + 40*y/h + n
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(v), byte(v+10), byte(v-10), 255
		}
	}
	return img
}

// paste draws code centred at (cx, cy), rotated by deg degrees, with a white
// quiet zone of pad pixels, bilinear so that edges are anti-aliased like in
// a camera image. invert draws it light on dark.
func paste(dst *image.RGBA, code *image.Gray, cx, cy, deg float64, pad int, invert bool) {
	cw, ch := float64(code.Rect.Dx()), float64(code.Rect.Dy())
	c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
	r := math.Hypot(cw, ch)/2 + float64(pad) + 2
	b := dst.Bounds()
	for y := max(int(cy-r), 0); y < min(int(cy+r), b.Dy()); y++ {
		for x := max(int(cx-r), 0); x < min(int(cx+r), b.Dx()); x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			u := dx*c + dy*s + cw/2 - 0.5
			v := -dx*s + dy*c + ch/2 - 0.5
			if u < -float64(pad) || v < -float64(pad) || u > cw-1+float64(pad) || v > ch-1+float64(pad) {
				continue
			}
			val := 255.0
			if u >= 0 && v >= 0 && u <= cw-1 && v <= ch-1 {
				val = float64(bilinear(Gray{Pix: code.Pix, Stride: code.Stride, Width: code.Rect.Dx(), Height: code.Rect.Dy()}, u, v))
			}
			if invert {
				val = 255 - val
			}
			val = 30 + val*0.8 // not pure black and white
			i := dst.PixOffset(x, y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = byte(val), byte(val), byte(val)
		}
	}
}

type placed struct {
	format, text string
	w, h         int
	x, y, deg    float64
	invert       bool
}

func render(t testing.TB, w, h int, codes []placed) (*image.RGBA, Gray) {
	img := testFrame(w, h)
	for _, p := range codes {
		code, err := Encode(p.format, p.text, p.w, p.h)
		if err != nil {
			t.Fatal(err)
		}
		paste(img, code, p.x, p.y, p.deg, 12, p.invert)
	}
	var luma Gray
	LumaFromRGBA(img, &luma)
	return img, luma
}

func TestDetectSynthetic(t *testing.T) {
	codes := []placed{
		{"ean_13", "5901234123457", 190, 90, 180, 140, 0, false},
		{"code_128", "shadercast-128", 240, 70, 520, 150, 30, false},
		{"qr_code", "https://example.com/q", 150, 150, 860, 170, 45, false},
		{"data_matrix", "DM-0042", 110, 110, 1110, 160, -12, false},
		{"upc_a", "036000291452", 200, 100, 200, 480, 0, true},
		{"pdf417", "PDF417 synthetic", 260, 90, 560, 500, 5, false},
		{"itf", "12345678", 200, 80, 950, 520, 90, false},
	}
	img, luma := render(t, 1280, 720, codes)
	p := DefaultParams()
	p.DisableCache = true
	var m Mask
	ReferenceMask(img, p, &m)
	if m.Scale != 2 || m.Width != 640 || m.Height != 360 {
		t.Fatalf("mask %dx%d s=%d", m.Width, m.Height, m.Scale)
	}
	d := NewDetector(p)
	defer d.Close()
	got := d.Detect(&m, luma)
	for _, c := range codes {
		found := false
		for _, g := range got {
			b := g.BoundingBox
			if g.Format == c.format && g.RawValue == c.text &&
				c.x >= b.X && c.x <= b.X+b.Width && c.y >= b.Y && c.y <= b.Y+b.Height {
				found = true
				if len(g.CornerPoints) != 4 {
					t.Errorf("%s: %d corners", c.format, len(g.CornerPoints))
				}
			}
		}
		if !found {
			t.Errorf("%s %q at (%.0f,%.0f) %.0f° not detected", c.format, c.text, c.x, c.y, c.deg)
		}
	}
	for _, g := range got {
		t.Logf("%-12s %-22q box %.0f,%.0f %.0fx%.0f", g.Format, g.RawValue, g.BoundingBox.X, g.BoundingBox.Y, g.BoundingBox.Width, g.BoundingBox.Height)
	}
	if len(got) != len(codes) {
		t.Errorf("%d detections for %d codes", len(got), len(codes))
	}
}

func TestDetectNothing(t *testing.T) {
	img := testFrame(1280, 720)
	var luma Gray
	LumaFromRGBA(img, &luma)
	p := DefaultParams()
	var m Mask
	ReferenceMask(img, p, &m)
	d := NewDetector(p)
	if got := d.Detect(&m, luma); len(got) != 0 {
		t.Fatalf("detections on an empty frame: %+v", got)
	}
}

// TestIdenticalCodes: two identical symbols side by side, which makes
// zxing-cpp 1.4's multi-symbol read abort the process; both must be found.
func TestIdenticalCodes(t *testing.T) {
	codes := []placed{
		{"ean_13", "5901234123457", 190, 90, 300, 200, 0, false},
		{"ean_13", "5901234123457", 190, 90, 540, 200, 0, false},
		{"ean_13", "5901234123457", 190, 90, 300, 420, 0, false},
	}
	img, luma := render(t, 800, 600, codes)
	p := DefaultParams()
	p.DisableCache = true
	p.MergeGap = 2 // merge them into one region on purpose
	var m Mask
	ReferenceMask(img, p, &m)
	d := NewDetector(p)
	got := d.Detect(&m, luma)
	if len(got) < 2 {
		t.Fatalf("got %d detections, want 3: %+v", len(got), got)
	}
	t.Logf("%d of 3 identical codes found", len(got))
}

// TestCache checks that a code that stays put is decoded once, then only
// verified (re-read in place) every VerifyEvery calls, and that its value is
// kept in between.
func TestCache(t *testing.T) {
	img, luma := render(t, 640, 480, []placed{{"qr_code", "cache me", 140, 140, 320, 240, 0, false}})
	p := DefaultParams()
	var m Mask
	ReferenceMask(img, p, &m)
	d := NewDetector(p)
	calls := 3 * p.VerifyEvery
	for i := 0; i < calls; i++ {
		got := d.Detect(&m, luma)
		if len(got) != 1 || got[0].RawValue != "cache me" {
			t.Fatalf("call %d: %+v", i, got)
		}
	}
	if d.decodes != 1 || d.verifies != 2 {
		t.Fatalf("%d region decodes and %d verifications in %d calls, want 1 and 2", d.decodes, d.verifies, calls)
	}
	// Disabled: every call decodes.
	p.DisableCache = true
	d = NewDetector(p)
	for i := 0; i < 5; i++ {
		d.Detect(&m, luma)
	}
	if d.decodes != 5 {
		t.Fatalf("cache disabled: %d decodes in 5 calls", d.decodes)
	}
}

func TestDetectAllocs(t *testing.T) {
	p := DefaultParams()
	var m Mask
	empty := testFrame(1280, 720)
	var luma Gray
	LumaFromRGBA(empty, &luma)
	ReferenceMask(empty, p, &m)
	d := NewDetector(p)
	d.Detect(&m, luma)
	if a := testing.AllocsPerRun(20, func() { d.Detect(&m, luma) }); a != 0 {
		t.Errorf("empty frame: %.1f allocs per Detect", a)
	}
	img, luma2 := render(t, 1280, 720, []placed{{"ean_13", "5901234123457", 190, 90, 640, 360, 0, false}})
	var m2 Mask
	ReferenceMask(img, p, &m2)
	d.Detect(&m2, luma2)
	// Served from the cache between verifications, re-verified without
	// allocating a new string.
	if a := testing.AllocsPerRun(2*p.VerifyEvery, func() { d.Detect(&m2, luma2) }); a != 0 {
		t.Errorf("cached code: %.1f allocs per Detect", a)
	}
}

func BenchmarkDetectEmpty(b *testing.B) {
	p := DefaultParams()
	img := testFrame(1280, 720)
	var luma Gray
	LumaFromRGBA(img, &luma)
	var m Mask
	ReferenceMask(img, p, &m)
	d := NewDetector(p)
	d.Detect(&m, luma)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d.Detect(&m, luma)
	}
}

func benchOne(b *testing.B, cache bool) {
	p := DefaultParams()
	p.DisableCache = !cache
	img, luma := render(b, 1280, 720, []placed{{"ean_13", "5901234123457", 300, 120, 640, 360, 8, false}})
	var m Mask
	ReferenceMask(img, p, &m)
	d := NewDetector(p)
	if got := d.Detect(&m, luma); len(got) != 1 {
		b.Fatalf("setup: %+v", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d.Detect(&m, luma)
	}
}

// BenchmarkDetectOne: one EAN-13 in view, video settings (cache on).
func BenchmarkDetectOne(b *testing.B) { benchOne(b, true) }

// BenchmarkDetectOneUncached: the same, decoding every call.
func BenchmarkDetectOneUncached(b *testing.B) { benchOne(b, false) }

func BenchmarkReferenceMask(b *testing.B) {
	p := DefaultParams()
	img := testFrame(1280, 720)
	var m Mask
	b.ReportAllocs()
	for b.Loop() {
		ReferenceMask(img, p, &m)
	}
}

type countingLuma struct {
	g     Gray
	calls int
}

func (c *countingLuma) Luma() Gray { c.calls++; return c.g }

// TestLazyLuma: luma is fetched only for frames that decode something.
func TestLazyLuma(t *testing.T) {
	p := DefaultParams()
	empty := testFrame(640, 360)
	var m Mask
	ReferenceMask(empty, p, &m)
	src := &countingLuma{}
	LumaFromRGBA(empty, &src.g)
	d := NewDetector(p)
	for i := 0; i < 10; i++ {
		d.DetectFrom(&m, src)
	}
	if src.calls != 0 {
		t.Fatalf("empty frames fetched luma %d times", src.calls)
	}
	img, luma := render(t, 640, 360, []placed{{"qr_code", "lazy", 120, 120, 320, 180, 0, false}})
	ReferenceMask(img, p, &m)
	src.g = luma
	for i := 0; i < p.VerifyEvery; i++ {
		if got := d.DetectFrom(&m, src); len(got) != 1 || got[0].RawValue != "lazy" {
			t.Fatalf("call %d: %+v", i, got)
		}
	}
	// Once for the code, then only when an undecoded region is retried.
	if limit := 1 + p.VerifyEvery/p.RetryEvery; src.calls > limit {
		t.Fatalf("cached code fetched luma %d times in %d calls, want ≤ %d", src.calls, p.VerifyEvery, limit)
	}
}

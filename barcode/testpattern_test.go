package barcode_test

import (
	"image"
	"math"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/internal/barcodetest"
	"github.com/shadercast/shadercast/source/testsrc"
)

// testPattern720p renders frame 0 of the built-in test pattern at 1280x720
// (what the compositor's barcode benchmark feeds the pass) and returns its
// mask and luma.
func testPattern720p(tb testing.TB, p barcode.Params) (*barcode.Mask, barcode.Gray, *testsrc.Pattern) {
	tb.Helper()
	pat, err := testsrc.New(1280, 720, 30)
	if err != nil {
		tb.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	pat.Render(0, img)
	var m barcode.Mask
	barcode.ReferenceMask(img, p, &m)
	var luma barcode.Gray
	barcode.LumaFromRGBA(img, &luma)
	return &m, luma, pat
}

// BenchmarkDetectTestPattern720p is the compositor's steady state on a
// static scene: the same frame every call, cache on.
func BenchmarkDetectTestPattern720p(b *testing.B) {
	p := barcode.DefaultParams()
	m, luma, pat := testPattern720p(b, p)
	d := barcode.NewDetector(p)
	got := d.Detect(m, luma)
	if want := len(pat.Barcodes(0)); len(got) != want {
		b.Fatalf("setup: %d detections, want %d: %+v", len(got), want, got)
	}
	// Past the decodes of the new regions and the ramp of the retries'
	// back-off (MaxRetryEvery), into the steady state.
	for range 300 {
		d.Detect(m, luma)
	}
	b.ReportAllocs()
	b.ResetTimer()
	decodes, verifies := d.Decodes(), d.Verifies()
	n := 0
	for b.Loop() {
		d.Detect(m, luma)
		n++
	}
	b.ReportMetric(float64(d.Decodes()-decodes)/float64(n), "decodes/op")
	b.ReportMetric(float64(d.Verifies()-verifies)/float64(n), "rereads/op")
}

// BenchmarkLocateTestPattern720p is the labeling stage alone.
func BenchmarkLocateTestPattern720p(b *testing.B) {
	p := barcode.DefaultParams()
	m, _, _ := testPattern720p(b, p)
	d := barcode.NewDetector(p)
	b.ReportAllocs()
	for b.Loop() {
		d.Locate(m)
	}
}

// TestTestPatternVideo plays the test pattern with the cache on, as the
// compositor does: every code must be reported with its value, where it
// is, in every frame from the second on, through the cache's serving,
// verifying and re-decoding as the codes move (and the QR code turns).
func TestTestPatternVideo(t *testing.T) {
	p := barcode.DefaultParams()
	frames := 3*p.VerifyEvery + 5
	if testing.Short() {
		frames = p.VerifyEvery + 5
	}
	d := playPattern(t, p, 0, frames, func(i int, pat *testsrc.Pattern, got []barcode.DetectedBarcode, _ int) {
		for _, want := range pat.Barcodes(i) {
			// The first call decodes MaxDecodesPerCall of the new
			// regions (largest first; the captions are regions
			// too), the second the rest.
			if i > 0 && !found(want, got) {
				t.Errorf("frame %d: %s %q not reported where it is: %+v", i, want.Format, want.Value, got)
			}
		}
		for _, g := range got {
			if g.Format == "unknown" {
				continue
			}
			ours := false
			for _, want := range pat.Barcodes(i) {
				ours = ours || g.Format == want.Format && g.RawValue == want.Value
			}
			if !ours {
				t.Errorf("frame %d: spurious %s %q", i, g.Format, g.RawValue)
			}
		}
	})
	t.Logf("%d frames, %d region decodes", frames, d.Decodes())
}

// found says whether want is among got, with its value and localized by
// the criterion of the photo set.
func found(want testsrc.Placed, got []barcode.DetectedBarcode) bool {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range want.Corners {
		x0, y0, x1, y1 = min(x0, c.X), min(y0, c.Y), max(x1, c.X), max(y1, c.Y)
	}
	tb := barcodetest.Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
	for _, g := range got {
		b := g.BoundingBox
		if g.Format == want.Format && g.RawValue == want.Value &&
			barcodetest.Localized(barcodetest.Box{X: b.X, Y: b.Y, W: b.Width, H: b.Height}, tb) {
			return true
		}
	}
	return false
}

// TestTestPatternSteady: on a static scene the cache settles into at most
// one zxing job per call (a symbol re-read or a region retried), few on
// average, and no allocation.
func TestTestPatternSteady(t *testing.T) {
	p := barcode.DefaultParams()
	m, luma, pat := testPattern720p(t, p)
	d := barcode.NewDetector(p)
	want := len(pat.Barcodes(0))
	const warm, calls = 200, 300
	jobs := 0
	for i := range warm + calls {
		before := d.Decodes() + d.Verifies()
		got := d.Detect(m, luma)
		n := d.Decodes() + d.Verifies() - before
		if i >= warm {
			jobs += n
		}
		// The first calls decode the new regions (the scene's captions
		// too), MaxDecodesPerCall at a time, largest first.
		if i <= p.MaxRegions/p.MaxDecodesPerCall {
			continue
		}
		if len(got) != want {
			t.Fatalf("call %d: %d detections, want %d: %+v", i, len(got), want, got)
		}
		if n > 1 {
			t.Errorf("call %d: %d zxing jobs", i, n)
		}
	}
	t.Logf("%.2f zxing jobs per call in steady state", float64(jobs)/calls)
	if jobs > calls/2 {
		t.Errorf("%d zxing jobs in %d calls", jobs, calls)
	}
	if a := testing.AllocsPerRun(100, func() { d.Detect(m, luma) }); a != 0 {
		t.Errorf("%.2f allocations per call", a)
	}
}

// TestTestPatternRecut plays the test pattern at the software renderer's
// analysis size, where the labeling joins the codes' cards through the
// captions between them in some frames and not in others (frames 49 and
// 62): such a union holds no code that is not already followed, and must
// cost no decode of its large crop (tens of zxing calls). Every code stays
// reported where it is in every frame.
func TestTestPatternRecut(t *testing.T) {
	p := barcode.DefaultParams()
	p.MaxAnalysisSide = 427
	playPattern(t, p, 30, 70, func(i int, pat *testsrc.Pattern, got []barcode.DetectedBarcode, calls int) {
		if i < 40 {
			return // the first decodes, and the captions' first retries
		}
		for _, want := range pat.Barcodes(i) {
			if !found(want, got) {
				t.Errorf("frame %d: %s %q not reported where it is: %+v", i, want.Format, want.Value, got)
			}
		}
		// A caption retried costs a few calls; a union of the codes
		// decoded as new, 30 and more.
		if calls > 8 {
			t.Errorf("frame %d: %d zxing calls", i, calls)
		}
	})
}

// playPattern plays frames [from, to) of the 720p test pattern through one
// Detector with params p (the reference stages for the mask, as the
// compositor's would give), and calls each with what every frame reported
// and the zxing calls it took. It returns the Detector.
func playPattern(t *testing.T, p barcode.Params, from, to int, each func(i int, pat *testsrc.Pattern, got []barcode.DetectedBarcode, calls int)) *barcode.Detector {
	t.Helper()
	pat, err := testsrc.New(1280, 720, 30)
	if err != nil {
		t.Fatal(err)
	}
	d := barcode.NewDetector(p)
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	var m barcode.Mask
	var luma barcode.Gray
	for i := from; i < to; i++ {
		pat.Render(i, img)
		barcode.ReferenceMask(img, p, &m)
		barcode.LumaFromRGBA(img, &luma)
		calls := d.ZXingCalls()
		got := d.Detect(&m, luma)
		each(i, pat, got, d.ZXingCalls()-calls)
	}
	return d
}

// TestSharedTrackIDs: two detectors given one TrackIDs (a service's
// layers, each with its barcode pass) never give two codes one id, and
// each keeps its codes' ids from call to call.
func TestSharedTrackIDs(t *testing.T) {
	p := barcode.DefaultParams()
	p.TrackIDs = &barcode.TrackIDs{}
	m, luma, _ := testPattern720p(t, p)
	a, b := barcode.NewDetector(p), barcode.NewDetector(p)
	ids := func(d *barcode.Detector) map[int64]bool {
		set := map[int64]bool{}
		for _, det := range d.Detect(m, luma) {
			set[det.TrackID] = true
		}
		return set
	}
	var firstA map[int64]bool
	for i := range 6 {
		ia, ib := ids(a), ids(b)
		if len(ia) == 0 || len(ib) == 0 {
			t.Fatalf("call %d: %d and %d tracked codes", i, len(ia), len(ib))
		}
		for id := range ia {
			if ib[id] {
				t.Fatalf("call %d: both detectors gave id %d", i, id)
			}
		}
		if i == 0 {
			firstA = ia
		}
	}
	for id := range firstA {
		if !ids(a)[id] {
			t.Errorf("id %d of the first call is gone in a steady scene", id)
		}
	}
}

package barcodepass

import (
	"context"
	"math"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
	"github.com/shadercast/shadercast/internal/codetest"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

// TestLayerChainBarcode: the barcode pass in a layer's chain finds the code
// in the source's own pixels (RGBA, and I420 read from its planes: the
// chain of an analysis alone makes no RGBA copy), reports it in them with
// the layer's placement (which maps its corners onto the canvas), and
// highlights it where the layer shows it; the output chain reports nothing.
// With a crop through the code, the highlight stays inside the layer.
func TestLayerChainBarcode(t *testing.T) {
	const SW, SH = 640, 400
	ox, oy := 300, 120
	img := codetest.QROnGrey(t, "layer one", 200, SW, SH, ox, oy, 200)
	const W, H = 1280, 720
	greenAt := func(got []byte, x, y int) bool {
		o := 4 * (y*W + x)
		return got[o+1] > got[o]+20 && got[o+1] > got[o+2]+20
	}
	for _, format := range []media.PixelFormat{media.RGBA, media.I420} {
		t.Run(format.String(), func(t *testing.T) {
			p, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			chain, err := p.NewLayerChain("cam", New(barcode.DefaultParams()))
			if err != nil {
				t.Fatal(err)
			}
			frame := func(ts int64) media.VideoFrame {
				if format == media.I420 {
					return gltest.I420Frame(t, SW, SH, img)
				}
				return gltest.RGBAFrame(t, img, ts)
			}
			// The source at 3/4 size, at (200, 100), turned 10°.
			spec := compositortest.Visible(scene.Rect{200, 100, 480, 300}, scene.FitStretch)
			spec.Rotation = 10
			var out compositor.Output
			compose := func(i int, spec scene.Layer) []byte {
				fr := frame(int64(1000 + i))
				defer fr.Close()
				c := &compositor.Composition{Width: W, Height: H, Timestamp: int64(1000 + i), Frames: []media.VideoFrame{fr},
					Layers: []compositor.Layer{{Frame: 0, Spec: compositortest.Visible(scene.Rect{0, 0, 100, 100}, scene.FitStretch)}, {Frame: 0, Spec: spec, Chain: chain}}}
				if err := p.Compose(context.Background(), c, &out); err != nil {
					t.Fatal(err)
				}
				defer out.Frame.Close()
				return gltest.PlaneBytes(t, out.Frame, 0)
			}
			var got []byte
			for i := 0; i < 3; i++ {
				got = compose(i, spec)
				if len(out.Results) != 0 {
					t.Errorf("frame %d: the output chain reports %v", i, out.Results)
				}
				if len(out.Layers) != 1 || out.Layers[0].Layer != 1 || out.Layers[0].Width != SW || out.Layers[0].Height != SH {
					t.Fatalf("frame %d: layer results %+v", i, out.Layers)
				}
				ds := Barcodes(out.Layers[0].Results)
				if len(ds) != 1 || ds[0].Format != "qr_code" || ds[0].RawValue != "layer one" {
					t.Fatalf("frame %d: detections %+v", i, ds)
				}
				// In source pixels, within the quiet zone's margin of
				// where the code was put.
				bb := ds[0].BoundingBox
				if bb.X < float64(ox)-2 || bb.Y < float64(oy)-2 || bb.X+bb.Width > float64(ox+200)+2 || bb.Y+bb.Height > float64(oy+200)+2 || bb.Width < 120 {
					t.Errorf("frame %d: box %+v in source pixels, want within (%d,%d)+200", i, bb, ox, oy)
				}
			}
			// Where the layer shows the code's centre, the canvas is
			// tinted green.
			pl := out.Layers[0].Placement
			var cx, cy float64
			for _, c := range Barcodes(out.Layers[0].Results)[0].CornerPoints {
				x, y := pl.ToCanvas(c.X, c.Y)
				cx, cy = cx+x/4, cy+y/4
			}
			wx, wy := pl.ToCanvas(float64(ox+100), float64(oy+100))
			if math.Hypot(cx-wx, cy-wy) > 3 {
				t.Errorf("code centre on the canvas (%.1f, %.1f), want (%.1f, %.1f)", cx, cy, wx, wy)
			}
			green := 0
			for dy := -20; dy <= 20; dy++ {
				for dx := -20; dx <= 20; dx++ {
					if greenAt(got, int(wx)+dx, int(wy)+dy) {
						green++
					}
				}
			}
			if green < 41*41/4 {
				t.Errorf("%d of %d canvas pixels around the code's centre are tinted green", green, 41*41)
			}
			// Cropped through the middle of the code (from source x 400),
			// at full size at (100, 100): the layer starts at canvas x
			// 100, and left of it nothing is green.
			cropped := compositortest.Visible(scene.Rect{100, 100, SW - 400, SH}, scene.FitStretch)
			cropped.Crop = scene.Crop{400, 0, 0, 0}
			for i := 3; i < 5; i++ {
				got = compose(i, cropped)
			}
			inside, outside := 0, 0
			for y := oy + 100; y < oy+200; y++ {
				for x := 40; x < 100; x++ {
					if greenAt(got, x, 100+y) {
						outside++
					}
				}
				for x := 100; x < 150; x++ {
					if greenAt(got, x, 100+y) {
						inside++
					}
				}
			}
			if outside > 0 || inside < 50*100/2 {
				t.Errorf("cropped code: %d green pixels left of the layer, %d of %d inside", outside, inside, 50*100)
			}
		})
	}
}

// TestClip: the polygon and segment clipping of overlays.
func TestClip(t *testing.T) {
	var out [maxClipped][2]float64
	r := [4]float64{0, 0, 10, 10}
	// A square straddling the right edge keeps its left half.
	area := func(poly [][2]float64) float64 {
		a := 0.0
		for i := range poly {
			p, q := poly[i], poly[(i+1)%len(poly)]
			a += p[0]*q[1] - q[0]*p[1]
		}
		return math.Abs(a / 2)
	}
	if got := clipPolygon([][2]float64{{5, 2}, {15, 2}, {15, 8}, {5, 8}}, r, &out); math.Abs(area(got)-30) > 1e-9 {
		t.Errorf("clipped square %v has area %g, want 30", got, area(got))
	}
	// A diamond around the rectangle's corner keeps the triangle inside.
	if got := clipPolygon([][2]float64{{0, -5}, {5, 0}, {0, 5}, {-5, 0}}, r, &out); math.Abs(area(got)-12.5) > 1e-9 {
		t.Errorf("corner diamond clipped to %v, area %g, want 12.5", got, area(got))
	}
	// Corners in a twisted order (a bow tie) crossing every edge: its hull
	// is clipped, and nothing overflows.
	if got := clipPolygon([][2]float64{{15, 10}, {-5, 0}, {15, 15}, {0, -5}}, r, &out); len(got) < 3 || area(got) > 100 {
		t.Errorf("a twisted quad clipped to %v", got)
	}
	if got := clipPolygon([][2]float64{{20, 20}, {30, 20}, {30, 30}}, r, &out); len(got) != 0 {
		t.Errorf("outside polygon clipped to %v", got)
	}
	if a, b, ok := clipSegment([2]float64{-5, 5}, [2]float64{15, 5}, r); !ok || a != [2]float64{0, 5} || b != [2]float64{10, 5} {
		t.Errorf("segment across: %v %v %v", a, b, ok)
	}
	if _, _, ok := clipSegment([2]float64{-5, -1}, [2]float64{15, -1}, r); ok {
		t.Error("a segment outside was kept")
	}
}

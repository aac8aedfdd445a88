package compositor

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/internal/codetest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
	"github.com/shadercast/shadercast/shaders"
)

// inverted is img with its colour inverted, alpha kept: what invert.frag
// makes of it.
func inverted(img *image.RGBA) *image.RGBA {
	out := image.NewRGBA(img.Bounds())
	for i := 0; i < len(img.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = 255-img.Pix[i], 255-img.Pix[i+1], 255-img.Pix[i+2], img.Pix[i+3]
	}
	return out
}

// TestLayerChainMatchesReference: a layer's chain runs on its source before
// the layer is placed: an inverting chain on a turned, cropped, translucent
// layer gives the Go reference of the inverted source placed the same way,
// beside a layer of the same frame without a chain (which shows it as it
// is: the chain works on its own copy).
func TestLayerChainMatchesReference(t *testing.T) {
	const W, H = 320, 180
	wide, square := gradient(200, 100, 255), checker(64, 64)
	frames := []media.VideoFrame{rgbaFrame(t, wide, 0), rgbaFrame(t, square, 0)}
	defer frames[0].Close()
	defer frames[1].Close()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	inv, err := p.NewLayerChain("wide", invertPass(t))
	if err != nil {
		t.Fatal(err)
	}
	invSquare, err := p.NewLayerChain("square", invertPass(t))
	if err != nil {
		t.Fatal(err)
	}
	turned := visible(scene.Rect{150, 40, 120, 60}, scene.FitStretch)
	turned.Rotation, turned.Opacity, turned.Crop = 20, 0.7, scene.Crop{0, 0.25, 0, 0}
	c := &Composition{Width: W, Height: H, Frames: frames, Layers: []Layer{
		{Frame: 0, Spec: visible(scene.Rect{0, 0, W / 2, H}, scene.FitContain)},
		{Frame: 0, Spec: visible(scene.Rect{W / 2, 0, W / 2, H / 2}, scene.FitStretch), Chain: inv},
		{Frame: 1, Spec: turned, Chain: invSquare},
	}}
	var out Output
	if err := p.Compose(context.Background(), c, &out); err != nil {
		t.Fatal(err)
	}
	defer out.Frame.Close()
	got := planeBytes(t, out.Frame, 0)
	refs := []refLayer{{wide, c.Layers[0].Spec}, {inverted(wide), c.Layers[1].Spec}, {inverted(square), turned}}
	want, edge := composeReference(W, H, [4]uint8{0, 0, 0, 255}, refs)
	checkComposed(t, W, H, got, want, edge, 3)
	if len(out.Layers) != 2 || out.Layers[0].Layer != 1 || out.Layers[1].Layer != 2 || out.Layers[0].Width != 200 || out.Layers[1].Height != 64 {
		t.Errorf("layer results %+v, want layers 1 (200 wide) and 2 (64 high)", out.Layers)
	}
}

// TestLayerChainYUV: a chain on an I420 source runs on the converted frame:
// the inverted layer is the plain layer's complement.
func TestLayerChainYUV(t *testing.T) {
	const W, H = 128, 72
	// A smooth picture: the two paths upsample chroma differently (the
	// layer filters the planes, the conversion does not), which shows on
	// noise.
	f := i420Frame(t, 96, 54, gradient(96, 54, 255))
	defer f.Close()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	inv, err := p.NewLayerChain("yuv", invertPass(t))
	if err != nil {
		t.Fatal(err)
	}
	compose := func(chain *LayerChain) []byte {
		var out Output
		c := &Composition{Width: W, Height: H, Frames: []media.VideoFrame{f}, Layers: []Layer{
			{Frame: 0, Spec: visible(scene.Rect{0, 0, W, H}, scene.FitStretch), Chain: chain}}}
		if err := p.Compose(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
		defer out.Frame.Close()
		return planeBytes(t, out.Frame, 0)
	}
	plain, inverse := compose(nil), compose(inv)
	worst := 0
	for i := 0; i < len(plain); i += 4 {
		for k := range 3 {
			worst = max(worst, absInt(255-int(plain[i+k])-int(inverse[i+k])))
		}
	}
	// The chain's path rounds to 8 bits once more and filters chroma
	// after the conversion: a few levels; a wrong path is off by 100s.
	if worst > 6 {
		t.Errorf("inverted YUV layer differs from the plain one's complement by up to %d", worst)
	}
}

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
			p, err := NewPipeline(testDevice, Config{Output: OutputRGBA})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			chain, err := p.NewLayerChain("cam", NewBarcodePass(barcode.DefaultParams()))
			if err != nil {
				t.Fatal(err)
			}
			frame := func(ts int64) media.VideoFrame {
				if format == media.I420 {
					return i420Frame(t, SW, SH, img)
				}
				return rgbaFrame(t, img, ts)
			}
			// The source at 3/4 size, at (200, 100), turned 10°.
			spec := visible(scene.Rect{200, 100, 480, 300}, scene.FitStretch)
			spec.Rotation = 10
			var out Output
			compose := func(i int, spec scene.Layer) []byte {
				fr := frame(int64(1000 + i))
				defer fr.Close()
				c := &Composition{Width: W, Height: H, Timestamp: int64(1000 + i), Frames: []media.VideoFrame{fr},
					Layers: []Layer{{Frame: 0, Spec: visible(scene.Rect{0, 0, 100, 100}, scene.FitStretch)}, {Frame: 0, Spec: spec, Chain: chain}}}
				if err := p.Compose(context.Background(), c, &out); err != nil {
					t.Fatal(err)
				}
				defer out.Frame.Close()
				return planeBytes(t, out.Frame, 0)
			}
			var got []byte
			for i := 0; i < 3; i++ {
				got = compose(i, spec)
				if len(Barcodes(out.Results)) != 0 {
					t.Errorf("frame %d: the output chain reports %d detections", i, len(Barcodes(out.Results)))
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
			cropped := visible(scene.Rect{100, 100, SW - 400, SH}, scene.FitStretch)
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

// TestLayerChainShared: a chain shown by two layers of one frame runs once
// per composition; shown by layers of two frames, the composition fails
// and the pipeline goes on; a closed chain leaves its layer as it is.
func TestLayerChainShared(t *testing.T) {
	a, b := rgbaFrame(t, gradient(64, 36, 255), 0), rgbaFrame(t, checker(64, 36), 0)
	defer a.Close()
	defer b.Close()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	chain, err := p.NewLayerChain("shared", invertPass(t))
	if err != nil {
		t.Fatal(err)
	}
	l := visible(scene.Rect{0, 0, 32, 36}, scene.FitStretch)
	r := visible(scene.Rect{32, 0, 32, 36}, scene.FitStretch)
	compose := func(frames []media.VideoFrame, second, results int) ([]byte, error) {
		var out Output
		c := &Composition{Width: 64, Height: 36, Frames: frames, Layers: []Layer{{Frame: 0, Spec: l, Chain: chain}, {Frame: second, Spec: r, Chain: chain}}}
		if err := p.Compose(context.Background(), c, &out); err != nil {
			return nil, err
		}
		defer out.Frame.Close()
		if len(out.Layers) != results {
			t.Errorf("%d layer results, want %d", len(out.Layers), results)
		}
		return planeBytes(t, out.Frame, 0), nil
	}
	before := chain.frames
	if _, err := compose([]media.VideoFrame{a}, 0, 1); err != nil {
		t.Fatal(err)
	}
	if n := chain.frames - before; n != 1 {
		t.Errorf("a chain shown twice ran %d times", n)
	}
	if _, err := compose([]media.VideoFrame{a, b}, 1, 1); !errors.Is(err, ErrFrame) {
		t.Errorf("one chain on two frames: %v, want ErrFrame", err)
	}
	inv, err := compose([]media.VideoFrame{a}, 0, 1)
	if err != nil {
		t.Fatalf("after the error: %v", err)
	}
	if err := chain.Close(); err != nil {
		t.Fatal(err)
	}
	plain, err := compose([]media.VideoFrame{a}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plain[0] == inv[0] || absInt(255-int(plain[0])-int(inv[0])) > 3 {
		t.Errorf("closed chain: pixel %d, inverted %d: want the plain source", plain[0], inv[0])
	}
}

// TestLayerChainFreesEverything: chains closed by their Close or by the
// pipeline's leave no GL object; a pass that fails to set up frees those
// before it.
func TestLayerChainFreesEverything(t *testing.T) {
	base := testDevice.Objects()
	p, err := NewPipeline(testDevice, Config{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := testFrame(t, media.NV12, 64, 36, media.ColorSpace{}, 0)
	defer f.Close()
	var chains []*LayerChain
	for i := range 3 {
		c, err := p.NewLayerChain("c", invertPass(t), NewBarcodePass(barcode.DefaultParams()))
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, c)
		var out Output
		comp := &Composition{Width: 64, Height: 36, Frames: []media.VideoFrame{f}, Layers: []Layer{{Frame: 0, Spec: visible(scene.Rect{0, 0, 64, 36}, scene.FitStretch), Chain: c}}}
		if err := p.Compose(context.Background(), comp, &out); err != nil {
			t.Fatal(err)
		}
		out.Frame.Close()
		if i == 0 {
			chains[0].Close()
		}
	}
	bad := NewShaderPass(ShaderPassSpec{Name: "bad", Source: "#version 330 core\nvoid main() { nonsense }"})
	if _, err := p.NewLayerChain("bad", invertPass(t), bad); err == nil {
		t.Error("a chain with a pass that does not compile was made")
	}
	if _, err := p.NewLayerChain("twice", invertPass(t), invertPass(t)); err == nil {
		t.Error("a chain with two passes of one name was made")
	}
	p.Close()
	for k, v := range testDevice.Objects() {
		if v != base[k] {
			t.Errorf("%s objects: %d before, %d after", k, base[k], v)
		}
	}
	if err := chains[1].Close(); err != nil {
		t.Errorf("closing a chain of a closed pipeline: %v", err)
	}
}

// TestGenerator: a generator's passes make its picture from nothing at its
// own size, and the layers that show it place it like a frame: an ISF
// generator (a horizontal ramp, no inputImage) at 200x100 stretched over
// the canvas's right half matches the Go reference of the same ramp
// placed there; it runs once for two layers and animates with the
// composition's time; layers that misuse Generated fail the composition.
func TestGenerator(t *testing.T) {
	const W, H = 320, 180
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ramp := isfPass(t, "ramp.fs", `/*{"INPUTS": []}*/
void main() {
	gl_FragColor = vec4(isf_FragNormCoord.x, 0.5, fract(TIME), 1.0);
}
`, "")
	gen, err := p.NewGenerator("ramp", 200, 100, ramp)
	if err != nil {
		t.Fatal(err)
	}
	bg, _ := testFrame(t, media.RGBA, 32, 18, media.ColorSpace{}, 1)
	defer bg.Close()
	right := visible(scene.Rect{W / 2, 0, W / 2, H}, scene.FitStretch)
	corner := visible(scene.Rect{0, 0, 40, 20}, scene.FitStretch)
	compose := func(ts int64) ([]byte, Output) {
		var out Output
		c := &Composition{Width: W, Height: H, Timestamp: ts, Frames: []media.VideoFrame{bg}, Layers: []Layer{
			{Frame: Generated, Spec: right, Chain: gen}, {Frame: Generated, Spec: corner, Chain: gen}}}
		if err := p.Compose(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
		defer out.Frame.Close()
		return planeBytes(t, out.Frame, 0), out
	}
	before := gen.frames
	got, out := compose(0)
	if gen.frames-before != 1 || len(out.Layers) != 1 || out.Layers[0].Width != 200 || out.Layers[0].Height != 100 {
		t.Errorf("ran %d times, results %+v", gen.frames-before, out.Layers)
	}
	ref := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			o := ref.PixOffset(x, y)
			ref.Pix[o], ref.Pix[o+1], ref.Pix[o+2], ref.Pix[o+3] = uint8(math.Round((float64(x)+0.5)/200*255)), 128, 0, 255
		}
	}
	want, edge := composeReference(W, H, [4]uint8{0, 0, 0, 255}, []refLayer{{ref, right}, {ref, corner}})
	checkComposed(t, W, H, got, want, edge, 3)
	// Half a second later, TIME has moved: blue is half up.
	got, _ = compose(500_000)
	if b := got[4*(90*W+240)+2]; b < 120 || b > 136 {
		t.Errorf("blue %d at TIME 0.5, want 128", b)
	}
	for name, c := range map[string]*Composition{
		"Generated without a chain":     {Width: W, Height: H, Layers: []Layer{{Frame: Generated, Spec: right}}},
		"a generator shown as a frame":  {Width: W, Height: H, Frames: []media.VideoFrame{bg}, Layers: []Layer{{Frame: 0, Spec: right, Chain: gen}}},
		"a source's chain as generator": {Width: W, Height: H, Layers: []Layer{{Frame: Generated, Spec: right, Chain: mustChain(t, p)}}},
	} {
		var out Output
		if err := p.Compose(context.Background(), c, &out); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v, want ErrFrame", name, err)
		}
	}
	if _, err := p.NewGenerator("huge", MaxGeneratorSide+1, 10, invertPass(t)); err == nil {
		t.Error("a generator past the size limit was made")
	}
}

func mustChain(t *testing.T, p *Pipeline) *LayerChain {
	c, err := p.NewLayerChain("plain", invertPass(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// builtinTransition is a pass of one of the built-in ISF transitions.
func builtinTransition(t testing.TB, file string) *ISFPass {
	t.Helper()
	src, err := fs.ReadFile(shaders.Transitions(), file)
	if err != nil {
		t.Fatal(err)
	}
	return isfPass(t, file, string(src), "")
}

// TestTransition: a composition with a transition draws the outgoing scene
// and the incoming one each on its own canvas and combines them with the
// transition's ISF pass: the dissolve at progress 0, 0.3 and 1 is the
// outgoing picture, their mix, the incoming picture; the wipe at 0.5 (no
// softness) shows the incoming one on the left half and the outgoing one
// on the right. The outgoing layers' chains report after the incoming
// ones'. Misuses fail the composition and the pipeline goes on.
func TestTransition(t *testing.T) {
	const W, H = 160, 90
	a, b := gradient(W, H, 255), checker(W, H)
	fa, fb := rgbaFrame(t, a, 0), rgbaFrame(t, b, 0)
	defer fa.Close()
	defer fb.Close()
	base := testDevice.Objects()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	dissolve, err := p.NewTransition("dissolve", builtinTransition(t, "dissolve.fs"))
	if err != nil {
		t.Fatal(err)
	}
	wipe, err := p.NewTransition("wipe", builtinTransition(t, "wipe.fs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wipe.SetUniform("wipe", "softness", 0.0); err != nil {
		t.Fatal(err)
	}
	inv, err := p.NewLayerChain("inv", invertPass(t))
	if err != nil {
		t.Fatal(err)
	}
	full := visible(scene.Rect{0, 0, W, H}, scene.FitStretch)
	compose := func(chain *LayerChain, progress float64) ([]byte, Output) {
		t.Helper()
		var out Output
		c := &Composition{Width: W, Height: H, Frames: []media.VideoFrame{fa, fb},
			Layers:     []Layer{{Frame: 1, Spec: full}},
			Transition: &Transition{From: []Layer{{Frame: 0, Spec: full}, {Frame: 0, Spec: visible(scene.Rect{0, 0, 8, 8}, scene.FitStretch), Chain: inv}}, Chain: chain, Progress: progress}}
		if err := p.Compose(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
		defer out.Frame.Close()
		return planeBytes(t, out.Frame, 0), out
	}
	// What each canvas holds: the incoming checker over black, the
	// outgoing gradient with its small inverted copy.
	to, _ := composeReference(W, H, [4]uint8{0, 0, 0, 255}, []refLayer{{b, full}})
	fromRef, _ := composeReference(W, H, [4]uint8{0, 0, 0, 255}, []refLayer{{a, full}, {inverted(a), visible(scene.Rect{0, 0, 8, 8}, scene.FitStretch)}})
	noEdge := make([]bool, W*H)
	for _, progress := range []float64{0, 0.3, 1} {
		got, out := compose(dissolve, progress)
		want := make([][4]float64, W*H)
		for i := range want {
			for k := range 4 {
				want[i][k] = fromRef[i][k]*(1-progress) + to[i][k]*progress
			}
		}
		t.Run("dissolve", func(t *testing.T) { checkComposed(t, W, H, got, want, noEdge, 3) })
		if len(out.Layers) != 1 || out.Layers[0].Layer != 2 {
			t.Errorf("layer results %+v, want the outgoing layer 1 as 2", out.Layers)
		}
	}
	// Every built-in transition starts on the outgoing picture and ends on
	// the incoming one.
	ents, err := fs.ReadDir(shaders.Transitions(), ".")
	if err != nil || len(ents) < 3 {
		t.Fatalf("built-in transitions: %v, %v", ents, err)
	}
	for _, e := range ents {
		tr, err := p.NewTransition(e.Name(), builtinTransition(t, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, progress := range []float64{0, 1} {
			got, _ := compose(tr, progress)
			want := fromRef
			if progress == 1 {
				want = to
			}
			t.Run(fmt.Sprintf("%s at %g", e.Name(), progress), func(t *testing.T) { checkComposed(t, W, H, got, want, noEdge, 3) })
		}
	}
	got, _ := compose(wipe, 0.5)
	want := make([][4]float64, W*H)
	edge := make([]bool, W*H)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			i := y*W + x
			want[i] = fromRef[i]
			if x < W/2 {
				want[i] = to[i]
			}
			edge[i] = x == W/2-1 || x == W/2
		}
	}
	t.Run("wipe", func(t *testing.T) { checkComposed(t, W, H, got, want, edge, 3) })
	for name, tr := range map[string]*Transition{
		"no chain":         {From: []Layer{{Frame: 0, Spec: full}}},
		"a layer's chain":  {From: []Layer{{Frame: 0, Spec: full}}, Chain: inv},
		"a frame too many": {From: []Layer{{Frame: 2, Spec: full}}, Chain: dissolve},
	} {
		var out Output
		c := &Composition{Width: W, Height: H, Frames: []media.VideoFrame{fa, fb}, Layers: []Layer{{Frame: 1, Spec: full}}, Transition: tr}
		if err := p.Compose(context.Background(), c, &out); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v, want ErrFrame", name, err)
		}
	}
	if _, err := p.NewTransition("not one", invertPass(t)); err == nil {
		t.Error("a filter was made a transition")
	}
	// An ISF filter made a transition fails when it runs: held out, the
	// switch is a cut.
	filter, err := p.NewTransition("filter", isfPass(t, "grey.fs", `/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]}*/
void main() { gl_FragColor = vec4(0.5); }
`, ""))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = compose(filter, 0.5)
	checkComposed(t, W, H, got, to, noEdge, 3)
	p.Close()
	for k, v := range testDevice.Objects() {
		if v != base[k] {
			t.Errorf("%s objects: %d before, %d after", k, base[k], v)
		}
	}
}

// TestNested: a nested scene's layers are drawn on a transparent frame of
// the scene's size and that frame is placed as a layer: against the Go
// reference of the nested layers over transparent, placed at 80 % opacity
// over a background. A frame only the nested scene shows is uploaded; a
// closed frame's layer shows nothing and fails nothing; nesting past
// MaxNesting fails the composition.
func TestNested(t *testing.T) {
	const W, H = 160, 90
	bgImg, check, small := gradient(W, H, 255), checker(80, 50), gradient(40, 20, 255)
	fbg, fcheck, fsmall := rgbaFrame(t, bgImg, 0), rgbaFrame(t, check, 0), rgbaFrame(t, small, 0)
	defer fbg.Close()
	defer fcheck.Close()
	defer fsmall.Close()
	closed := rgbaFrame(t, small, 0)
	closed.Close()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	nest, err := p.NewNested("pip", 80, 50)
	if err != nil {
		t.Fatal(err)
	}
	half := visible(scene.Rect{10, 10, 30, 20}, scene.FitStretch)
	half.Opacity = 0.5
	inner := []Layer{
		{Frame: 1, Spec: visible(scene.Rect{0, 0, 80, 50}, scene.FitStretch)},
		{Frame: 2, Spec: half},
		{Frame: 3, Spec: visible(scene.Rect{0, 0, 80, 50}, scene.FitStretch)}, // closed: nothing
	}
	placed := visible(scene.Rect{40, 20, 80, 50}, scene.FitStretch)
	placed.Opacity = 0.8
	c := &Composition{Width: W, Height: H, Frames: []media.VideoFrame{fbg, fcheck, fsmall, closed}, Layers: []Layer{
		{Frame: 0, Spec: visible(scene.Rect{0, 0, W, H}, scene.FitStretch)},
		{Frame: Generated, Spec: placed, Chain: nest, Nested: inner},
	}}
	var out Output
	if err := p.Compose(context.Background(), c, &out); err != nil {
		t.Fatal(err)
	}
	defer out.Frame.Close()
	got := planeBytes(t, out.Frame, 0)
	// The nested frame in Go: premultiplied over transparent, then made
	// straight again to be placed as a layer (1:1, so no filtering).
	pre, _ := composeReference(80, 50, [4]uint8{}, []refLayer{{check, inner[0].Spec}, {small, half}})
	straight := image.NewRGBA(image.Rect(0, 0, 80, 50))
	for i, px := range pre {
		a := px[3]
		if a == 0 {
			continue
		}
		for k := range 3 {
			straight.Pix[4*i+k] = uint8(math.Min(255, math.Round(px[k]*255/a)))
		}
		straight.Pix[4*i+3] = uint8(a)
	}
	want, edge := composeReference(W, H, [4]uint8{0, 0, 0, 255}, []refLayer{{bgImg, c.Layers[0].Spec}, {straight, placed}})
	checkComposed(t, W, H, got, want, edge, 3)

	deep := Layer{Frame: 0, Spec: visible(scene.Rect{0, 0, 8, 8}, scene.FitStretch)}
	for range MaxNesting + 1 {
		deep = Layer{Frame: Generated, Spec: visible(scene.Rect{0, 0, 8, 8}, scene.FitStretch), Chain: nest, Nested: []Layer{deep}}
	}
	if err := p.Compose(context.Background(), &Composition{Width: W, Height: H, Frames: []media.VideoFrame{fbg}, Layers: []Layer{deep}}, &out); !errors.Is(err, ErrFrame) {
		t.Errorf("nested %d deep: %v, want ErrFrame", MaxNesting+1, err)
	}
}

package compositor

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
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
	wide, square := gltest.Gradient(200, 100, 255), gltest.Checker(64, 64)
	frames := []media.VideoFrame{gltest.RGBAFrame(t, wide, 0), gltest.RGBAFrame(t, square, 0)}
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
	got := gltest.PlaneBytes(t, out.Frame, 0)
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
	f := gltest.I420Frame(t, 96, 54, gltest.Gradient(96, 54, 255))
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
		return gltest.PlaneBytes(t, out.Frame, 0)
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

// TestLayerChainShared: a chain shown by two layers of one frame runs once
// per composition; shown by layers of two frames, the composition fails
// and the pipeline goes on; a closed chain leaves its layer as it is.
func TestLayerChainShared(t *testing.T) {
	a, b := gltest.RGBAFrame(t, gltest.Gradient(64, 36, 255), 0), gltest.RGBAFrame(t, gltest.Checker(64, 36), 0)
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
		return gltest.PlaneBytes(t, out.Frame, 0), nil
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
		c, err := p.NewLayerChain("c", invertPass(t), &markPass{})
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

// TestLayerChainAnalyzer: a layer's chain of analyses only reads the
// source as it is, at the source's size (RGBA, or the Y plane of an I420
// frame), reports per layer with the layer's placement, and draws its
// overlay on the canvas where the layer shows the source; the output
// chain reports nothing, and the source's own pixels are not changed.
func TestLayerChainAnalyzer(t *testing.T) {
	const SW, SH = 320, 200
	const W, H = 640, 360
	img := gltest.Gradient(SW, SH, 255)
	for _, format := range []media.PixelFormat{media.RGBA, media.I420} {
		t.Run(format.String(), func(t *testing.T) {
			p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			mark := &markPass{}
			chain, err := p.NewLayerChain("cam", mark)
			if err != nil {
				t.Fatal(err)
			}
			fr := gltest.RGBAFrame(t, img, 0)
			if format == media.I420 {
				fr = gltest.I420Frame(t, SW, SH, img)
			}
			defer fr.Close()
			// The source at half size at (100, 60), and unmarked at
			// full size in the corner below it.
			spec := visible(scene.Rect{100, 60, SW / 2, SH / 2}, scene.FitStretch)
			c := &Composition{Width: W, Height: H, Frames: []media.VideoFrame{fr},
				Layers: []Layer{{Frame: 0, Spec: visible(scene.Rect{W - SW, H - SH, SW, SH}, scene.FitStretch)}, {Frame: 0, Spec: spec, Chain: chain}}}
			var out Output
			if err := p.Compose(context.Background(), c, &out); err != nil {
				t.Fatal(err)
			}
			defer out.Frame.Close()
			got := gltest.PlaneBytes(t, out.Frame, 0)
			if len(out.Results) != 0 {
				t.Errorf("the output chain reports %v", out.Results)
			}
			if len(out.Layers) != 1 || out.Layers[0].Layer != 1 || out.Layers[0].Chain != "cam" || out.Layers[0].Width != SW || out.Layers[0].Height != SH {
				t.Fatalf("layer results %+v", out.Layers)
			}
			want := markResult{W: SW, H: SH, Analysed: true, YUV: format == media.I420}
			if r := out.Layers[0].Results; len(r) != 1 || *r[0].(*markResult) != want {
				t.Fatalf("reported %+v, want %+v: the source read where it is, at its size", r, want)
			}
			green := func(x, y int) bool {
				o := 4 * (y*W + x)
				return got[o] < 10 && got[o+1] > 245 && got[o+2] < 10
			}
			// The mark covers the source's top-left quarter where the
			// layer draws it: 40 x 25 canvas pixels at (100, 60).
			for _, q := range [][3]int{{105, 65, 1}, {135, 80, 1}, {145, 90, 0}, {95, 62, 0}, {200, 150, 0}} {
				if green(q[0], q[1]) != (q[2] == 1) {
					t.Errorf("(%d, %d) green %v, want %v", q[0], q[1], !(q[2] == 1), q[2] == 1)
				}
			}
			// The unmarked layer of the same source shows its pixels:
			// the analysis drew nothing into the source.
			if green(W-SW+5, H-SH+5) {
				t.Error("the source itself was marked")
			}
		})
	}
}

// TestTransition: a composition with a transition draws the outgoing scene
// and the incoming one each on its own canvas and combines them with the
// transition's pass: a mix at progress 0, 0.3 and 1 is the outgoing
// picture, their mix, the incoming picture. The outgoing layers' chains
// report after the incoming ones'. A transition that fails is held out
// and the switch is a cut; misuses fail the composition and the pipeline
// goes on. (The built-in ISF transitions are tested in package isfpass.)
func TestTransition(t *testing.T) {
	const W, H = 160, 90
	a, b := gltest.Gradient(W, H, 255), gltest.Checker(W, H)
	fa, fb := gltest.RGBAFrame(t, a, 0), gltest.RGBAFrame(t, b, 0)
	defer fa.Close()
	defer fb.Close()
	base := testDevice.Objects()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, Readback: ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	mix, err := p.NewTransition("mix", &mixTransition{})
	if err != nil {
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
		return gltest.PlaneBytes(t, out.Frame, 0), out
	}
	// What each canvas holds: the incoming checker over black, the
	// outgoing gradient with its small inverted copy.
	to, _ := composeReference(W, H, [4]uint8{0, 0, 0, 255}, []refLayer{{b, full}})
	fromRef, _ := composeReference(W, H, [4]uint8{0, 0, 0, 255}, []refLayer{{a, full}, {inverted(a), visible(scene.Rect{0, 0, 8, 8}, scene.FitStretch)}})
	noEdge := make([]bool, W*H)
	for _, progress := range []float64{0, 0.3, 1} {
		got, out := compose(mix, progress)
		want := make([][4]float64, W*H)
		for i := range want {
			for k := range 4 {
				want[i][k] = fromRef[i][k]*(1-progress) + to[i][k]*progress
			}
		}
		t.Run(fmt.Sprintf("mix at %g", progress), func(t *testing.T) { checkComposed(t, W, H, got, want, noEdge, 3) })
		if len(out.Layers) != 1 || out.Layers[0].Layer != 2 {
			t.Errorf("layer results %+v, want the outgoing layer 1 as 2", out.Layers)
		}
	}
	for name, tr := range map[string]*Transition{
		"no chain":         {From: []Layer{{Frame: 0, Spec: full}}},
		"a layer's chain":  {From: []Layer{{Frame: 0, Spec: full}}, Chain: inv},
		"a frame too many": {From: []Layer{{Frame: 2, Spec: full}}, Chain: mix},
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
	// A transition that fails when it runs is held out: the switch is a
	// cut.
	failing, err := p.NewTransition("failing", &mixTransition{fail: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := compose(failing, 0.5)
	checkComposed(t, W, H, got, to, noEdge, 3)
	p.Close()
	for k, v := range testDevice.Objects() {
		if v != base[k] {
			t.Errorf("%s objects: %d before, %d after", k, base[k], v)
		}
	}
}

// TestGenerator: a generator's passes make its picture from nothing at its
// own size, and the layers that show it place it like a frame: a
// generator (a shader pass drawing a horizontal ramp) at 200x100 stretched over
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
	ramp := NewShaderPass(ShaderPassSpec{Name: "ramp", Source: `#version 330 core
uniform ivec2 uInputSize;
uniform float uTime;
out vec4 fragColor;
void main() {
	fragColor = vec4(gl_FragCoord.x / float(uInputSize.x), 0.5, fract(uTime), 1.0);
}
`})
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
		return gltest.PlaneBytes(t, out.Frame, 0), out
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

// TestNested: a nested scene's layers are drawn on a transparent frame of
// the scene's size and that frame is placed as a layer: against the Go
// reference of the nested layers over transparent, placed at 80 % opacity
// over a background. A frame only the nested scene shows is uploaded; a
// closed frame's layer shows nothing and fails nothing; nesting past
// MaxNesting fails the composition.
func TestNested(t *testing.T) {
	const W, H = 160, 90
	bgImg, check, small := gltest.Gradient(W, H, 255), gltest.Checker(80, 50), gltest.Gradient(40, 20, 255)
	fbg, fcheck, fsmall := gltest.RGBAFrame(t, bgImg, 0), gltest.RGBAFrame(t, check, 0), gltest.RGBAFrame(t, small, 0)
	defer fbg.Close()
	defer fcheck.Close()
	defer fsmall.Close()
	closed := gltest.RGBAFrame(t, small, 0)
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
	got := gltest.PlaneBytes(t, out.Frame, 0)
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

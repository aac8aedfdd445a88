package isfpass

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/internal/shadertest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
	"github.com/shadercast/shadercast/shaders"
)

// builtinTransition is a pass of one of the built-in ISF transitions.
func builtinTransition(t testing.TB, file string) *Pass {
	t.Helper()
	src, err := fs.ReadFile(shaders.Transitions(), file)
	if err != nil {
		t.Fatal(err)
	}
	return isfPass(t, file, string(src), "")
}

// TestBuiltinTransitions: the built-in ISF transitions as the compositor's
// transitions, between an opaque gradient (outgoing) and a checkerboard
// half transparent (incoming, over the canvas's black): each starts on the
// outgoing picture and ends on the incoming one; the dissolve at 0.3 is
// their mix; the wipe at 0.5 with no softness shows the incoming picture
// on the left half and the outgoing one on the right. An ISF filter made a
// transition fails when it runs: held out, the switch is a cut.
func TestBuiltinTransitions(t *testing.T) {
	const W, H = 160, 90
	a, b := gltest.Gradient(W, H, 255), gltest.Checker(W, H)
	fa, fb := gltest.RGBAFrame(t, a, 0), gltest.RGBAFrame(t, b, 0)
	defer fa.Close()
	defer fb.Close()
	base := testDevice.Objects()
	p, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA, Readback: compositor.ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	full := compositortest.Visible(scene.Rect{0, 0, W, H}, scene.FitStretch)
	compose := func(chain *compositor.LayerChain, progress float64) []byte {
		t.Helper()
		var out compositor.Output
		c := &compositor.Composition{Width: W, Height: H, Frames: []media.VideoFrame{fa, fb},
			Layers:     []compositor.Layer{{Frame: 1, Spec: full}},
			Transition: &compositor.Transition{From: []compositor.Layer{{Frame: 0, Spec: full}}, Chain: chain, Progress: progress}}
		if err := p.Compose(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
		defer out.Frame.Close()
		return gltest.PlaneBytes(t, out.Frame, 0)
	}
	// The canvases in Go: the gradient as it is; the checker over black.
	from := func(x, y int) [4]float64 {
		o := a.PixOffset(x, y)
		return [4]float64{float64(a.Pix[o]), float64(a.Pix[o+1]), float64(a.Pix[o+2]), 255}
	}
	to := func(x, y int) [4]float64 {
		o := b.PixOffset(x, y)
		al := float64(b.Pix[o+3]) / 255
		return [4]float64{float64(b.Pix[o]) * al, float64(b.Pix[o+1]) * al, float64(b.Pix[o+2]) * al, 255}
	}
	mix := func(progress float64) func(x, y int) [4]int {
		return func(x, y int) [4]int {
			f, t := from(x, y), to(x, y)
			var out [4]int
			for k := range out {
				out[k] = int(math.Round(f[k]*(1-progress) + t[k]*progress))
			}
			return out
		}
	}
	ents, err := fs.ReadDir(shaders.Transitions(), ".")
	if err != nil || len(ents) < 3 {
		t.Fatalf("built-in transitions: %v, %v", ents, err)
	}
	chains := map[string]*compositor.LayerChain{}
	for _, e := range ents {
		tr, err := p.NewTransition(e.Name(), builtinTransition(t, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		chains[e.Name()] = tr
		for _, progress := range []float64{0, 1} {
			got := compose(tr, progress)
			t.Run(fmt.Sprintf("%s at %g", e.Name(), progress), func(t *testing.T) { checkPixels(t, got, W, H, 3, mix(progress)) })
		}
	}
	t.Run("dissolve at 0.3", func(t *testing.T) { checkPixels(t, compose(chains["dissolve.fs"], 0.3), W, H, 3, mix(0.3)) })
	if err := chains["wipe.fs"].SetUniform("wipe", "softness", 0.0); err != nil {
		t.Fatal(err)
	}
	got := compose(chains["wipe.fs"], 0.5)
	t.Run("wipe at 0.5", func(t *testing.T) {
		checkPixels(t, got, W, H, 3, func(x, y int) [4]int {
			switch {
			case x == W/2-1 || x == W/2:
				return [4]int{-1, -1, -1, -1} // the edge
			case x < W/2:
				return mix(1)(x, y)
			}
			return mix(0)(x, y)
		})
	})
	filter, err := p.NewTransition("filter", isfPass(t, "grey.fs", `/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]}*/
void main() { gl_FragColor = vec4(0.5); }
`, ""))
	if err != nil {
		t.Fatal(err)
	}
	checkPixels(t, compose(filter, 0.5), W, H, 3, mix(1))
	p.Close()
	compositortest.CheckObjects(t, testDevice, base)
}

// TestGenerator: an ISF shader without inputImage is a generator: at its
// own size (200x100), stretched over a canvas of twice its size, it draws
// its horizontal ramp, and TIME follows the composition's clock.
func TestGenerator(t *testing.T) {
	const W, H = 400, 200
	p, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA, Readback: compositor.ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	gen, err := p.NewGenerator("ramp", 200, 100, isfPass(t, "ramp.fs", `/*{"INPUTS": []}*/
void main() {
	gl_FragColor = vec4(isf_FragNormCoord.x, 0.5, fract(TIME), 1.0);
}
`, ""))
	if err != nil {
		t.Fatal(err)
	}
	compose := func(ts int64) []byte {
		var out compositor.Output
		c := &compositor.Composition{Width: W, Height: H, Timestamp: ts, Layers: []compositor.Layer{
			{Frame: compositor.Generated, Spec: compositortest.Visible(scene.Rect{0, 0, W, H}, scene.FitStretch), Chain: gen}}}
		if err := p.Compose(context.Background(), c, &out); err != nil {
			t.Fatal(err)
		}
		defer out.Frame.Close()
		return gltest.PlaneBytes(t, out.Frame, 0)
	}
	for _, ts := range []int64{0, 250_000} {
		got := compose(ts)
		blue := int(math.Round(float64(ts) / 1e6 * 255))
		// Every other canvas column is a generator pixel's centre or
		// between two: bilinear, so the ramp stays linear within 2.
		checkPixels(t, got, W, H, 2, func(x, y int) [4]int {
			gx := min(max((float64(x)+0.5)/2-0.5, 0), 199)
			return [4]int{int(math.Round((gx + 0.5) / 200 * 255)), 128, blue, 255}
		})
	}
}

// TestFailingPassBypassed: an ISF pass whose target size follows an input
// fails when that input makes the target too large (its GL objects cannot
// be made); the invert after it still applies, and bringing the input back
// brings the pass back.
func TestFailingPassBypassed(t *testing.T) {
	red := isfPass(t, "plugins/redbuf.fs", shadertest.RedBuf, "")
	// OnPassError runs on the GL thread.
	var mu sync.Mutex
	var errs []compositor.PassError
	inv, err := compositor.NewBuiltinPass("invert", "invert.frag", map[string]any{"uAmount": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	p, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA,
		OnPassError: func(e compositor.PassError) { mu.Lock(); errs = append(errs, e); mu.Unlock() }}, red, inv)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fr := gltest.SolidFrame(t, 16, 16, [4]byte{20, 100, 200, 255})
	if got := compositortest.ProcessRGBA(t, p, fr); !gltest.NearRGB(got, [3]int{0, 255, 255}, 2) {
		t.Fatalf("healthy chain (red, inverted): %v", got[:4])
	}
	if err := p.SetUniform("redbuf", "scale", 1000.0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if got := compositortest.ProcessRGBA(t, p, fr); !gltest.NearRGB(got, [3]int{235, 155, 55}, 2) {
			t.Fatalf("frame %d with the ISF pass failing: %v, want the input inverted", i, got[:4])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || !strings.Contains(errs[0].Err.Error(), "WIDTH") {
		t.Fatalf("reports: %+v", errs)
	}
	t.Logf("reported: %v", errs[0].Err)
	if err := p.SetUniform("redbuf", "scale", 1.0); err != nil {
		t.Fatal(err)
	}
	if got := compositortest.ProcessRGBA(t, p, fr); !gltest.NearRGB(got, [3]int{0, 255, 255}, 2) {
		t.Fatalf("after the input came back: %v", got[:4])
	}
}

package compositor

import (
	"fmt"
	"math"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/scene"
)

// The compositor's tests check its mechanisms (analyses, overlays,
// transitions) with the small passes below; the real kinds (the barcode
// pass, ISF) are tested in their own packages.

// markPass is a test Analyzer. It reports what it saw (*markResult, in
// storage the Output owns: Frame.Recycled) and marks the top-left quarter
// of its picture: in place as a pass of a chain (Render, which first reads
// back the picture's centre pixel), or on the canvas where a layer puts it
// (Overlay: the quarter's bounding box on the canvas). It owns a GL
// object, for the leak checks.
type markPass struct {
	w, h int // the last picture's size, for Overlay
	own  Target
}

// markResult is what markPass saw: the picture's size, whether it came
// through Analyze (a layer's source read where it is) and as YUV planes,
// and, through Render, the picture's centre pixel.
type markResult struct {
	W, H          int
	Analysed, YUV bool
	Centre        [4]byte
}

// report hands r on in the Output's own storage.
func (m *markPass) report(f *Frame, r markResult) {
	out, _ := f.Recycled().(*markResult)
	if out == nil {
		out = &markResult{}
	}
	*out = r
	f.Report(out)
}

// markColour is the mark: opaque green.
var markColour = [4]float32{0, 1, 0, 1}

func (m *markPass) Name() string { return "mark" }

func (m *markPass) Setup(d *Device) error {
	var err error
	m.own, err = d.NewTarget(1, 1, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
	return err
}

func (m *markPass) Release(d *Device) { d.DeleteTarget(&m.own) }

func (m *markPass) Uniforms() []UniformInfo { return nil }

func (m *markPass) SetUniform(name string, v any) error { return UniformError("mark", name, v) }

func (m *markPass) Analyze(f *Frame, src *Picture) error {
	m.w, m.h = src.Size()
	_, yuv := src.YUV()
	m.report(f, markResult{W: m.w, H: m.h, Analysed: true, YUV: yuv})
	return nil
}

func (m *markPass) Render(f *Frame, src, dst *Target) (*Target, error) {
	m.w, m.h = src.Texture().W(), src.Texture().H()
	r := markResult{W: m.w, H: m.h}
	f.Settle()
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, src.FBO())
	gl.ReadPixels(int32(m.w/2), int32(m.h/2), 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, BytesPtr(r.Centre[:]))
	m.report(f, r)
	out := f.Writable(src)
	fill(out, 0, 0, m.w/4, m.h/4)
	return out, nil
}

func (m *markPass) Overlay(f *Frame, dst *Target, pl scene.Placement, opacity float64) {
	x0, y0 := math.Inf(1), math.Inf(1)
	x1, y1 := math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{0, 0}, {float64(m.w) / 4, 0}, {0, float64(m.h) / 4}, {float64(m.w) / 4, float64(m.h) / 4}} {
		x, y := pl.ToCanvas(c[0], c[1])
		x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
	}
	fill(dst, int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x1-x0)), int(math.Round(y1-y0)))
}

// fill paints a w x h box at (x, y) of t (row 0 at the top, as frames)
// with markColour.
func fill(t *Target, x, y, w, h int) {
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.FBO())
	gl.Enable(gl.SCISSOR_TEST)
	gl.Scissor(int32(x), int32(y), int32(w), int32(h))
	gl.ClearColor(markColour[0], markColour[1], markColour[2], markColour[3])
	gl.Clear(gl.COLOR_BUFFER_BIT)
	gl.Disable(gl.SCISSOR_TEST)
}

// mixTransition is a test Transitioner: from and to mixed by progress (a
// dissolve), written with the kit as a pass outside the package would. A
// failing one returns an error from Transition, as a transition that
// cannot run does.
type mixTransition struct {
	fail bool
	prog *Program
}

const mixFrag = `#version 330 core
uniform sampler2D uInput;
uniform sampler2D uTo;
uniform float uProgress;
out vec4 fragColor;
void main() {
	ivec2 p = ivec2(gl_FragCoord.xy);
	fragColor = mix(texelFetch(uInput, p, 0), texelFetch(uTo, p, 0), uProgress);
}
`

func (m *mixTransition) Name() string { return "mix" }

func (m *mixTransition) Setup(d *Device) error {
	var err error
	m.prog, err = d.NewProgram(FullscreenVert(), NewShaderSource("mix.frag", mixFrag))
	return err
}

func (m *mixTransition) Release(d *Device) { d.DeleteProgram(&m.prog) }

func (m *mixTransition) Uniforms() []UniformInfo { return nil }

func (m *mixTransition) SetUniform(name string, v any) error { return UniformError("mix", name, v) }

func (m *mixTransition) Render(f *Frame, src, dst *Target) (*Target, error) {
	return nil, fmt.Errorf("mix: a transition, not a filter")
}

func (m *mixTransition) Transition(f *Frame, from, to, dst *Target, progress float64) (*Target, error) {
	if m.fail {
		return nil, fmt.Errorf("mix: told to fail")
	}
	gl.UseProgram(m.prog.ID())
	gl.Uniform1i(m.prog.Loc("uInput"), 0)
	gl.Uniform1i(m.prog.Loc("uTo"), 1)
	gl.Uniform1f(m.prog.Loc("uProgress"), float32(progress))
	gl.ActiveTexture(gl.TEXTURE1)
	gl.BindTexture(gl.TEXTURE_2D, to.Texture().ID())
	DrawFullscreen(from.Texture().ID(), dst)
	gl.ActiveTexture(gl.TEXTURE1)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	gl.ActiveTexture(gl.TEXTURE0)
	return dst, nil
}

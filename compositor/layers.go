package compositor

import (
	"math"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/scene"
	"github.com/shadercast/shadercast/shaders"
)

// layerDrawer draws sources onto a canvas as a scene's layers: each at
// its placement (scene.Place: crop, fit, rotation), with its opacity,
// blended over what was drawn before, so that the order of the draws is
// the z-order. Sampling is bilinear; what a turned layer leaves uncovered
// keeps what is below.
type layerDrawer struct {
	prog   *program
	linear uint32 // sampler: bilinear, clamped to the edge
}

func (l *layerDrawer) setup(d *Device) error {
	var err error
	vert := shaderSource{file: "layer.vert", text: shaders.MustSource("layer.vert")}
	if l.prog, err = d.newProgram(vert, builtin("layer.frag")); err != nil {
		return err
	}
	l.linear = d.newSampler(gl.LINEAR)
	return nil
}

func (l *layerDrawer) release(d *Device) {
	d.deleteProgram(&l.prog)
	d.deleteSampler(&l.linear)
}

// draw blends src over dst at p with opacity (0 to 1). Alpha is straight:
// the canvas's colour becomes src*a + dst*(1-a) with a the source's alpha
// times opacity, and its alpha a + dst.a*(1-a).
func (l *layerDrawer) draw(dst *target, src texture, p scene.Placement, opacity float64) {
	if opacity <= 0 || src.w <= 0 || src.h <= 0 {
		return
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, dst.fbo)
	gl.Viewport(0, 0, int32(dst.tex.w), int32(dst.tex.h))
	gl.UseProgram(l.prog.id)
	pr := l.prog
	gl.Uniform1i(pr.loc("uInput"), 0)
	gl.Uniform1f(pr.loc("uOpacity"), float32(min(opacity, 1)))
	gl.Uniform4f(pr.loc("uDst"), float32(p.Dst[0]), float32(p.Dst[1]), float32(p.Dst[2]), float32(p.Dst[3]))
	sw, sh := float64(src.w), float64(src.h)
	gl.Uniform4f(pr.loc("uSrc"), float32(p.Src[0]/sw), float32(p.Src[1]/sh), float32(p.Src[2]/sw), float32(p.Src[3]/sh))
	gl.Uniform2f(pr.loc("uCenter"), float32(p.Center[0]), float32(p.Center[1]))
	gl.Uniform2f(pr.loc("uRot"), float32(math.Cos(p.Rotation)), float32(math.Sin(p.Rotation)))
	gl.Uniform2f(pr.loc("uTargetSize"), float32(dst.tex.w), float32(dst.tex.h))
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, src.id)
	gl.BindSampler(0, l.linear)
	gl.Enable(gl.BLEND)
	gl.BlendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA)
	gl.DrawArrays(gl.TRIANGLE_STRIP, 0, 4)
	gl.Disable(gl.BLEND)
	gl.BindSampler(0, 0)
}

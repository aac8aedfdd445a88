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
// keeps what is below. A YUV source is drawn from its planes, converted
// only where the layer covers the canvas: converting a whole frame first
// would cost a full-size pass per source.
type layerDrawer struct {
	rgb    *Program
	yuv    [numYUVVariants]*Program // made on first use
	linear uint32                   // sampler: bilinear, clamped to the edge
}

// Picture is what a layer shows and an Analyzer reads: an RGBA texture,
// or the YUV planes of in with the conversion of variant yuv (see
// yuvVariant).
type Picture struct {
	tex  Texture
	in   *inputTextures // YUV when set
	yuv  int
	w, h int
	// premul: tex's colour is premultiplied by its alpha (a nested
	// scene's frame).
	premul bool
}

func layerVert() ShaderSource {
	return ShaderSource{file: "layer.vert", text: shaders.MustSource("layer.vert")}
}

func (l *layerDrawer) setup(d *Device) error {
	var err error
	if l.rgb, err = d.newProgram(layerVert(), builtin("layer.frag")); err != nil {
		return err
	}
	l.linear = d.newSampler(gl.LINEAR)
	return nil
}

func (l *layerDrawer) release(d *Device) {
	d.deleteProgram(&l.rgb)
	for i := range l.yuv {
		d.deleteProgram(&l.yuv[i])
	}
	d.deleteSampler(&l.linear)
}

// program returns the program for src, compiling a YUV variant on first
// use.
func (l *layerDrawer) program(d *Device, src *Picture) (*Program, error) {
	if src.in == nil {
		return l.rgb, nil
	}
	if l.yuv[src.yuv] == nil {
		prog, err := d.newProgram(layerVert(), withYUV(builtin("layer.frag"), src.yuv, "", "SC_LAYER_YUV"))
		if err != nil {
			return nil, err
		}
		l.yuv[src.yuv] = prog
	}
	return l.yuv[src.yuv], nil
}

// draw blends src over dst at p with opacity (0 to 1). Alpha is straight:
// the canvas's colour becomes src*a + dst*(1-a) with a the source's alpha
// times opacity, and its alpha a + dst.a*(1-a).
func (l *layerDrawer) draw(d *Device, dst *Target, src *Picture, p scene.Placement, opacity float64) error {
	if opacity <= 0 || src.w <= 0 || src.h <= 0 {
		return nil
	}
	pr, err := l.program(d, src)
	if err != nil {
		return err
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, dst.fbo)
	gl.Viewport(0, 0, int32(dst.tex.w), int32(dst.tex.h))
	gl.UseProgram(pr.id)
	gl.Uniform1f(pr.loc("uOpacity"), float32(min(opacity, 1)))
	premul := int32(0)
	if src.premul {
		premul = 1
	}
	gl.Uniform1i(pr.loc("uPremultiplied"), premul)
	gl.Uniform4f(pr.loc("uDst"), float32(p.Dst[0]), float32(p.Dst[1]), float32(p.Dst[2]), float32(p.Dst[3]))
	sw, sh := float64(src.w), float64(src.h)
	gl.Uniform4f(pr.loc("uSrc"), float32(p.Src[0]/sw), float32(p.Src[1]/sh), float32(p.Src[2]/sw), float32(p.Src[3]/sh))
	gl.Uniform2f(pr.loc("uCenter"), float32(p.Center[0]), float32(p.Center[1]))
	gl.Uniform2f(pr.loc("uRot"), float32(math.Cos(p.Rotation)), float32(math.Sin(p.Rotation)))
	gl.Uniform2f(pr.loc("uTargetSize"), float32(dst.tex.w), float32(dst.tex.h))
	if src.in != nil {
		src.in.bindYUV(pr)
		for i := range 3 {
			gl.BindSampler(uint32(yuvUnit+i), l.linear)
		}
	} else {
		gl.Uniform1i(pr.loc("uInput"), 0)
		gl.ActiveTexture(gl.TEXTURE0)
		gl.BindTexture(gl.TEXTURE_2D, src.tex.id)
		gl.BindSampler(0, l.linear)
	}
	gl.Enable(gl.BLEND)
	if src.premul {
		gl.BlendFuncSeparate(gl.ONE, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA)
	} else {
		gl.BlendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA)
	}
	gl.DrawArrays(gl.TRIANGLE_STRIP, 0, 4)
	gl.Disable(gl.BLEND)
	if src.in != nil {
		for i := range 3 {
			gl.BindSampler(uint32(yuvUnit+i), 0)
		}
	} else {
		gl.BindSampler(0, 0)
	}
	return nil
}

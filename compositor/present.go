package compositor

import (
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/internal/egl"
)

// GLContext is an OpenGL context made by someone other than the compositor,
// such as a window's (see DeviceOptions.NewContext). It lets a desktop
// preview draw the composited frames straight from their GPU texture: the
// window's context is then the device's context, with no sharing and no
// readback.
//
// A context may also have a method Platform() string naming its platform
// for DeviceInfo ("glfw" and the like); without one the platform is
// reported as "external".
type GLContext interface {
	// ProcAddress resolves a GL entry point, like eglGetProcAddress.
	ProcAddress(name string) unsafe.Pointer
	// Destroy releases the context; it runs on the GL thread when the
	// device closes, with the context current.
	Destroy()
}

// eglContext adapts the headless EGL context to GLContext.
type eglContext struct{ c *egl.Context }

func openEGL(platform string) (GLContext, error) {
	c, err := egl.Open(egl.Options{Only: platform})
	if err != nil {
		return nil, err
	}
	return eglContext{c}, nil
}

func (e eglContext) ProcAddress(name string) unsafe.Pointer { return egl.ProcAddress(name) }
func (e eglContext) Destroy()                               { e.c.Destroy() }
func (e eglContext) Platform() string                       { return e.c.Platform }

func contextPlatform(c GLContext) string {
	if p, ok := c.(interface{ Platform() string }); ok {
		return p.Platform()
	}
	return "external"
}

// PresentFrame describes the final RGBA result of a pipeline's chain, before
// any conversion to the output format.
type PresentFrame struct {
	// Texture is the RGBA8 texture holding the frame and Framebuffer the
	// framebuffer object it is attached to (colour attachment 0), for
	// glBlitFramebuffer. Row 0 of the texture is the top row of the image
	// (the frames' memory order), so a presenter drawing into a window,
	// whose row 0 is at the bottom, flips it.
	Texture, Framebuffer uint32
	Width, Height        int
	// Index counts the pipeline's frames from 0; Timestamp is the input
	// frame's, in microseconds.
	Index     uint64
	Timestamp int64
}

// Presenter shows composited frames, for example in a desktop window.
type Presenter interface {
	// Present runs on the GL thread after the pass chain and before the
	// conversion to the output format and readback. It may change any GL
	// state: the pipeline saves and restores what it relies on (see
	// glState). The objects in f are the pipeline's: read them, never
	// delete or resize them, and do not keep them past the call. A
	// presenter should not block (no vsync wait), since it delays every
	// frame; its GL errors do not fail the frame, so it checks its own.
	Present(f PresentFrame)
}

// SetPresenter attaches p to the pipeline from the next frame; nil removes
// the presenter.
func (p *Pipeline) SetPresenter(pr Presenter) error {
	return p.control(func() error {
		p.presenter = pr
		return nil
	})
}

// present hands the result to the presenter; GL thread, inside render.
func (p *Pipeline) present(r *request) error {
	// Errors up to here belong to the frame: report them before the
	// presenter runs, since its own errors are dropped below.
	if err := glError("rendering frame (before presenting)"); err != nil {
		return err
	}
	// The presenter reads through the framebuffer, which skips the
	// swizzle of an input texture (BGRA, X formats) that no pass has
	// drawn over: hand it a copy, which packing and readback then use too.
	res := p.res.writable(p.res.result)
	p.res.result = res
	var st glState
	st.save()
	p.presenter.Present(PresentFrame{
		Texture:     res.tex.id,
		Framebuffer: res.fbo,
		Width:       res.tex.w,
		Height:      res.tex.h,
		Index:       p.res.frame.info.Index,
		Timestamp:   r.ts,
	})
	for gl.GetError() != gl.NO_ERROR {
	}
	st.restore()
	return nil
}

// glState is the GL state the pipeline's rendering relies on between or
// across its draws, saved around a presenter. Everything else the pipeline
// sets before each use (textures on units, uniforms, draw buffers of its
// own framebuffers).
type glState struct {
	drawFB, readFB, program, vao, arrayBuf int32
	packBuf, unpackBuf, activeTex, tex2D   int32
	sampler0                               int32
	viewport                               [4]int32
	packAlign, unpackAlign                 int32
	packRow, unpackRow                     int32
	blend, scissor, depth, cull, srgb      bool
	blendSrcRGB, blendDstRGB               int32
	blendSrcA, blendDstA                   int32
	colorMask                              [4]bool
	scissorBox                             [4]int32
	clearColor                             [4]float32
}

func (s *glState) save() {
	gl.GetIntegerv(gl.DRAW_FRAMEBUFFER_BINDING, &s.drawFB)
	gl.GetIntegerv(gl.READ_FRAMEBUFFER_BINDING, &s.readFB)
	gl.GetIntegerv(gl.CURRENT_PROGRAM, &s.program)
	gl.GetIntegerv(gl.VERTEX_ARRAY_BINDING, &s.vao)
	gl.GetIntegerv(gl.ARRAY_BUFFER_BINDING, &s.arrayBuf)
	gl.GetIntegerv(gl.PIXEL_PACK_BUFFER_BINDING, &s.packBuf)
	gl.GetIntegerv(gl.PIXEL_UNPACK_BUFFER_BINDING, &s.unpackBuf)
	gl.GetIntegerv(gl.ACTIVE_TEXTURE, &s.activeTex)
	gl.ActiveTexture(gl.TEXTURE0)
	gl.GetIntegerv(gl.TEXTURE_BINDING_2D, &s.tex2D)
	gl.GetIntegerv(gl.SAMPLER_BINDING, &s.sampler0)
	gl.GetIntegerv(gl.VIEWPORT, &s.viewport[0])
	gl.GetIntegerv(gl.PACK_ALIGNMENT, &s.packAlign)
	gl.GetIntegerv(gl.UNPACK_ALIGNMENT, &s.unpackAlign)
	gl.GetIntegerv(gl.PACK_ROW_LENGTH, &s.packRow)
	gl.GetIntegerv(gl.UNPACK_ROW_LENGTH, &s.unpackRow)
	s.blend = gl.IsEnabled(gl.BLEND)
	s.scissor = gl.IsEnabled(gl.SCISSOR_TEST)
	s.depth = gl.IsEnabled(gl.DEPTH_TEST)
	s.cull = gl.IsEnabled(gl.CULL_FACE)
	s.srgb = gl.IsEnabled(gl.FRAMEBUFFER_SRGB)
	gl.GetIntegerv(gl.BLEND_SRC_RGB, &s.blendSrcRGB)
	gl.GetIntegerv(gl.BLEND_DST_RGB, &s.blendDstRGB)
	gl.GetIntegerv(gl.BLEND_SRC_ALPHA, &s.blendSrcA)
	gl.GetIntegerv(gl.BLEND_DST_ALPHA, &s.blendDstA)
	gl.GetBooleanv(gl.COLOR_WRITEMASK, &s.colorMask[0])
	gl.GetIntegerv(gl.SCISSOR_BOX, &s.scissorBox[0])
	gl.GetFloatv(gl.COLOR_CLEAR_VALUE, &s.clearColor[0])
}

func (s *glState) restore() {
	gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, uint32(s.drawFB))
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, uint32(s.readFB))
	// A program deleted while current stays current until unbound; if the
	// presenter unbound it, it is gone and binding its name is an error.
	if prog := uint32(s.program); prog == 0 || gl.IsProgram(prog) {
		gl.UseProgram(prog)
	} else {
		gl.UseProgram(0)
	}
	gl.BindVertexArray(uint32(s.vao))
	gl.BindBuffer(gl.ARRAY_BUFFER, uint32(s.arrayBuf))
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, uint32(s.packBuf))
	gl.BindBuffer(gl.PIXEL_UNPACK_BUFFER, uint32(s.unpackBuf))
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, uint32(s.tex2D))
	gl.BindSampler(0, uint32(s.sampler0))
	gl.ActiveTexture(uint32(s.activeTex))
	gl.Viewport(s.viewport[0], s.viewport[1], s.viewport[2], s.viewport[3])
	gl.PixelStorei(gl.PACK_ALIGNMENT, s.packAlign)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, s.unpackAlign)
	gl.PixelStorei(gl.PACK_ROW_LENGTH, s.packRow)
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, s.unpackRow)
	setEnabled(gl.BLEND, s.blend)
	setEnabled(gl.SCISSOR_TEST, s.scissor)
	setEnabled(gl.DEPTH_TEST, s.depth)
	setEnabled(gl.CULL_FACE, s.cull)
	setEnabled(gl.FRAMEBUFFER_SRGB, s.srgb)
	gl.BlendFuncSeparate(uint32(s.blendSrcRGB), uint32(s.blendDstRGB), uint32(s.blendSrcA), uint32(s.blendDstA))
	gl.ColorMask(s.colorMask[0], s.colorMask[1], s.colorMask[2], s.colorMask[3])
	gl.Scissor(s.scissorBox[0], s.scissorBox[1], s.scissorBox[2], s.scissorBox[3])
	gl.ClearColor(s.clearColor[0], s.clearColor[1], s.clearColor[2], s.clearColor[3])
}

func setEnabled(cap uint32, on bool) {
	if on {
		gl.Enable(cap)
	} else {
		gl.Disable(cap)
	}
}

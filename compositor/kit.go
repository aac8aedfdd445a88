package compositor

import (
	"image"
	"image/draw"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// The kit of pass kinds outside this package (see Pass): GL objects made
// and counted through the Device, shader sources with the compositor's
// conventions, and what a frame offers a pass. All of it runs on the GL
// thread, inside a pass's methods; the passes use go-gl for the rest.
//
// GL state: a pass finds the device's vertex array bound (full-frame
// draws need no buffers), and must leave what it changes as it found it:
// blending, the scissor test, vertex attribute arrays, pixel store
// parameters (PACK_ROW_LENGTH), texture units other than 0 bound to
// nothing it will delete. Programs, framebuffers and the texture on unit 0
// are set by whoever draws next.

// NewShaderSource is a shader's text and the file its errors name; the
// includes name the source strings #line directives in it refer to.
func NewShaderSource(file, text string, includes ...string) ShaderSource {
	return ShaderSource{file: file, text: text, includes: includes}
}

// FullscreenVert is the vertex shader of a full-frame pass (one triangle).
func FullscreenVert() ShaderSource { return fullscreenVert() }

// WithDefines inserts #define lines ("NAME value") after src's #version.
func WithDefines(src ShaderSource, defines ...string) ShaderSource {
	return withPrelude(src, "", "", defines...)
}

// FetchingLuma rewrites a shader that reads its input with
// texelFetch(uInput, ...) to read the luma of a Picture's YUV planes of
// variant v instead (Picture.YUV), one texel fetch per read.
func FetchingLuma(src ShaderSource, v int, defines ...string) ShaderSource {
	return fetchingLuma(src, v, defines...)
}

// NewProgram compiles and links a program; compile errors name src's file
// and line.
func (d *Device) NewProgram(vert, frag ShaderSource) (*Program, error) {
	return d.newProgram(vert, frag)
}

// DeleteProgram frees *p (nil is fine) and sets it to nil.
func (d *Device) DeleteProgram(p **Program) { d.deleteProgram(p) }

// DeleteTexture frees *t and zeroes it.
func (d *Device) DeleteTexture(t *Texture) { d.deleteTexture(t) }

// UploadImage makes a texture of img, row 0 at the top like frames.
func (d *Device) UploadImage(img image.Image) Texture {
	b := img.Bounds()
	rgba, ok := img.(*image.NRGBA)
	if !ok || rgba.Stride != 4*b.Dx() || b.Min != (image.Point{}) {
		rgba = image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	}
	t := d.newTexture(b.Dx(), b.Dy(), gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
	gl.BindTexture(gl.TEXTURE_2D, t.id)
	gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, int32(b.Dx()), int32(b.Dy()), gl.RGBA, gl.UNSIGNED_BYTE, bytesPtr(rgba.Pix))
	return t
}

// NewTarget makes a texture with a framebuffer that renders into it.
func (d *Device) NewTarget(w, h int, internal int32, format, typ uint32) (Target, error) {
	return d.newTarget(w, h, internal, format, typ)
}

// DeleteTarget frees *t and zeroes it.
func (d *Device) DeleteTarget(t *Target) { d.deleteTarget(t) }

// NewPlanes makes two float textures written at once by one framebuffer.
func (d *Device) NewPlanes(w, h int, internal [2]int32, format [2]uint32) (Planes, error) {
	return d.newPlanes(w, h, internal, format)
}

// DeletePlanes frees *p and zeroes it.
func (d *Device) DeletePlanes(p *Planes) { d.deletePlanes(p) }

// NewBuffer makes a buffer object of size bytes.
func (d *Device) NewBuffer(kind uint32, size int, usage uint32) uint32 {
	return d.newBuffer(kind, size, usage)
}

// DeleteBuffer frees *id and zeroes it.
func (d *Device) DeleteBuffer(id *uint32) { d.deleteBuffer(id) }

// NewSampler makes a sampler object with filter, clamped to the edge.
func (d *Device) NewSampler(filter int32) uint32 { return d.newSampler(filter) }

// DeleteSampler frees *id and zeroes it.
func (d *Device) DeleteSampler(id *uint32) { d.deleteSampler(id) }

// DrawFullscreen binds tex to unit 0 and covers dst with one triangle; the
// program and its uniforms must be set.
func DrawFullscreen(tex uint32, dst *Target) { drawFullscreen(tex, dst) }

// GLError returns the GL error pending after step, if any.
func GLError(step string) error { return glError(step) }

// BytesPtr is the address GL reads or writes b through (nil when empty).
func BytesPtr(b []byte) unsafe.Pointer { return bytesPtr(b) }

// ID is the program's GL name.
func (p *Program) ID() uint32 { return p.id }

// Loc is the location of uniform name, -1 when the program has none.
func (p *Program) Loc(name string) int32 { return p.loc(name) }

// Samplers counts the program's sampler2D uniforms: the texture units it
// needs.
func (p *Program) Samplers() int {
	n := 0
	for _, u := range p.uniforms {
		if u.typ == gl.SAMPLER_2D {
			n++
		}
	}
	return n
}

// ID is the texture's GL name.
func (t Texture) ID() uint32 { return t.id }

// W is the texture's width.
func (t Texture) W() int { return t.w }

// H is the texture's height.
func (t Texture) H() int { return t.h }

// FBO is the target's framebuffer.
func (t *Target) FBO() uint32 { return t.fbo }

// Texture is what the target renders into.
func (t *Target) Texture() Texture { return t.tex }

// Draw covers the planes with one triangle, src0 and src1 on units 0 and 1.
func (p *Planes) Draw(src0, src1 uint32) { p.draw(src0, src1) }

// Texture is plane i (0 or 1).
func (p *Planes) Texture(i int) Texture { return p.tex[i] }

// Report hands on v, what the pass found in the frame (its own type), to
// the Output the frame's results go to (Output.Results or
// LayerResult.Results). v belongs to that Output from then on: the pass
// must not keep or change it, or a later frame would change an earlier
// Output. To report without allocating per frame, a pass fills what
// Recycled returns when it is of its own type.
func (f *Frame) Report(v any) { f.results = append(f.results, v) }

// Recycled is what was reported at the place of the next Report in the
// Output this frame's results go to, the last time that Output was filled
// (nil when none): storage the pass may refill and Report again, when it
// has the pass's type (a pass of another kind may have reported there).
func (f *Frame) Recycled() any {
	if n := len(f.results); n < cap(f.results) {
		return f.results[:n+1][n]
	}
	return nil
}

// Info is the frame as the pass sees it: its index, timestamp and size.
func (f *Frame) Info() FrameInfo { return f.info }

// Device is the device the frame renders on.
func (f *Frame) Device() *Device { return f.dev }

// Settle waits for the passes issued before in this frame, in order: call
// it before a readback, so that a slow pass is known by name.
func (f *Frame) Settle() { f.settle() }

// Writable returns a target with src's pixels that the pass may draw into
// in place (src itself, or a copy).
func (f *Frame) Writable(src *Target) *Target { return f.writable(src) }

// MarkChanged says what the pipeline's Passes describe changed (an ISF
// event input fell back to false).
func (f *Frame) MarkChanged() { f.pl.dirty = true }

// AudioTextures are the sound on air as ISF's audio and audioFFT images
// (Pipeline.SetAudio).
func (f *Frame) AudioTextures() (wave, spectrum Texture) { return f.pl.audio.textures(f.dev) }

// YUVVariants counts the YUV conversions (Picture.YUV): I420 or NV12,
// times BT.601 or BT.709, times limited or full range.
const YUVVariants = numYUVVariants

// PictureOf is t's texture as a Picture (an Analyzer's Render reads its
// input as Analyze reads a layer's source).
func PictureOf(t *Target) Picture { return Picture{tex: t.tex, w: t.tex.w, h: t.tex.h} }

// UniformError is the error of SetUniform for a name or a value's type
// that a pass does not take.
func UniformError(pass, name string, v any) error { return errUniform(pass, name, v) }

// Texture is the picture's RGBA texture; for YUV planes, the Y plane.
func (p *Picture) Texture() Texture {
	if p.in != nil {
		return p.in.planes[0]
	}
	return p.tex
}

// YUV reports whether the picture is a frame's YUV planes, and their
// conversion variant (for FetchingLuma).
func (p *Picture) YUV() (variant int, ok bool) { return p.yuv, p.in != nil }

// BindYUV binds the planes to prog's sc_Y, sc_U and sc_V (a program from
// FetchingLuma); it does nothing for a picture that is no YUV planes
// (YUV's ok false).
func (p *Picture) BindYUV(prog *Program) {
	if p.in != nil {
		p.in.bindYUV(prog)
	}
}

// Size is the picture's width and height.
func (p *Picture) Size() (int, int) { return p.w, p.h }

package compositor

import (
	"fmt"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/media"
)

// inputTextures hold one input frame on the GPU: its YUV planes, or its
// RGB texture (with a framebuffer), and their unpack buffers. A pipeline has
// one for Process's frame and one per source of a composition.
type inputTextures struct {
	format media.PixelFormat
	w, h   int

	planes  [3]Texture // YUV planes
	input   Target     // RGB: upload texture with its framebuffer
	swizzle bool       // input's texture swizzles (BGRA, X formats)
	pbo     [3]uint32  // unpack buffers, when uploads go through them
	usePBO  bool
}

// allocate makes the textures for w x h frames of format f.
func (in *inputTextures) allocate(d *Device, f media.PixelFormat, w, h int, mode UploadMode) error {
	in.release(d)
	in.usePBO = mode == UploadPBO || mode == UploadAuto && !d.info.Software
	n := f.NumPlanes()
	if f.IsYUV() {
		for i := 0; i < n; i++ {
			pw, ph := w, h
			if i > 0 {
				pw, ph = (w+1)/2, (h+1)/2
			}
			internal, pf, _ := planeFormat(f, i)
			in.planes[i] = d.newTexture(pw, ph, internal, pf, gl.UNSIGNED_BYTE)
		}
	} else {
		t, err := d.newTarget(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
		if err != nil {
			return err
		}
		in.input = t
		// Swizzles do the BGRA and X conversions for free at sampling.
		in.swizzle = f != media.RGBA
		gl.BindTexture(gl.TEXTURE_2D, t.tex.id)
		red, blue, alpha := int32(gl.RED), int32(gl.BLUE), int32(gl.ALPHA)
		if f == media.BGRA || f == media.BGRX {
			red, blue = gl.BLUE, gl.RED
		}
		if f == media.RGBX || f == media.BGRX {
			alpha = gl.ONE
		}
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_SWIZZLE_R, red)
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_SWIZZLE_B, blue)
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_SWIZZLE_A, alpha)
	}
	if in.usePBO {
		for i := 0; i < n; i++ {
			in.pbo[i] = d.newBuffer(gl.PIXEL_UNPACK_BUFFER, 0, gl.STREAM_DRAW)
		}
	}
	in.format, in.w, in.h = f, w, h
	return nil
}

func (in *inputTextures) release(d *Device) {
	for i := range in.planes {
		d.deleteTexture(&in.planes[i])
	}
	d.deleteTarget(&in.input)
	for i := range in.pbo {
		d.deleteBuffer(&in.pbo[i])
	}
	in.format, in.w, in.h, in.swizzle = media.FormatUnknown, 0, 0, false
}

// upload puts the frame's planes into textures. For RGB it returns the
// target holding the frame; for YUV it returns nil, and convert (or a pass
// fused with the conversion) makes the RGBA.
func (in *inputTextures) upload(frame media.VideoFrame) (*Target, error) {
	f := frame.Format()
	for i := 0; i < f.NumPlanes(); i++ {
		pl, err := frame.Plane(i)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFrame, err)
		}
		tex := in.planes[i]
		if !f.IsYUV() {
			tex = in.input.tex
		}
		_, pf, bpp := planeFormat(f, i)
		in.uploadPlane(i, tex, pf, bpp, pl)
	}
	if !f.IsYUV() {
		return &in.input, nil
	}
	return nil, nil
}

// bindYUV points the samplers of yuv.glsl on the current program at the
// planes.
func (in *inputTextures) bindYUV(prog *Program) {
	for i, name := range [3]string{"sc_Y", "sc_U", "sc_V"} {
		gl.Uniform1i(prog.loc(name), int32(yuvUnit+i))
		gl.ActiveTexture(gl.TEXTURE0 + uint32(yuvUnit+i))
		gl.BindTexture(gl.TEXTURE_2D, in.planes[i].id)
	}
	gl.ActiveTexture(gl.TEXTURE0)
}

func (in *inputTextures) uploadPlane(i int, tex Texture, pf uint32, bpp int, pl media.Plane) {
	gl.BindTexture(gl.TEXTURE_2D, tex.id)
	n := pl.Stride*(pl.Height-1) + pl.Width*bpp
	data := pl.Data[:n]
	var src unsafe.Pointer = bytesPtr(data)
	if in.usePBO {
		// Orphaning gives the driver a fresh buffer each frame, so the
		// copy never waits for the GPU to finish reading the last one.
		gl.BindBuffer(gl.PIXEL_UNPACK_BUFFER, in.pbo[i])
		gl.BufferData(gl.PIXEL_UNPACK_BUFFER, n, nil, gl.STREAM_DRAW)
		gl.BufferSubData(gl.PIXEL_UNPACK_BUFFER, 0, n, src)
		src = nil
	}
	if pl.Stride%bpp == 0 {
		gl.PixelStorei(gl.UNPACK_ROW_LENGTH, int32(pl.Stride/bpp))
		gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, int32(pl.Width), int32(pl.Height), pf, gl.UNSIGNED_BYTE, src)
	} else {
		// A stride that is no whole number of texels: row by row.
		gl.PixelStorei(gl.UNPACK_ROW_LENGTH, 0)
		for y := 0; y < pl.Height; y++ {
			gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, int32(y), int32(pl.Width), 1, pf, gl.UNSIGNED_BYTE, unsafe.Add(src, y*pl.Stride))
		}
	}
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, 0)
	if in.usePBO {
		gl.BindBuffer(gl.PIXEL_UNPACK_BUFFER, 0)
	}
}

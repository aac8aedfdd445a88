package compositor

import (
	"fmt"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/media"
)

// packedI420 is an image in I420 packed four samples per RGBA8 texel
// (pack_i420.frag), so that one small glReadPixels returns all three
// planes: the output's, and each rendition's.
type packedI420 struct {
	t      Target
	w, h   int    // the image's size in pixels
	texels [2]int // texels per row; texels per chroma plane row
}

func (d *Device) newPackedI420(w, h int) (packedI420, error) {
	cw := (w + 1) / 2
	ct := (cw + 3) / 4
	tw := max((w+3)/4, 2*ct)
	t, err := d.newTarget(tw, h+(h+1)/2, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
	if err != nil {
		return packedI420{}, err
	}
	return packedI420{t: t, w: w, h: h, texels: [2]int{tw, ct}}, nil
}

// size is the byte size of the packed image.
func (pk *packedI420) size() int { return 4 * pk.t.tex.w * pk.t.tex.h }

// packInto converts src (pk's size) to I420 in pk: one draw per plane
// region, each a branch-free program.
func (r *resources) packInto(src *Target, pk *packedI420) {
	h := int32(pk.h)
	ch := int32((pk.h + 1) / 2)
	tw, ct := int32(pk.texels[0]), int32(pk.texels[1])
	gl.BindFramebuffer(gl.FRAMEBUFFER, pk.t.fbo)
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, src.tex.id)
	gl.BindSampler(0, r.linear)
	for i, prog := range r.packProg {
		gl.UseProgram(prog.id)
		gl.Uniform1i(prog.loc("uInput"), 0)
		gl.Uniform2i(prog.loc("uInputSize"), int32(pk.w), h)
		gl.Uniform2i(prog.loc("uTexels"), tw, ct)
		switch i {
		case 0:
			gl.Viewport(0, 0, tw, h)
		case 1:
			gl.Viewport(0, h, ct, ch)
		case 2:
			gl.Viewport(ct, h, ct, ch)
		}
		gl.DrawArrays(gl.TRIANGLES, 0, 3)
	}
	gl.BindSampler(0, 0)
}

// readInto starts reading the packed image into the pixel-pack buffer pbo
// (of at least pk.size() bytes).
func (pk *packedI420) readInto(pbo uint32) {
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, pk.t.fbo)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, pbo)
	gl.ReadPixels(0, 0, int32(pk.t.tex.w), int32(pk.t.tex.h), gl.RGBA, gl.UNSIGNED_BYTE, nil)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
}

// mapped unpacks what readInto read into pbo, once its fence signalled.
func (pk *packedI420) mapped(pbo uint32, ts, dur int64, cs media.ColorSpace) (media.VideoFrame, error) {
	n := pk.size()
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, pbo)
	defer gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
	ptr := gl.MapBufferRange(gl.PIXEL_PACK_BUFFER, 0, n, gl.MAP_READ_BIT)
	if ptr == nil {
		return media.VideoFrame{}, fmt.Errorf("compositor: mapping readback buffer failed: %w", glError("glMapBufferRange"))
	}
	out, err := pk.unpack(unsafe.Slice((*byte)(ptr), n), ts, dur, cs)
	gl.UnmapBuffer(gl.PIXEL_PACK_BUFFER)
	return out, err
}

// unpack copies the packed image src into a new I420 frame.
func (pk *packedI420) unpack(src []byte, ts, dur int64, cs media.ColorSpace) (media.VideoFrame, error) {
	out, err := media.AllocVideoFrame(media.VideoFrameInit{
		Format: media.I420, CodedWidth: pk.w, CodedHeight: pk.h,
		Timestamp: ts, Duration: dur, ColorSpace: cs,
	})
	if err != nil {
		return media.VideoFrame{}, err
	}
	rowBytes := 4 * pk.texels[0]
	vOff := 4 * pk.texels[1]
	for i := 0; i < 3; i++ {
		pl, _ := out.Plane(i)
		for y := 0; y < pl.Height; y++ {
			var s int
			switch i {
			case 0:
				s = y * rowBytes
			case 1:
				s = (pk.h + y) * rowBytes
			case 2:
				s = (pk.h+y)*rowBytes + vOff
			}
			copy(pl.Data[y*pl.Stride:y*pl.Stride+pl.Width], src[s:s+pl.Width])
		}
	}
	return out, nil
}

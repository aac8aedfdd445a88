package vp8

// #include "scv8.h"
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/shadercast/shadercast/media"
)

// ErrNoFrame is returned by Decode when a packet decoded without error but
// produced no picture to show (an invisible VP8 frame).
var ErrNoFrame = errors.New("vp8: packet produced no frame")

// Decoder decodes VP8 packets to I420 media.VideoFrames. It is not safe for
// concurrent use.
type Decoder struct {
	c *C.scv8_dec
	// maxW and maxH bound keyframe sizes (SetMaxSize); 0 means no bound.
	maxW, maxH int
}

// SetMaxSize makes Decode refuse, before libvpx allocates for it, any
// keyframe wider than w or taller than h pixels (an error wrapping
// ErrTooLarge). Interframes need no check: they have the size of the last
// keyframe. w or h 0 lifts the bound.
func (d *Decoder) SetMaxSize(w, h int) { d.maxW, d.maxH = w, h }

// NewDecoder creates a decoder using threads threads (0 means 1).
func NewDecoder(threads int) (*Decoder, error) {
	if threads < 0 || threads > 64 {
		return nil, fmt.Errorf("vp8: invalid thread count %d", threads)
	}
	c := newCDec()
	if c == nil {
		return nil, errors.New("vp8: out of memory")
	}
	if code := C.scv8_dec_init(c, C.int(max(1, threads))); code != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(c))
		return nil, vpxError("decoder init", code, nil)
	}
	return &Decoder{c: c}, nil
}

// Decode decodes one VP8 frame and returns it as a new pooled I420 frame
// with the given timestamp (microseconds); the caller must close it. The
// decoder's own picture buffer is reused for the next frame, so the rows
// are copied out. A packet that libvpx rejects (truncated, corrupt, or a
// delta frame before any keyframe) or decodes with the corrupted flag set
// is an error; no frame is returned then, and a decoder that reported
// corruption needs a keyframe to produce trustworthy pictures again.
func (d *Decoder) Decode(data []byte, timestamp int64) (media.VideoFrame, error) {
	if d.c == nil {
		return media.VideoFrame{}, ErrClosed
	}
	if len(data) == 0 {
		// libvpx takes an empty packet as "frame lost" and repeats the last
		// picture; callers that mean that should say so explicitly.
		return media.VideoFrame{}, errors.New("vp8: decode: empty packet")
	}
	if uint64(len(data)) > 1<<31 {
		return media.VideoFrame{}, errors.New("vp8: decode: packet too large")
	}
	if d.maxW > 0 && d.maxH > 0 {
		hd, err := ParseFrameHeader(data)
		if err != nil {
			return media.VideoFrame{}, fmt.Errorf("vp8: decode: %w", err)
		}
		if hd.Keyframe && (hd.Width > d.maxW || hd.Height > d.maxH) {
			return media.VideoFrame{}, fmt.Errorf("%w: %dx%d, at most %dx%d", ErrTooLarge, hd.Width, hd.Height, d.maxW, d.maxH)
		}
	}
	code := C.scv8_dec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(data))), C.uint(len(data)))
	if code != C.VPX_CODEC_OK {
		return media.VideoFrame{}, vpxError("decode", code, C.scv8_dec_error(d.c))
	}
	if d.c.corrupt != 0 {
		return media.VideoFrame{}, errors.New("vp8: decode: frame is corrupt (missing reference or damaged data)")
	}
	img := d.c.img
	if img == nil {
		return media.VideoFrame{}, ErrNoFrame
	}
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return media.VideoFrame{}, fmt.Errorf("vp8: decode: unexpected image format %d", int(img.fmt))
	}
	w, h := int(img.d_w), int(img.d_h)
	f, err := media.AllocVideoFrame(media.VideoFrameInit{
		Format: media.I420, CodedWidth: w, CodedHeight: h, Timestamp: timestamp,
		// VP8 is BT.601 limited range.
		ColorSpace: media.ColorSpace{Matrix: media.MatrixBT601},
	})
	if err != nil {
		return media.VideoFrame{}, fmt.Errorf("vp8: decode: %w", err)
	}
	for i := range 3 {
		p, err := f.Plane(i)
		if err != nil {
			f.Close()
			return media.VideoFrame{}, fmt.Errorf("vp8: decode: %w", err)
		}
		src, stride := img.planes[i], int(img.stride[i])
		for y := range p.Height {
			row := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(src), y*stride)), p.Width)
			copy(p.Data[y*p.Stride:], row)
		}
	}
	return f, nil
}

// Close frees the decoder. It is idempotent.
func (d *Decoder) Close() error {
	if d.c != nil {
		C.scv8_dec_free(d.c)
		d.c = nil
	}
	return nil
}

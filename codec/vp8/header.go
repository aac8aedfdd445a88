package vp8

import (
	"errors"
	"fmt"
)

// FrameHeader is the uncompressed data chunk that starts every VP8 frame
// (RFC 6386 section 9.1): a 3-byte frame tag, and on keyframes a start code
// and the picture size. It is all a receiver needs to refuse a frame before
// libvpx allocates anything for it: only keyframes carry a size, and every
// later interframe has the size of the last keyframe.
type FrameHeader struct {
	Keyframe bool
	// Version is the 3-bit profile (0-3; decoders refuse others).
	Version int
	// Show is false for frames that only update references.
	Show bool
	// FirstPartitionSize is the byte size of the first partition, which
	// follows the header (10 bytes on keyframes, 3 otherwise).
	FirstPartitionSize int
	// Width and Height are the picture size in pixels (14 bits each),
	// HorizontalScale and VerticalScale the 2-bit upscaling codes; all
	// zero on interframes.
	Width, Height                  int
	HorizontalScale, VerticalScale int
}

// ErrTooLarge wraps the error of a keyframe larger than a decoder's
// maximum (Decoder.SetMaxSize).
var ErrTooLarge = errors.New("vp8: picture larger than allowed")

// ParseFrameHeader reads the uncompressed header of one VP8 frame. It
// refuses what libvpx would (a truncated header or first partition, a
// keyframe without the 9d 01 2a start code, a zero-sized picture, a
// profile above 3), so that Decode can rely on the size it reports.
func ParseFrameHeader(b []byte) (FrameHeader, error) {
	if len(b) < 3 {
		return FrameHeader{}, fmt.Errorf("vp8: frame of %d bytes is shorter than its 3-byte tag", len(b))
	}
	tag := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	h := FrameHeader{
		Keyframe:           tag&1 == 0,
		Version:            int(tag>>1) & 7,
		Show:               tag>>4&1 == 1,
		FirstPartitionSize: int(tag >> 5),
	}
	if h.Version > 3 {
		return h, fmt.Errorf("vp8: unknown profile %d", h.Version)
	}
	n := 3
	if h.Keyframe {
		n = 10
		if len(b) < n {
			return h, fmt.Errorf("vp8: keyframe of %d bytes is shorter than its 10-byte header", len(b))
		}
		if b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
			return h, fmt.Errorf("vp8: keyframe start code is % x, not 9d 01 2a", b[3:6])
		}
		w, v := int(b[6])|int(b[7])<<8, int(b[8])|int(b[9])<<8
		h.Width, h.HorizontalScale = w&0x3fff, w>>14
		h.Height, h.VerticalScale = v&0x3fff, v>>14
		if h.Width == 0 || h.Height == 0 {
			return h, fmt.Errorf("vp8: keyframe of %dx%d pixels", h.Width, h.Height)
		}
	}
	if h.FirstPartitionSize > len(b)-n {
		return h, fmt.Errorf("vp8: first partition of %d bytes in a frame of %d", h.FirstPartitionSize, len(b))
	}
	return h, nil
}

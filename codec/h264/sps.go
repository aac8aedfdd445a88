package h264

import (
	"errors"
	"fmt"
)

// NAL unit types this package looks at (ITU-T H.264 table 7-1).
const (
	NALSlice    = 1
	NALIDRSlice = 5
	NALSEI      = 6
	NALSPS      = 7
	NALPPS      = 8
	NALAUD      = 9
	NALSTAPA    = 24 // RTP aggregation (RFC 6184), never in Annex B
	NALFUA      = 28 // RTP fragmentation (RFC 6184), never in Annex B
)

// ErrTooLarge is returned by Decode for a sequence whose pictures exceed
// the size set with Decoder.SetMaxSize.
var ErrTooLarge = errors.New("h264: picture larger than allowed")

// NALUnits splits an Annex B byte stream (NAL units after 3- or 4-byte
// start codes) into its NAL units, without their start codes; a stream
// that does not start with a start code is one NAL unit. The units are
// slices of b.
func NALUnits(b []byte) [][]byte {
	var out [][]byte
	for nal, rest := nextNAL(b); nal != nil; nal, rest = nextNAL(rest) {
		out = append(out, nal)
	}
	return out
}

// nextNAL returns the first NAL unit of the Annex B stream b and what
// follows it (from its start code on); nil when b holds none. It
// allocates nothing, for the per-frame paths.
func nextNAL(b []byte) (nal, rest []byte) {
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			end := i
			if end > start && b[end-1] == 0 {
				end-- // a 4-byte start code's leading zero
			}
			return b[start:end], b[i:]
		}
		start = i + 3
		i += 2
	}
	switch {
	case start >= 0 && start <= len(b):
		return b[start:], nil
	case start < 0 && len(b) > 0:
		return b, nil
	}
	return nil, nil
}

// SPS is what shadercast reads of a sequence parameter set.
type SPS struct {
	Profile     byte // profile_idc: 66 baseline, 77 main, 100 high, ...
	Constraints byte // constraint_set0..5 flags, high bit first
	Level       byte // level_idc: 31 is level 3.1
	// Width and Height are the picture's size after cropping.
	Width, Height int
}

// ConstrainedBaseline reports whether the SPS declares the constrained
// baseline profile (baseline with constraint_set1: no FMO, ASO or
// redundant slices), which every WebRTC endpoint decodes.
func (s SPS) ConstrainedBaseline() bool {
	return s.Profile == 66 && s.Constraints&0x40 != 0
}

// ParseSPS reads a sequence parameter set NAL unit (its header byte
// included, no start code). It reads only up to the picture size and
// cropping, and fails on anything out of the standard's ranges, so that a
// hostile stream cannot make it loop or allocate.
func ParseSPS(nal []byte) (SPS, error) {
	if len(nal) < 4 || nal[0]&0x1f != NALSPS {
		return SPS{}, errors.New("h264: not an SPS")
	}
	r := bitReader{b: unescape(nal[1:])}
	var s SPS
	s.Profile, s.Constraints, s.Level = byte(r.bits(8)), byte(r.bits(8)), byte(r.bits(8))
	if r.ue() > 31 { // seq_parameter_set_id
		return SPS{}, errors.New("h264: SPS id out of range")
	}
	chroma := uint32(1)
	switch s.Profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		if chroma = r.ue(); chroma > 3 {
			return SPS{}, errors.New("h264: chroma_format_idc out of range")
		}
		if chroma == 3 {
			r.bits(1) // separate_colour_plane_flag
		}
		if r.ue() > 6 || r.ue() > 6 { // bit depths
			return SPS{}, errors.New("h264: bit depth out of range")
		}
		r.bits(1)           // qpprime_y_zero_transform_bypass_flag
		if r.bits(1) == 1 { // seq_scaling_matrix_present_flag
			n := 8
			if chroma == 3 {
				n = 12
			}
			for i := 0; i < n; i++ {
				if r.bits(1) == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					last, next := int32(8), int32(8)
					for j := 0; j < size && next != 0; j++ {
						next = (last + r.se() + 256) % 256
						if next != 0 {
							last = next
						}
					}
				}
			}
		}
	}
	if r.ue() > 12 { // log2_max_frame_num_minus4
		return SPS{}, errors.New("h264: log2_max_frame_num out of range")
	}
	switch r.ue() { // pic_order_cnt_type
	case 0:
		if r.ue() > 12 {
			return SPS{}, errors.New("h264: log2_max_pic_order_cnt_lsb out of range")
		}
	case 1:
		r.bits(1)
		r.se()
		r.se()
		n := r.ue()
		if n > 255 {
			return SPS{}, errors.New("h264: num_ref_frames_in_pic_order_cnt_cycle out of range")
		}
		for range n {
			r.se()
		}
	case 2:
	default:
		return SPS{}, errors.New("h264: pic_order_cnt_type out of range")
	}
	r.ue()    // max_num_ref_frames
	r.bits(1) // gaps_in_frame_num_value_allowed_flag
	wmbs, hmaps := r.ue()+1, r.ue()+1
	frameMBsOnly := r.bits(1)
	if frameMBsOnly == 0 {
		r.bits(1) // mb_adaptive_frame_field_flag
	}
	r.bits(1) // direct_8x8_inference_flag
	var cl, cr, ct, cb uint32
	if r.bits(1) == 1 {
		cl, cr, ct, cb = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err != nil {
		return SPS{}, fmt.Errorf("h264: SPS: %w", r.err)
	}
	if wmbs > 1<<12 || hmaps > 1<<12 {
		return SPS{}, fmt.Errorf("h264: SPS: picture of %dx%d macroblocks", wmbs, hmaps)
	}
	w, h := int(wmbs)*16, int(hmaps)*16*int(2-frameMBsOnly)
	cx, cy := 1, int(2-frameMBsOnly)
	if chroma == 1 || chroma == 2 {
		cx = 2
	}
	if chroma == 1 {
		cy *= 2
	}
	w -= cx * int(min(cl+cr, 1<<16))
	h -= cy * int(min(ct+cb, 1<<16))
	if w <= 0 || h <= 0 {
		return SPS{}, errors.New("h264: SPS: cropped to nothing")
	}
	s.Width, s.Height = w, h
	return s, nil
}

// unescape removes emulation prevention bytes (00 00 03 → 00 00).
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// bitReader reads big-endian bits and Exp-Golomb codes; past the end it
// reads zeros and remembers the error.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

var errShort = errors.New("truncated")

func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		if r.pos >= 8*len(r.b) {
			r.err = errShort
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ue reads an unsigned Exp-Golomb code (at most 32 bits of value).
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.bits(1) == 0 {
		if r.err != nil {
			return 0
		}
		if zeros++; zeros > 31 {
			r.err = errors.New("Exp-Golomb code too long")
			return 0
		}
	}
	return (1<<zeros - 1) + r.bits(zeros)
}

// se reads a signed Exp-Golomb code.
func (r *bitReader) se() int32 {
	k := r.ue()
	if k&1 == 1 {
		return int32(k/2 + 1)
	}
	return -int32(k / 2)
}

// IsKeyframe reports whether the access unit au (Annex B) holds an IDR
// slice: a picture a decoder can start from.
func IsKeyframe(au []byte) bool {
	for nal, rest := nextNAL(au); nal != nil; nal, rest = nextNAL(rest) {
		if len(nal) > 0 && nal[0]&0x1f == NALIDRSlice {
			return true
		}
	}
	return false
}

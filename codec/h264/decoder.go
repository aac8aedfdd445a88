package h264

// #include "sch264.h"
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/shadercast/shadercast/media"
)

// ErrNoFrame is returned by Decode when an access unit decoded without
// error but gave no picture (parameter sets alone, for example).
var ErrNoFrame = errors.New("h264: access unit produced no frame")

// Decoder decodes H.264 access units (baseline, main and high profile,
// progressive, 4:2:0, 8 bits) to I420 media.VideoFrames. It is not safe
// for concurrent use.
type Decoder struct {
	c          *C.sch264_dec
	maxW, maxH int
	// sps is the size the last SPS declared: pictures of a stream whose
	// SPS was too large are refused until a new SPS comes.
	spsW, spsH int
}

// NewDecoder creates a decoder.
func NewDecoder() (*Decoder, error) {
	c := (*C.sch264_dec)(C.calloc(1, C.size_t(unsafe.Sizeof(C.sch264_dec{}))))
	if c == nil {
		return nil, errors.New("h264: out of memory")
	}
	if rc := C.sch264_dec_init(c); rc != 0 {
		C.sch264_dec_free(c)
		return nil, fmt.Errorf("h264: decoder init failed (openh264 error %d)", int(rc))
	}
	return &Decoder{c: c}, nil
}

// SetMaxSize makes Decode refuse, before openh264 allocates for it, any
// sequence whose SPS declares pictures wider than w or taller than h (an
// error wrapping ErrTooLarge). w or h 0 lifts the bound.
func (d *Decoder) SetMaxSize(w, h int) { d.maxW, d.maxH = w, h }

// Decode decodes one access unit (Annex B: NAL units after start codes)
// with its timestamp (microseconds, not negative) and returns a picture
// as a new pooled I420 frame, with the timestamp of the access unit it
// came from; the caller must close it. Baseline streams give each
// access unit's picture at once; main and high profile ones may give it
// one call later (ErrNoFrame the first time; Flush at the end). A unit openh264
// reports an error for (damaged, or a slice whose reference is missing)
// gives an error and no frame; the stream then needs an IDR.
func (d *Decoder) Decode(data []byte, timestamp int64) (media.VideoFrame, error) {
	if d.c == nil {
		return media.VideoFrame{}, ErrClosed
	}
	if len(data) == 0 {
		return media.VideoFrame{}, errors.New("h264: decode: empty access unit")
	}
	if len(data) > 1<<30 {
		return media.VideoFrame{}, errors.New("h264: decode: access unit too large")
	}
	for nal, rest := nextNAL(data); nal != nil; nal, rest = nextNAL(rest) {
		if len(nal) == 0 || nal[0]&0x1f != NALSPS {
			continue
		}
		sps, err := ParseSPS(nal)
		if err != nil {
			return media.VideoFrame{}, fmt.Errorf("h264: decode: %w", err)
		}
		d.spsW, d.spsH = sps.Width, sps.Height
	}
	if d.maxW > 0 && d.maxH > 0 && (d.spsW > d.maxW || d.spsH > d.maxH) {
		return media.VideoFrame{}, fmt.Errorf("%w: %dx%d, at most %dx%d", ErrTooLarge, d.spsW, d.spsH, d.maxW, d.maxH)
	}
	if timestamp < 0 {
		return media.VideoFrame{}, errors.New("h264: decode: negative timestamp")
	}
	state := C.sch264_dec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(data))), C.int(len(data)), C.int64_t(timestamp))
	if state != 0 {
		return media.VideoFrame{}, fmt.Errorf("h264: decode: openh264 state %#x (%s)", int(state), decodingState(int(state)))
	}
	return d.picture()
}

// Flush returns a picture the decoder held back (main and high profile
// streams may be held one access unit, in case of reordering), or
// ErrNoFrame: call it at the end of a stream until ErrNoFrame.
func (d *Decoder) Flush() (media.VideoFrame, error) {
	if d.c == nil {
		return media.VideoFrame{}, ErrClosed
	}
	if state := C.sch264_dec_flush(d.c); state != 0 {
		return media.VideoFrame{}, ErrNoFrame
	}
	return d.picture()
}

// picture copies out the picture of the last call, if it made one, with
// the timestamp its access unit came with.
func (d *Decoder) picture() (media.VideoFrame, error) {
	info := &d.c.info
	if info.iBufferStatus != 1 {
		return media.VideoFrame{}, ErrNoFrame
	}
	sys := (*C.SSysMEMBuffer)(unsafe.Pointer(&info.UsrData))
	w, h := int(sys.iWidth), int(sys.iHeight)
	if w <= 0 || h <= 0 || w > media.MaxDimension || h > media.MaxDimension {
		return media.VideoFrame{}, fmt.Errorf("h264: decode: picture %dx%d", w, h)
	}
	f, err := media.AllocVideoFrame(media.VideoFrameInit{
		Format: media.I420, CodedWidth: w, CodedHeight: h, Timestamp: int64(info.uiOutYuvTimeStamp),
		// Without VUI colour information H.264 is BT.601 limited range.
		ColorSpace: media.ColorSpace{Matrix: media.MatrixBT601},
	})
	if err != nil {
		return media.VideoFrame{}, fmt.Errorf("h264: decode: %w", err)
	}
	strides := [3]int{int(sys.iStride[0]), int(sys.iStride[1]), int(sys.iStride[1])}
	for i := range 3 {
		p, err := f.Plane(i)
		if err != nil {
			f.Close()
			return media.VideoFrame{}, fmt.Errorf("h264: decode: %w", err)
		}
		src := d.c.planes[i]
		if src == nil {
			f.Close()
			return media.VideoFrame{}, errors.New("h264: decode: a plane is missing")
		}
		for y := range p.Height {
			row := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(src), y*strides[i])), p.Width)
			copy(p.Data[y*p.Stride:], row)
		}
	}
	return f, nil
}

// decodingState names the bits of openh264's DECODING_STATE.
func decodingState(s int) string {
	names := map[int]string{0x01: "frame pending", 0x02: "reference lost", 0x04: "bitstream error",
		0x08: "dependent layer lost", 0x10: "no parameter sets", 0x20: "data error concealed",
		0x40: "reference list null", 0x1000: "invalid argument", 0x2000: "initialisation expected",
		0x4000: "out of memory", 0x8000: "destination buffer too small"}
	out := ""
	for bit := 1; bit <= 0x8000; bit <<= 1 {
		if s&bit == 0 {
			continue
		}
		n, ok := names[bit]
		if !ok {
			n = fmt.Sprintf("%#x", bit)
		}
		if out != "" {
			out += ", "
		}
		out += n
	}
	return out
}

// Close frees the decoder. It is idempotent.
func (d *Decoder) Close() error {
	if d.c != nil {
		C.sch264_dec_free(d.c)
		d.c = nil
	}
	return nil
}

// Package h264 is a thin cgo layer over Cisco's openh264 (BSD-2-Clause):
// the H.264 encoder of shadercast's WebRTC output and the decoder of its
// WHIP ingest, in the shape of package vp8.
//
// openh264, not FFmpeg's libavcodec: it is what browsers ship for WebRTC
// H.264, it encodes constrained baseline (the profile every WebRTC
// endpoint decodes) and decodes baseline, main and high, and its licence
// fits shadercast's (Debian builds libavcodec with --enable-gpl, which
// would make the combined program GPL). libx264 is GPL too.
//
// The encoder takes media.VideoFrame I420 planes in place for one call,
// stamps packets with the frames' own microsecond timestamps, never skips
// a frame, and makes an IDR on request (PLI/FIR). Packets are access
// units in Annex B form (start codes), as pion's H.264 payloader and MP4
// muxers want them; every IDR carries its SPS and PPS.
package h264

// #include "sch264.h"
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"github.com/shadercast/shadercast/codec/internal/videoin"
	"github.com/shadercast/shadercast/media"
)

// Bitrate bounds accepted by NewEncoder and SetBitrate.
const (
	MinBitrate = 10_000
	MaxBitrate = 100_000_000
)

// ErrClosed is returned by methods of a closed Encoder or Decoder.
var ErrClosed = errors.New("h264: codec is closed")

// EncoderConfig configures NewEncoder. Zero values pick defaults where
// noted.
type EncoderConfig struct {
	// Width and Height are the frame size in pixels, even (4:2:0); every
	// frame passed to Encode must have exactly this size.
	Width, Height int
	// Bitrate is the target in bits per second (MinBitrate..MaxBitrate).
	Bitrate int
	// FrameRate is the nominal rate, for rate control and the level. 0
	// means 30.
	FrameRate float64
	// Threads is the number of encoder threads. 0 means 1 when
	// runtime.NumCPU() <= 2, otherwise min(4, NumCPU/2), as in package
	// vp8.
	Threads int
	// KeyframeInterval is the maximum distance between IDR frames in
	// frames. 0 means 3 seconds' worth; negative means IDRs only on the
	// first frame and on request, which suits WebRTC.
	KeyframeInterval int
}

// Packet is one encoded access unit.
type Packet struct {
	// Data is the access unit, Annex B (start codes before each NAL
	// unit), in the dst buffer passed to Encode (reallocated only when
	// that was too small).
	Data []byte
	// Keyframe is true for an IDR access unit (with SPS and PPS).
	Keyframe bool
	// PTS and Duration are in microseconds; PTS is the frame's timestamp.
	PTS, Duration int64
}

// Encoder encodes I420 media.VideoFrames to H.264 constrained baseline.
// Encode and Close must not be called concurrently; SetBitrate and
// RequestKeyframe may be called from any goroutine and take effect on the
// next Encode.
type Encoder struct {
	c     *C.sch264_enc
	cfg   EncoderConfig
	level Level
	clock videoin.Clock

	req videoin.Requests
}

// Level is an H.264 level (level_idc: 31 for 3.1) with its limits.
type Level struct {
	IDC      int
	MaxMBPS  int // macroblocks per second
	MaxFS    int // macroblocks per frame
	MaxKbps  int // baseline profile's MaxBR, kbit/s
	MaxSide  int // largest frame side in macroblocks: sqrt(8 MaxFS)
	Fraction string
}

// levels are table A-1 of H.264 from 3.0 on (smaller canvases use 3.0:
// every WebRTC endpoint takes it).
var levels = []Level{
	{30, 40500, 1620, 10000, 113, "3.0"},
	{31, 108000, 3600, 14000, 169, "3.1"},
	{32, 216000, 5120, 20000, 202, "3.2"},
	{40, 245760, 8192, 20000, 256, "4.0"},
	{41, 245760, 8192, 50000, 256, "4.1"},
	{42, 522240, 8704, 50000, 263, "4.2"},
	{50, 589824, 22080, 135000, 420, "5.0"},
	{51, 983040, 36864, 240000, 543, "5.1"},
	{52, 2073600, 36864, 240000, 543, "5.2"},
}

// LevelFor is the lowest level whose limits fit w x h pictures at fps.
func LevelFor(w, h int, fps float64) (Level, error) {
	mbw, mbh := (w+15)/16, (h+15)/16
	fs := mbw * mbh
	mbps := float64(fs) * fps
	for _, l := range levels {
		if fs <= l.MaxFS && mbw <= l.MaxSide && mbh <= l.MaxSide && mbps <= float64(l.MaxMBPS) {
			return l, nil
		}
	}
	return Level{}, fmt.Errorf("h264: %dx%d at %g fps exceeds level 5.2", w, h, fps)
}

// ProfileLevelID is the SDP profile-level-id (RFC 6184) of constrained
// baseline at level l: "42e01f" for 3.1.
func (l Level) ProfileLevelID() string { return fmt.Sprintf("42e0%02x", l.IDC) }

// DefaultThreads is the thread count used for EncoderConfig.Threads == 0.
func DefaultThreads() int {
	n := runtime.NumCPU()
	if n <= 2 {
		return 1
	}
	return min(4, n/2)
}

// NewEncoder validates cfg and creates an encoder. matrix is the colour
// matrix and range the frames are in, written into the stream's VUI so
// that players convert them right.
func NewEncoder(cfg EncoderConfig, cs media.ColorSpace) (*Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 ||
		cfg.Width > media.MaxDimension || cfg.Height > media.MaxDimension {
		return nil, fmt.Errorf("h264: invalid size %dx%d (even, 2..%d)", cfg.Width, cfg.Height, media.MaxDimension)
	}
	if cfg.Bitrate < MinBitrate || cfg.Bitrate > MaxBitrate {
		return nil, fmt.Errorf("h264: bitrate %d bps out of range %d..%d", cfg.Bitrate, MinBitrate, MaxBitrate)
	}
	if cfg.FrameRate == 0 {
		cfg.FrameRate = 30
	}
	if !(cfg.FrameRate > 0 && cfg.FrameRate <= 240) {
		return nil, fmt.Errorf("h264: invalid frame rate %v", cfg.FrameRate)
	}
	if cfg.Threads == 0 {
		cfg.Threads = DefaultThreads()
	}
	if cfg.Threads < 0 || cfg.Threads > 16 {
		return nil, fmt.Errorf("h264: invalid thread count %d", cfg.Threads)
	}
	level, err := LevelFor(cfg.Width, cfg.Height, cfg.FrameRate)
	if err != nil {
		return nil, err
	}
	kf := cfg.KeyframeInterval
	if kf == 0 {
		kf = max(1, int(3*cfg.FrameRate+0.5))
	}
	matrix := 6 // smpte170m: BT.601
	if cs.Matrix == media.MatrixBT709 {
		matrix = 1
	}
	c := (*C.sch264_enc)(C.calloc(1, C.size_t(unsafe.Sizeof(C.sch264_enc{}))))
	if c == nil {
		return nil, errors.New("h264: out of memory")
	}
	if rc := C.sch264_enc_init(c, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.Bitrate), C.float(cfg.FrameRate),
		C.int(cfg.Threads), C.int(max(kf, 0)), C.int(level.IDC), C.int(matrix), C.int(b2i(cs.FullRange))); rc != 0 {
		C.sch264_enc_free(c)
		return nil, fmt.Errorf("h264: encoder init failed (openh264 error %d)", int(rc))
	}
	return &Encoder{c: c, cfg: cfg, level: level, clock: videoin.Clock{Default: max(1, int64(math.Round(1e6/cfg.FrameRate)))}}, nil
}

// Config returns the configuration with defaults filled in.
func (e *Encoder) Config() EncoderConfig { return e.cfg }

// Level is the level the stream declares.
func (e *Encoder) Level() Level { return e.level }

// SetBitrate changes the target (bits per second) from the next Encode on.
func (e *Encoder) SetBitrate(bps int) error {
	return e.req.SetBitrate("h264", bps, MinBitrate, MaxBitrate)
}

// RequestKeyframe makes the next Encode produce an IDR; any number of
// requests before it give one (PLI/FIR from several viewers coalesce).
func (e *Encoder) RequestKeyframe() { e.req.RequestKeyframe() }

// Encode encodes frame, which must be I420 of the configured size with a
// timestamp later than the previous frame's. The planes are read in
// place; the caller keeps ownership of frame. The packet's Data is
// dst[:n] when dst has room, else a new slice: pass the previous packet's
// Data[:0] back to allocate nothing. Duration is frame.Duration() when
// set, else the previous interval (1/FrameRate for the first).
func (e *Encoder) Encode(frame media.VideoFrame, forceKeyframe bool, dst []byte) (Packet, error) {
	if e.c == nil {
		return Packet{}, ErrClosed
	}
	planes, err := videoin.Planes(frame, e.cfg.Width, e.cfg.Height)
	if err != nil {
		return Packet{}, fmt.Errorf("h264: encode: %w", err)
	}
	pts := frame.Timestamp()
	dur, err := e.clock.Begin(pts, frame.Duration())
	if err != nil {
		return Packet{}, fmt.Errorf("h264: encode: %w", err)
	}
	if bps := e.req.TakeBitrate(); bps != 0 && bps != e.cfg.Bitrate {
		if rc := C.sch264_enc_set_bitrate(e.c, C.int(bps)); rc != 0 {
			e.req.KeepBitrate(bps)
			return Packet{}, fmt.Errorf("h264: set bitrate %d: openh264 error %d", bps, int(rc))
		}
		e.cfg.Bitrate = bps
	}
	force := forceKeyframe || e.req.TakeKeyframe() || !e.clock.Started()
	rc := C.sch264_enc_encode(e.c,
		(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(planes[0].Data))), C.int(planes[0].Stride),
		(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(planes[1].Data))), C.int(planes[1].Stride),
		(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(planes[2].Data))), C.int(planes[2].Stride),
		C.int64_t(pts/1000), C.int(b2i(force)))
	if rc != 0 {
		if force {
			e.req.KeepKeyframe()
		}
		return Packet{}, fmt.Errorf("h264: encode: openh264 error %d", int(rc))
	}
	e.clock.Done(pts)
	if e.c.len == 0 {
		return Packet{}, fmt.Errorf("h264: encode: openh264 produced no access unit (frame type %d)", int(e.c.frame_type))
	}
	dst = append(dst[:0], unsafe.Slice((*byte)(unsafe.Pointer(e.c.buf)), int(e.c.len))...)
	return Packet{Data: dst, Keyframe: e.c.frame_type == C.videoFrameTypeIDR, PTS: pts, Duration: dur}, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Close frees the encoder. It is idempotent.
func (e *Encoder) Close() error {
	if e.c != nil {
		C.sch264_enc_free(e.c)
		e.c = nil
	}
	return nil
}

// Package vp8 is a thin cgo layer over libvpx's VP8 encoder and decoder for
// shadercast's WebRTC output (and for tests that need to look at what was
// sent).
//
// It exists instead of pion/mediadevices' codecs because those stamp
// presentation times from the wall clock, hide cpu-used and the thread
// count, and allocate per frame. Here the encoder takes media.VideoFrame
// I420 planes without copying them (libvpx reads the frame's pooled pixels
// directly for the duration of one call), PTS and duration come from the
// frame's own microsecond timestamps, and a steady-state Encode allocates
// nothing when the caller reuses its packet buffer.
//
// Settings follow libvpx's realtime (WebRTC) use: one-pass CBR, no
// lookahead, error resilient, VPX_DL_REALTIME, no frame dropping.
package vp8

// #include "scv8.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/shadercast/shadercast/codec/internal/videoin"
	"github.com/shadercast/shadercast/media"
)

// DefaultCPUUsed is the libvpx speed setting used when EncoderConfig.CPUUsed
// is 0. Realtime VP8 accepts -16..16; negative values select the realtime
// speed ladder, larger magnitudes are faster and lower quality. -8 encodes
// 720p in roughly 6-9 ms per frame on one core here, leaving headroom at
// 30 fps; -12 is the next step when CPU is short.
const DefaultCPUUsed = -8

// Bitrate bounds accepted by NewEncoder and SetBitrate.
const (
	MinBitrate = 10_000
	MaxBitrate = 100_000_000
)

// ErrClosed is returned by methods of a closed Encoder or Decoder.
var ErrClosed = errors.New("vp8: codec is closed")

// EncoderConfig configures NewEncoder. Zero values pick defaults where noted.
type EncoderConfig struct {
	// Width and Height are the frame size in pixels; every frame passed to
	// Encode must have exactly this size. Odd sizes are fine.
	Width, Height int
	// Bitrate is the CBR target in bits per second (MinBitrate..MaxBitrate).
	Bitrate int
	// FrameRate is the nominal rate, used for durations of frames that carry
	// none and to size keyframes. 0 means 30.
	FrameRate float64
	// CPUUsed is libvpx's cpu-used (-16..16); 0 means DefaultCPUUsed. (The
	// libvpx value 0, the slowest realtime setting, cannot be selected.)
	CPUUsed int
	// Threads is the number of encoder threads. 0 means 1 when
	// runtime.NumCPU() <= 2 (two threads on two cores spin and can cost far
	// more CPU than they save under load), otherwise min(4, NumCPU/2).
	Threads int
	// KeyframeInterval is the maximum distance between keyframes in frames.
	// 0 means 3 seconds' worth of frames at FrameRate; negative means
	// keyframes only on the first frame and on request (RequestKeyframe, or
	// Encode's forceKeyframe), which suits WebRTC where receivers ask with
	// PLI/FIR.
	KeyframeInterval int
}

// DefaultThreads is the thread count used for EncoderConfig.Threads == 0.
func DefaultThreads() int {
	n := runtime.NumCPU()
	if n <= 2 {
		return 1
	}
	return min(4, n/2)
}

// Packet is one encoded VP8 frame.
type Packet struct {
	// Data is the frame, in the dst buffer passed to Encode (reallocated
	// only when that buffer was too small).
	Data     []byte
	Keyframe bool
	// PTS and Duration are in microseconds; PTS is the frame's timestamp.
	PTS, Duration int64
}

// Encoder encodes I420 media.VideoFrames to VP8. Encode and Close must not
// be called concurrently; SetBitrate and RequestKeyframe may be called from
// any goroutine (for example the one reading RTCP) and take effect on the
// next Encode.
type Encoder struct {
	c     *C.scv8_enc
	cfg   EncoderConfig
	clock videoin.Clock

	req videoin.Requests
}

// NewEncoder validates cfg and creates an encoder.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > media.MaxDimension || cfg.Height > media.MaxDimension {
		return nil, fmt.Errorf("vp8: invalid size %dx%d", cfg.Width, cfg.Height)
	}
	if cfg.Width > 16383 || cfg.Height > 16383 {
		// VP8 frame headers store 14-bit dimensions.
		return nil, fmt.Errorf("vp8: size %dx%d exceeds VP8's 16383 limit", cfg.Width, cfg.Height)
	}
	if cfg.Bitrate < MinBitrate || cfg.Bitrate > MaxBitrate {
		return nil, fmt.Errorf("vp8: bitrate %d bps out of range %d..%d", cfg.Bitrate, MinBitrate, MaxBitrate)
	}
	if cfg.FrameRate == 0 {
		cfg.FrameRate = 30
	}
	if !(cfg.FrameRate > 0 && cfg.FrameRate <= 1000) {
		return nil, fmt.Errorf("vp8: invalid frame rate %v", cfg.FrameRate)
	}
	if cfg.CPUUsed == 0 {
		cfg.CPUUsed = DefaultCPUUsed
	}
	if cfg.CPUUsed < -16 || cfg.CPUUsed > 16 {
		return nil, fmt.Errorf("vp8: cpu-used %d out of range -16..16", cfg.CPUUsed)
	}
	if cfg.Threads == 0 {
		cfg.Threads = DefaultThreads()
	}
	if cfg.Threads < 0 || cfg.Threads > 64 {
		return nil, fmt.Errorf("vp8: invalid thread count %d", cfg.Threads)
	}
	kf := cfg.KeyframeInterval
	if kf == 0 {
		kf = max(1, int(3*cfg.FrameRate+0.5))
	}
	// WebRTC's cap on keyframe size: half the optimal buffer (600 ms) in
	// per-frame budgets, in percent. Without it a keyframe at low bitrate
	// can be many times a normal frame and arrive as a burst of loss.
	maxIntra := max(300, int(600*0.5*cfg.FrameRate/10))

	c := newCEnc()
	if c == nil {
		return nil, errors.New("vp8: out of memory")
	}
	if code := C.scv8_enc_init(c, C.int(cfg.Width), C.int(cfg.Height), C.uint(kbps(cfg.Bitrate)),
		C.int(cfg.Threads), C.int(kf), C.int(cfg.CPUUsed), C.int(maxIntra)); code != C.VPX_CODEC_OK {
		err := vpxError("init", code, nil)
		if c.inited != 0 {
			err = vpxError("init", code, C.scv8_enc_error(c))
		}
		C.scv8_enc_free(c)
		return nil, err
	}
	return &Encoder{c: c, cfg: cfg, clock: videoin.Clock{Default: max(1, int64(1e6/cfg.FrameRate+0.5))}}, nil
}

func kbps(bps int) int { return (bps + 500) / 1000 }

// Config returns the configuration with defaults filled in.
func (e *Encoder) Config() EncoderConfig { return e.cfg }

// SetBitrate changes the CBR target (bits per second) from the next Encode
// on, without a keyframe.
func (e *Encoder) SetBitrate(bps int) error {
	return e.req.SetBitrate("vp8", bps, MinBitrate, MaxBitrate)
}

// RequestKeyframe makes the next Encode produce a keyframe. Any number of
// requests before that Encode give one keyframe, which is how PLI/FIR from
// several viewers of one shared encoder should be coalesced.
func (e *Encoder) RequestKeyframe() { e.req.RequestKeyframe() }

// Encode encodes frame, which must be I420 of the configured size with a
// timestamp later than the previous frame's. The frame's planes are read in
// place; the frame stays owned (and must be closed) by the caller. The
// packet's Data is dst[:n] when dst has capacity for it, otherwise a new
// slice; pass the previous packet's Data[:0] back to avoid allocating.
//
// PTS is frame.Timestamp(). Duration is frame.Duration() when set;
// otherwise the interval between the two previous frames (1/FrameRate for
// the first), an estimate because the real one is known only when the next
// frame arrives. libvpx's rate control is given the same value.
func (e *Encoder) Encode(frame media.VideoFrame, forceKeyframe bool, dst []byte) (Packet, error) {
	if e.c == nil {
		return Packet{}, ErrClosed
	}
	planes, err := videoin.Planes(frame, e.cfg.Width, e.cfg.Height)
	if err != nil {
		return Packet{}, fmt.Errorf("vp8: encode: %w", err)
	}
	pts := frame.Timestamp()
	dur, err := e.clock.Begin(pts, frame.Duration())
	if err != nil {
		return Packet{}, fmt.Errorf("vp8: encode: %w", err)
	}
	if bps := e.req.TakeBitrate(); bps != 0 && kbps(bps) != int(e.c.cfg.rc_target_bitrate) {
		if code := C.scv8_enc_set_bitrate(e.c, C.uint(kbps(bps))); code != C.VPX_CODEC_OK {
			// Keep the request for the next frame rather than lose it.
			e.req.KeepBitrate(bps)
			return Packet{}, vpxError("set bitrate", code, C.scv8_enc_error(e.c))
		}
		e.cfg.Bitrate = bps
	}
	force := forceKeyframe || e.req.TakeKeyframe()
	// Plane data is Go memory passed as call arguments: cgo keeps it pinned
	// until the call returns, and the C side clears the pointers before
	// returning, so libvpx never sees them again.
	code := C.scv8_enc_encode(e.c,
		(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(planes[0].Data))), C.int(planes[0].Stride),
		(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(planes[1].Data))), C.int(planes[1].Stride),
		(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(planes[2].Data))), C.int(planes[2].Stride),
		C.int64_t(pts), C.ulong(dur), C.int(b2i(force)))
	if code != C.VPX_CODEC_OK {
		if force {
			e.req.KeepKeyframe() // do not lose a requested keyframe
		}
		return Packet{}, vpxError("encode", code, C.scv8_enc_error(e.c))
	}
	e.clock.Done(pts)
	if e.c.npkts == 0 {
		// Cannot happen with lag 0 and frame dropping off; be explicit if a
		// libvpx change ever makes it so.
		return Packet{}, errors.New("vp8: encode: libvpx produced no packet")
	}
	n := int(e.c.len)
	dst = append(dst[:0], unsafe.Slice((*byte)(unsafe.Pointer(e.c.buf)), n)...)
	return Packet{Data: dst, Keyframe: e.c.keyframe != 0, PTS: int64(e.c.pts), Duration: int64(e.c.dur)}, nil
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
		C.scv8_enc_free(e.c)
		e.c = nil
	}
	return nil
}

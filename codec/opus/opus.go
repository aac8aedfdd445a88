// Package opus is a thin cgo layer over libopus for shadercast's WebRTC
// audio: an Encoder that takes media.AudioData in any sample format and
// rate and emits 20 ms Opus packets at 48 kHz with timestamps derived from
// the input's, and a Decoder for tests and monitoring.
//
// Input blocks rarely line up with 20 ms, and sources run at 44.1 kHz as
// often as 48 kHz, so the encoder converts to interleaved float32 (through
// AudioData.CopyTo), resamples with its own windowed-sinc filter whose state
// carries across calls, and buffers partial frames between calls.
package opus

// #include <opus.h>
import "C"

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/shadercast/shadercast/media"
)

const (
	// SampleRate is the rate of everything Opus encodes and decodes here.
	SampleRate = outRate
	// FrameDuration is the duration of each packet in microseconds.
	FrameDuration = 20000
	frameSize     = SampleRate * FrameDuration / 1e6 // samples per channel
	// maxPacket is libopus' recommended output buffer size.
	maxPacket = 4000

	MinBitrate = 6000
	MaxBitrate = 510000
)

// ErrClosed is returned by methods of a closed Encoder or Decoder.
var ErrClosed = errors.New("opus: codec is closed")

// EncoderConfig configures NewEncoder.
type EncoderConfig struct {
	// Channels is 1 or 2; input must have the same channel count.
	Channels int
	// Bitrate in bits per second (MinBitrate..MaxBitrate); 0 means 32000
	// per channel, a transparent-enough default for program audio.
	Bitrate int
}

// Packet is one 20 ms Opus packet.
type Packet struct {
	Data []byte
	// PTS and Duration are in microseconds. PTS is the first input
	// timestamp plus the packet's offset in samples, so packets are spaced
	// exactly FrameDuration apart.
	PTS, Duration int64
}

// Encoder encodes media.AudioData to Opus. It is not safe for concurrent
// use.
type Encoder struct {
	enc      *C.OpusEncoder
	channels int
	bitrate  int

	inRate  int        // input rate, fixed by the first AudioData
	rs      *resampler // nil when the input is already 48 kHz
	conv    []float32  // input converted to interleaved f32
	pending []float32  // 48 kHz interleaved samples not yet encoded
	t0      int64      // timestamp of the first input sample
	packets int64      // packets emitted
	out     [maxPacket]byte
}

// NewEncoder creates an encoder (48 kHz, 20 ms frames, application audio).
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("opus: %d channels, want 1 or 2", cfg.Channels)
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 32000 * cfg.Channels
	}
	if cfg.Bitrate < MinBitrate || cfg.Bitrate > MaxBitrate {
		return nil, fmt.Errorf("opus: bitrate %d bps out of range %d..%d", cfg.Bitrate, MinBitrate, MaxBitrate)
	}
	enc, err := createEncoder(cfg.Channels)
	if err != nil {
		return nil, err
	}
	if err := setBitrate(enc, cfg.Bitrate); err != nil {
		C.opus_encoder_destroy(enc)
		return nil, err
	}
	return &Encoder{enc: enc, channels: cfg.Channels, bitrate: cfg.Bitrate}, nil
}

// Lookahead is the encoder's delay in 48 kHz samples per channel (the Opus
// pre-skip a decoder drops).
func (e *Encoder) Lookahead() int {
	if e.enc == nil {
		return 0
	}
	return lookahead(e.enc)
}

// SetBitrate changes the target bitrate from the next packet on.
func (e *Encoder) SetBitrate(bps int) error {
	if e.enc == nil {
		return ErrClosed
	}
	if bps < MinBitrate || bps > MaxBitrate {
		return fmt.Errorf("opus: bitrate %d bps out of range %d..%d", bps, MinBitrate, MaxBitrate)
	}
	if err := setBitrate(e.enc, bps); err != nil {
		return err
	}
	e.bitrate = bps
	return nil
}

// Bitrate returns the current target in bits per second.
func (e *Encoder) Bitrate() int { return e.bitrate }

// Encode adds a block of audio and returns the packets completed by it
// (zero or more). Any sample format is accepted; the channel count must
// match the encoder and the sample rate (an integral number of Hz) must
// stay that of the first block. Timestamps of later blocks are not used:
// packet timestamps continue from the first block's by sample count, which
// is exact for a continuous source. The caller keeps ownership of a.
func (e *Encoder) Encode(a media.AudioData) ([]Packet, error) {
	if e.enc == nil {
		return nil, ErrClosed
	}
	if a.Closed() {
		return nil, fmt.Errorf("opus: encode: %w", media.ErrClosed)
	}
	if ch := a.NumberOfChannels(); ch != e.channels {
		return nil, fmt.Errorf("opus: encode: %d channels, encoder has %d", ch, e.channels)
	}
	rate := a.SampleRate()
	if rate != math.Trunc(rate) {
		return nil, fmt.Errorf("opus: encode: sample rate %v Hz is not an integer", rate)
	}
	if e.inRate == 0 {
		e.inRate, e.t0 = int(rate), a.Timestamp()
		if e.inRate != SampleRate {
			e.rs = newResampler(e.channels, e.inRate)
		}
	} else if int(rate) != e.inRate {
		return nil, fmt.Errorf("opus: encode: sample rate changed from %d to %v Hz", e.inRate, rate)
	}

	n := a.NumberOfFrames() * e.channels
	if cap(e.conv) < n {
		e.conv = make([]float32, n)
	}
	e.conv = e.conv[:n]
	// Interleaved f32 destination: CopyTo converts and interleaves all
	// channels (planar sources included) in one call.
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(e.conv))), 4*n)
	if err := a.CopyTo(raw, media.AudioDataCopyToOptions{Format: media.F32}); err != nil {
		return nil, fmt.Errorf("opus: encode: %w", err)
	}
	if e.rs != nil {
		e.pending = e.rs.process(e.conv, e.pending)
	} else {
		e.pending = append(e.pending, e.conv...)
	}

	var pkts []Packet
	step := frameSize * e.channels
	done := 0
	for len(e.pending)-done >= step {
		m, err := encodeFrame(e.enc, e.pending[done:done+step], e.out[:])
		if err != nil {
			// Drop what was encoded already, so that a retry neither
			// repeats it nor shifts its timestamps.
			rest := copy(e.pending, e.pending[done:])
			e.pending = e.pending[:rest]
			return pkts, err
		}
		pkts = append(pkts, Packet{
			Data:     append([]byte(nil), e.out[:m]...),
			PTS:      e.t0 + e.packets*FrameDuration,
			Duration: FrameDuration,
		})
		e.packets++
		done += step
	}
	rest := copy(e.pending, e.pending[done:])
	e.pending = e.pending[:rest]
	return pkts, nil
}

// Close frees the encoder; buffered samples (under 20 ms plus the
// resampler's filter delay) are dropped. It is idempotent.
func (e *Encoder) Close() error {
	if e.enc != nil {
		C.opus_encoder_destroy(e.enc)
		e.enc = nil
	}
	return nil
}

// Decoder decodes Opus packets to interleaved float32 at 48 kHz. It is not
// safe for concurrent use.
type Decoder struct {
	dec      *C.OpusDecoder
	channels int
	pcm      []float32
}

// NewDecoder creates a decoder with 1 or 2 output channels.
func NewDecoder(channels int) (*Decoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("opus: %d channels, want 1 or 2", channels)
	}
	dec, err := createDecoder(channels)
	if err != nil {
		return nil, err
	}
	// 120 ms, the longest Opus packet.
	return &Decoder{dec: dec, channels: channels, pcm: make([]float32, 5760*channels)}, nil
}

// Decode decodes one packet and returns its samples, interleaved, in a new
// slice. A nil or empty packet conceals one lost 20 ms frame.
func (d *Decoder) Decode(packet []byte) ([]float32, error) {
	if d.dec == nil {
		return nil, ErrClosed
	}
	frames := len(d.pcm) / d.channels
	if len(packet) == 0 {
		frames = frameSize
	}
	n, err := decode(d.dec, packet, d.pcm, frames)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), d.pcm[:n*d.channels]...), nil
}

// Close frees the decoder. It is idempotent.
func (d *Decoder) Close() error {
	if d.dec != nil {
		C.opus_decoder_destroy(d.dec)
		d.dec = nil
	}
	return nil
}

package media

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
)

// SampleFormat is a WebCodecs AudioSampleFormat. Samples are little-endian,
// which is what WebCodecs means by platform order on every machine we run.
type SampleFormat uint8

const (
	SampleFormatUnknown SampleFormat = iota
	U8                               // unsigned 8-bit, 128 is silence, interleaved
	S16                              // signed 16-bit, interleaved
	S32                              // signed 32-bit, interleaved
	F32                              // 32-bit float in [-1, 1], interleaved
	U8Planar
	S16Planar
	S32Planar
	F32Planar
	numSampleFormats
)

var sampleFormatNames = [numSampleFormats]string{"unknown", "u8", "s16", "s32", "f32", "u8-planar", "s16-planar", "s32-planar", "f32-planar"}

func (s SampleFormat) valid() bool { return s > SampleFormatUnknown && s < numSampleFormats }

// String returns the WebCodecs name, e.g. "f32-planar".
func (s SampleFormat) String() string {
	if s < numSampleFormats {
		return sampleFormatNames[s]
	}
	return fmt.Sprintf("SampleFormat(%d)", uint8(s))
}

// ParseSampleFormat accepts the WebCodecs names ("u8" ... "f32-planar").
func ParseSampleFormat(str string) (SampleFormat, error) {
	for s := U8; s < numSampleFormats; s++ {
		if strings.EqualFold(str, sampleFormatNames[s]) {
			return s, nil
		}
	}
	return SampleFormatUnknown, fieldErr("format", str, "unknown sample format")
}

// Planar reports whether each channel is stored in its own plane.
func (s SampleFormat) Planar() bool { return s >= U8Planar && s <= F32Planar }

// BytesPerSample returns the size of one sample of one channel (0 if invalid).
func (s SampleFormat) BytesPerSample() int {
	switch s.interleaved() {
	case U8:
		return 1
	case S16:
		return 2
	case S32, F32:
		return 4
	}
	return 0
}

// interleaved maps a planar format to its interleaved counterpart, so
// sample encoding can switch on four cases.
func (s SampleFormat) interleaved() SampleFormat {
	if s.Planar() {
		return s - U8Planar + U8
	}
	return s
}

const (
	// MinSampleRate and MaxSampleRate are the bounds WebCodecs
	// implementations enforce.
	MinSampleRate = 3000
	MaxSampleRate = 768000
	// MaxChannels is the largest channel count accepted.
	MaxChannels = 32
)

// AudioDataInit describes audio data to construct.
type AudioDataInit struct {
	Format           SampleFormat
	SampleRate       float64 // Hz; float like WebCodecs
	NumberOfFrames   int     // samples per channel
	NumberOfChannels int
	Timestamp        int64 // presentation time in microseconds; may be negative
}

// AudioData is a WebCodecs-style block of audio samples with the same
// value, pooling and Close rules as VideoFrame. The zero value is closed.
type AudioData struct {
	h   *audioHandle
	gen uint64
}

type audioHandle struct {
	core
	meta   atomic.Uint64 // format | channels<<8
	frames atomic.Int64
	rate   atomic.Uint64 // math.Float64bits
	ts     atomic.Int64
}

type audioMeta struct {
	format   SampleFormat
	channels int
	frames   int
	rate     float64
	ts       int64
}

func (m *audioMeta) size() int { return m.frames * m.channels * m.format.BytesPerSample() }

var audioHandles freeList[audioHandle]

func openAudio(b *buffer, m audioMeta) AudioData {
	h := audioHandles.get()
	h.meta.Store(uint64(m.format) | uint64(m.channels)<<8)
	h.frames.Store(int64(m.frames))
	h.rate.Store(math.Float64bits(m.rate))
	h.ts.Store(m.ts)
	h.buf.Store(b)
	g := h.gen.Add(1)
	stats.liveAudio.Add(1)
	return AudioData{h: h, gen: g}
}

// snapshot: see VideoFrame.snapshot for why this is a seqlock over atomics.
func (a AudioData) snapshot() (audioMeta, *buffer, bool) {
	h := a.h
	if h == nil || h.gen.Load() != a.gen {
		return audioMeta{}, nil, false
	}
	v := h.meta.Load()
	m := audioMeta{
		format:   SampleFormat(v),
		channels: int(v>>8) & 0xff,
		frames:   int(h.frames.Load()),
		rate:     math.Float64frombits(h.rate.Load()),
		ts:       h.ts.Load(),
	}
	b := h.buf.Load()
	if b == nil || h.gen.Load() != a.gen {
		return audioMeta{}, nil, false
	}
	return m, b, true
}

func (a AudioData) acquire() (audioMeta, *buffer, bool) {
	m, b, ok := a.snapshot()
	if !ok || !b.tryRetain() {
		return audioMeta{}, nil, false
	}
	if a.h.gen.Load() != a.gen {
		b.release()
		return audioMeta{}, nil, false
	}
	return m, b, true
}

// NewAudioData validates init and copies data into a pooled buffer. Unlike
// WebCodecs, which only rejects short buffers, len(data) must equal
// NumberOfFrames*NumberOfChannels*BytesPerSample exactly: in this code base
// a longer buffer has always meant a wrong frame or channel count. The
// total size is capped at 2 GiB.
func NewAudioData(data []byte, init AudioDataInit) (AudioData, error) {
	m := audioMeta{format: init.Format, channels: init.NumberOfChannels,
		frames: init.NumberOfFrames, rate: init.SampleRate, ts: init.Timestamp}
	if !m.format.valid() {
		return AudioData{}, fieldErr("Format", m.format, "unknown sample format")
	}
	// Written so that NaN fails too.
	if !(m.rate >= MinSampleRate && m.rate <= MaxSampleRate) {
		return AudioData{}, fieldErr("SampleRate", m.rate, "must be in %d..%d", MinSampleRate, MaxSampleRate)
	}
	if m.channels <= 0 || m.channels > MaxChannels {
		return AudioData{}, fieldErr("NumberOfChannels", m.channels, "must be in 1..%d", MaxChannels)
	}
	if m.frames <= 0 {
		return AudioData{}, fieldErr("NumberOfFrames", m.frames, "must be positive")
	}
	if m.frames > math.MaxInt32/(m.channels*m.format.BytesPerSample()) {
		return AudioData{}, fieldErr("NumberOfFrames", m.frames, "too large")
	}
	if size := m.size(); len(data) != size {
		return AudioData{}, fieldErr("data", len(data), "length must be %d (%d frames x %d channels x %d bytes)",
			size, m.frames, m.channels, m.format.BytesPerSample())
	}
	b := getBuffer(len(data))
	copy(b.data, data)
	return openAudio(b, m), nil
}

// Closed reports whether the data is closed (or the zero value).
func (a AudioData) Closed() bool {
	_, _, ok := a.snapshot()
	return !ok
}

// Format returns the sample format, or SampleFormatUnknown if closed.
func (a AudioData) Format() SampleFormat {
	m, _, _ := a.snapshot()
	return m.format
}

// SampleRate returns the rate in Hz, or 0 if closed.
func (a AudioData) SampleRate() float64 {
	m, _, _ := a.snapshot()
	return m.rate
}

// NumberOfFrames returns the samples per channel, or 0 if closed.
func (a AudioData) NumberOfFrames() int {
	m, _, _ := a.snapshot()
	return m.frames
}

// NumberOfChannels returns the channel count, or 0 if closed.
func (a AudioData) NumberOfChannels() int {
	m, _, _ := a.snapshot()
	return m.channels
}

// Timestamp returns the presentation time in microseconds (0 if closed).
func (a AudioData) Timestamp() int64 {
	m, _, _ := a.snapshot()
	return m.ts
}

// Duration is derived as in WebCodecs: 1e6*NumberOfFrames/SampleRate
// microseconds, truncated. 0 if closed.
func (a AudioData) Duration() int64 {
	m, _, ok := a.snapshot()
	if !ok {
		return 0
	}
	return int64(float64(m.frames) * 1e6 / m.rate)
}

// AudioDataCopyToOptions mirrors WebCodecs AudioDataCopyToOptions. Zero
// values mean what an absent member means there: FrameCount 0 copies all
// frames from FrameOffset on, Format SampleFormatUnknown keeps the source
// format.
type AudioDataCopyToOptions struct {
	// PlaneIndex is the channel to copy for a planar destination format
	// and must be 0 for an interleaved one (which copies all channels).
	PlaneIndex  int
	FrameOffset int
	FrameCount  int
	// Format converts samples; every conversion between the eight formats
	// is supported (WebCodecs requires only f32-planar).
	Format SampleFormat
}

// copyPlan resolves options against the data as WebCodecs' "compute copy
// element count" does.
func (m *audioMeta) copyPlan(opts *AudioDataCopyToOptions) (dstFmt SampleFormat, frames int, err error) {
	dstFmt = opts.Format
	if dstFmt == SampleFormatUnknown {
		dstFmt = m.format
	} else if !dstFmt.valid() {
		return 0, 0, fieldErr("Format", opts.Format, "unknown sample format")
	}
	if opts.PlaneIndex < 0 {
		return 0, 0, fieldErr("PlaneIndex", opts.PlaneIndex, "must not be negative")
	}
	if !dstFmt.Planar() && opts.PlaneIndex > 0 {
		return 0, 0, fieldErr("PlaneIndex", opts.PlaneIndex, "interleaved %v has a single plane", dstFmt)
	}
	if dstFmt.Planar() && opts.PlaneIndex >= m.channels {
		return 0, 0, fieldErr("PlaneIndex", opts.PlaneIndex, "only %d channels", m.channels)
	}
	if opts.FrameOffset < 0 || opts.FrameOffset >= m.frames {
		return 0, 0, fieldErr("FrameOffset", opts.FrameOffset, "must be in 0..%d", m.frames-1)
	}
	frames = m.frames - opts.FrameOffset
	if opts.FrameCount < 0 || opts.FrameCount > frames {
		return 0, 0, fieldErr("FrameCount", opts.FrameCount, "must be in 0..%d (0 means all)", frames)
	}
	if opts.FrameCount > 0 {
		frames = opts.FrameCount
	}
	return dstFmt, frames, nil
}

func planSize(dstFmt SampleFormat, frames, channels int) int {
	n := frames * dstFmt.BytesPerSample()
	if !dstFmt.Planar() {
		n *= channels
	}
	return n
}

// AllocationSize returns the number of bytes CopyTo with opts writes.
func (a AudioData) AllocationSize(opts AudioDataCopyToOptions) (int, error) {
	m, _, ok := a.snapshot()
	if !ok {
		return 0, ErrClosed
	}
	f, frames, err := m.copyPlan(&opts)
	if err != nil {
		return 0, err
	}
	return planSize(f, frames, m.channels), nil
}

// CopyTo copies (and converts) samples into dst as described by opts; dst
// must hold at least AllocationSize(opts) bytes. Integer samples map to
// floats by dividing by 128, 32768 or 2^31 (u8 is offset by 128 first);
// floats map back by the inverse, rounded to nearest and clamped.
func (a AudioData) CopyTo(dst []byte, opts AudioDataCopyToOptions) error {
	m, b, ok := a.acquire()
	if !ok {
		return ErrClosed
	}
	defer b.release()
	df, frames, err := m.copyPlan(&opts)
	if err != nil {
		return err
	}
	if need := planSize(df, frames, m.channels); len(dst) < need {
		return fieldErr("dst", len(dst), "too short: need %d bytes", need)
	}
	src, sf := b.data[:m.size()], m.format
	bps, off, ch := sf.BytesPerSample(), opts.FrameOffset, m.channels
	// Same format: the requested range is contiguous in the source.
	if df == sf {
		var start, n int
		if sf.Planar() {
			start, n = (opts.PlaneIndex*m.frames+off)*bps, frames*bps
		} else {
			start, n = off*ch*bps, frames*ch*bps
		}
		copy(dst, src[start:start+n])
		return nil
	}
	// index of sample (frame f, channel c) in the source
	index := func(f, c int) int {
		if sf.Planar() {
			return c*m.frames + f
		}
		return f*ch + c
	}
	if df.Planar() {
		for i := range frames {
			writeSample(dst, df, i, readSample(src, sf, index(off+i, opts.PlaneIndex)))
		}
		return nil
	}
	for i := range frames {
		for c := range ch {
			writeSample(dst, df, i*ch+c, readSample(src, sf, index(off+i, c)))
		}
	}
	return nil
}

// float64 holds every u8, s16 and s32 value exactly, so integer to integer
// conversions through it lose nothing beyond the target's precision.
func readSample(b []byte, f SampleFormat, i int) float64 {
	switch f.interleaved() {
	case U8:
		return (float64(b[i]) - 128) / 128
	case S16:
		return float64(int16(binary.LittleEndian.Uint16(b[2*i:]))) / (1 << 15)
	case S32:
		return float64(int32(binary.LittleEndian.Uint32(b[4*i:]))) / (1 << 31)
	default:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
}

func writeSample(b []byte, f SampleFormat, i int, v float64) {
	switch f.interleaved() {
	case U8:
		b[i] = uint8(quantize(v, 128, -128, 127) + 128)
	case S16:
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(quantize(v, 1<<15, math.MinInt16, math.MaxInt16))))
	case S32:
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(quantize(v, 1<<31, math.MinInt32, math.MaxInt32))))
	default:
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(v)))
	}
}

// quantize scales v, rounds half to even (like lrint) and clamps; NaN is
// silence.
func quantize(v, scale, lo, hi float64) int64 {
	if v != v {
		return 0
	}
	return int64(math.Max(lo, math.Min(hi, math.RoundToEven(v*scale))))
}

// Clone returns new audio data sharing the same samples.
func (a AudioData) Clone() (AudioData, error) {
	m, b, ok := a.acquire()
	if !ok {
		return AudioData{}, ErrClosed
	}
	return openAudio(b, m), nil
}

// WithTimestamp is Clone with a new timestamp (µs), for retiming audio
// onto another clock without copying samples. The receiver stays open.
func (a AudioData) WithTimestamp(timestamp int64) (AudioData, error) {
	m, b, ok := a.acquire()
	if !ok {
		return AudioData{}, ErrClosed
	}
	m.ts = timestamp
	return openAudio(b, m), nil
}

// Close releases the data; idempotent and goroutine-safe like
// VideoFrame.Close.
func (a AudioData) Close() error {
	h := a.h
	if h == nil {
		return nil
	}
	b, ok := h.close(a.gen)
	if !ok {
		return nil
	}
	stats.liveAudio.Add(-1)
	audioHandles.put(h)
	if b != nil {
		b.release()
	}
	return nil
}

// String describes the data for logs.
func (a AudioData) String() string {
	m, _, ok := a.snapshot()
	if !ok {
		return "AudioData(closed)"
	}
	return fmt.Sprintf("AudioData(%v %gHz %dch %d frames ts=%dus)", m.format, m.rate, m.channels, m.frames, m.ts)
}

package record

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
)

// WebM writes VP8 video and Opus audio, as the service sends them, into a
// WebM file (ebml-go's block writer: the Apache-2.0 EBML library pion's
// own examples save WebRTC streams with). The segment is written as it
// goes (clusters as they fill), so a process killed mid-recording leaves a
// file playable up to its last whole cluster; Close adds its duration and
// a seek index (Cues) to the space reserved for them at the start, when
// the file can be written at an offset.
// Timestamps are microseconds on one clock for both tracks; the file's
// time 0 is the first packet written, so their offset is kept.
type WebM struct {
	video, audio webm.BlockWriteCloser
	t0           int64
	started      bool
	closed       bool
}

// OpusHead is the Opus identification header (RFC 7845 5.1) of a 48 kHz
// stream of channels, with the encoder's pre-skip (in 48 kHz samples): the
// CodecPrivate of WebM and the contents of MP4's dOps.
func OpusHead(channels, preSkip int) []byte {
	h := make([]byte, 19)
	copy(h, "OpusHead")
	h[8] = 1 // version
	h[9] = byte(channels)
	binary.LittleEndian.PutUint16(h[10:], uint16(preSkip))
	binary.LittleEndian.PutUint32(h[12:], 48000)
	// Output gain 0, channel mapping family 0 (mono or stereo).
	return h
}

// CreateWebM makes path and writes the WebM header for width x height VP8
// and, when channels > 0, Opus audio of that many channels.
func CreateWebM(path string, width, height, channels, preSkip int) (*WebM, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	w, err := NewWebM(f, width, height, channels, preSkip)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// NewWebM is CreateWebM on w, which the WebM closes with Close.
func NewWebM(w io.WriteCloser, width, height, channels, preSkip int) (*WebM, error) {
	if width <= 0 || height <= 0 || width > 16383 || height > 16383 {
		return nil, fmt.Errorf("record: WebM size %dx%d out of range", width, height)
	}
	tracks := []webm.TrackEntry{{
		Name: "video", TrackNumber: 1, TrackUID: 1, CodecID: "V_VP8", TrackType: 1,
		Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)},
	}}
	if channels > 0 {
		tracks = append(tracks, webm.TrackEntry{
			Name: "audio", TrackNumber: 2, TrackUID: 2, CodecID: "A_OPUS", TrackType: 2,
			CodecPrivate: OpusHead(channels, preSkip),
			// The pre-skip in ns, and 80 ms of pre-roll after a seek
			// (RFC 7845 and the Matroska Opus mapping).
			CodecDelay: uint64(preSkip) * 1e9 / 48000, SeekPreRoll: 80_000_000,
			Audio: &webm.Audio{SamplingFrequency: 48000, Channels: uint64(channels)},
		})
	}
	var opts []mkvcore.BlockWriterOption
	if _, ok := w.(io.WriterAt); ok {
		// 64 KiB of cue points: a few thousand clusters, hours of video.
		opts = append(opts, mkvcore.WithSeekHead(true), mkvcore.WithCues(64<<10),
			mkvcore.WithSegmentInfo(&webm.Info{TimecodeScale: 1_000_000, MuxingApp: "shadercast", WritingApp: "shadercast"}))
	}
	ws, err := webm.NewSimpleBlockWriter(w, tracks, opts...)
	if err != nil {
		return nil, fmt.Errorf("record: WebM header: %w", err)
	}
	m := &WebM{video: ws[0]}
	if channels > 0 {
		m.audio = ws[1]
	}
	return m, nil
}

// ms is ts (µs) in the file's milliseconds.
func (m *WebM) ms(ts int64) int64 {
	if !m.started {
		m.started, m.t0 = true, ts
	}
	return max(0, (ts-m.t0)/1000)
}

// WriteVideo writes one VP8 frame with its timestamp (µs).
func (m *WebM) WriteVideo(frame []byte, keyframe bool, ts int64) error {
	if m.closed {
		return ErrClosed
	}
	_, err := m.video.Write(keyframe, m.ms(ts), frame)
	return err
}

// WriteAudio writes one Opus packet with its timestamp (µs); without an
// audio track it does nothing.
func (m *WebM) WriteAudio(packet []byte, ts int64) error {
	if m.closed {
		return ErrClosed
	}
	if m.audio == nil {
		return nil
	}
	_, err := m.audio.Write(true, m.ms(ts), packet)
	return err
}

// Close ends the file.
func (m *WebM) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var err error
	if m.audio != nil {
		err = m.audio.Close()
	}
	if e := m.video.Close(); err == nil {
		err = e
	}
	return err
}

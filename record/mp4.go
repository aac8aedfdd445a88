package record

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/shadercast/shadercast/codec/h264"
)

// MP4 writes H.264 video and Opus audio, as the service sends them, into
// a fragmented MP4 (mp4ff, Eyevinn's MIT-licensed MP4 library, which
// writes fragmented files and knows Opus's dOps). The init segment goes
// out with the first IDR (it carries its SPS and PPS), then a fragment
// (moof + mdat, both tracks) about every second, each flushed to the
// file: a process killed mid-recording leaves a file playable up to its
// last fragment. Timestamps are microseconds on one clock for both
// tracks; the file's time 0 is the first IDR, and audio before it is
// dropped, so their offset is kept.
type MP4 struct {
	f    io.WriteCloser
	w    *bufio.Writer
	init bool
	t0   int64
	seq  uint32
	// channels and preSkip describe the audio track (channels 0: none).
	channels, preSkip int
	// Samples wait for their successor, which says how long they last,
	// and then for their fragment.
	video, audio pendingTrack
	// fragStart is the video time (µs) the current fragment started at.
	fragStart int64
	closed    bool
	err       error
}

// fragmentEvery is how much video a fragment holds: what a killed process
// loses at most.
const fragmentEvery = 1_000_000

type pendingTrack struct {
	timescale uint32
	samples   []mp4.FullSample
	last      *mp4.FullSample // waiting for its duration
	lastTS    int64           // its timestamp, µs
	next      uint64          // decode time of the next sample, timescale units
}

// CreateMP4 makes path for H.264 video and, when channels > 0, Opus audio
// of that many channels with the encoder's pre-skip (48 kHz samples).
func CreateMP4(path string, channels, preSkip int) (*MP4, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return NewMP4(f, channels, preSkip), nil
}

// NewMP4 is CreateMP4 on w, which the MP4 closes with Close.
func NewMP4(w io.WriteCloser, channels, preSkip int) *MP4 {
	return &MP4{f: w, w: bufio.NewWriterSize(w, 1<<20), channels: channels, preSkip: preSkip,
		video: pendingTrack{timescale: 90000}, audio: pendingTrack{timescale: 48000}}
}

// WriteVideo writes one H.264 access unit (Annex B, as codec/h264 makes
// it) with its timestamp (µs). Units before the first IDR are dropped.
func (m *MP4) WriteVideo(au []byte, keyframe bool, ts int64) error {
	if m.closed {
		return ErrClosed
	}
	if m.err != nil {
		return m.err
	}
	if !m.init {
		if !keyframe {
			return nil
		}
		if m.err = m.writeInit(au); m.err != nil {
			return m.err
		}
		m.t0, m.fragStart = ts, ts
	}
	// MP4 samples are length-prefixed NAL units; the parameter sets
	// live in the init segment.
	var data []byte
	for _, nal := range h264.NALUnits(au) {
		if len(nal) == 0 {
			continue
		}
		if t := nal[0] & 0x1f; t == h264.NALSPS || t == h264.NALPPS || t == h264.NALAUD {
			continue
		}
		data = binary.BigEndian.AppendUint32(data, uint32(len(nal)))
		data = append(data, nal...)
	}
	flags := mp4.NonSyncSampleFlags
	if keyframe {
		flags = mp4.SyncSampleFlags
	}
	if keyframe && ts-m.fragStart >= fragmentEvery*9/10 {
		// A fragment starts at an IDR when one comes about a second in
		// (a second of frames at 30 fps falls a little short of one);
		// else at two seconds.
		m.err = m.flush(ts)
	} else if ts-m.fragStart >= 2*fragmentEvery {
		m.err = m.flush(ts)
	}
	m.add(&m.video, ts, data, flags)
	return m.err
}

// WriteAudio writes one Opus packet with its timestamp (µs). Packets
// before the first IDR, and all without an audio track, are dropped.
func (m *MP4) WriteAudio(packet []byte, ts int64) error {
	if m.closed {
		return ErrClosed
	}
	if m.err != nil || !m.init || m.channels == 0 || ts < m.t0 {
		return m.err
	}
	m.add(&m.audio, ts, append([]byte(nil), packet...), mp4.SyncSampleFlags)
	return nil
}

// add queues a sample; the one before it gets its duration from it.
func (m *MP4) add(tr *pendingTrack, ts int64, data []byte, flags uint32) {
	if tr.last == nil && len(tr.samples) == 0 && tr.next == 0 {
		// The track's first sample: its place on the common clock.
		tr.next = uint64(ts-m.t0) * uint64(tr.timescale) / 1e6
	}
	if tr.last != nil {
		tr.last.Dur = uint32(max(1, (ts-tr.lastTS)*int64(tr.timescale)/1e6))
		tr.samples = append(tr.samples, *tr.last)
		tr.next += uint64(tr.last.Dur)
	}
	tr.last = &mp4.FullSample{Sample: mp4.Sample{Flags: flags, Size: uint32(len(data))}, DecodeTime: tr.next, Data: data}
	tr.lastTS = ts
}

func (m *MP4) writeInit(idr []byte) error {
	var sps, pps [][]byte
	for _, nal := range h264.NALUnits(idr) {
		switch {
		case len(nal) == 0:
		case nal[0]&0x1f == h264.NALSPS:
			sps = append(sps, nal)
		case nal[0]&0x1f == h264.NALPPS:
			pps = append(pps, nal)
		}
	}
	if len(sps) == 0 || len(pps) == 0 {
		return errors.New("record: MP4: the first IDR has no SPS or PPS")
	}
	init := mp4.CreateEmptyInit()
	init.AddEmptyTrack(m.video.timescale, "video", "und")
	if err := init.Moov.Traks[0].SetAVCDescriptor("avc1", sps, pps, true); err != nil {
		return fmt.Errorf("record: MP4: %w", err)
	}
	if m.channels > 0 {
		init.AddEmptyTrack(m.audio.timescale, "audio", "und")
		dops := &mp4.DopsBox{OutputChannelCount: byte(m.channels), PreSkip: uint16(m.preSkip), InputSampleRate: 48000}
		init.Moov.Traks[1].Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("Opus", uint16(m.channels), 16, 48000, dops))
	}
	if err := init.Encode(m.w); err != nil {
		return fmt.Errorf("record: MP4 init: %w", err)
	}
	m.init = true
	return m.w.Flush()
}

// flush writes the samples waiting (not the last of each track, whose
// duration is unknown yet) as one fragment and starts the next at ts.
func (m *MP4) flush(ts int64) error {
	m.fragStart = ts
	if len(m.video.samples) == 0 && len(m.audio.samples) == 0 {
		return nil
	}
	m.seq++
	ids := []uint32{1}
	if m.channels > 0 {
		ids = append(ids, 2)
	}
	frag, err := mp4.CreateMultiTrackFragment(m.seq, ids)
	if err != nil {
		return err
	}
	for i, tr := range []*pendingTrack{&m.video, &m.audio} {
		if i == 1 && m.channels == 0 {
			break
		}
		for _, s := range tr.samples {
			if err := frag.AddFullSampleToTrack(s, uint32(i+1)); err != nil {
				return err
			}
		}
		tr.samples = tr.samples[:0]
	}
	if err := frag.Encode(m.w); err != nil {
		return fmt.Errorf("record: MP4 fragment: %w", err)
	}
	return m.w.Flush()
}

// Close writes what waits (the last samples last as long as the ones
// before them) and closes the file.
func (m *MP4) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	if m.init && m.err == nil {
		for _, tr := range []*pendingTrack{&m.video, &m.audio} {
			if tr.last != nil {
				d := uint32(tr.timescale / 30)
				if n := len(tr.samples); n > 0 {
					d = tr.samples[n-1].Dur
				}
				tr.last.Dur = d
				tr.samples = append(tr.samples, *tr.last)
				tr.last = nil
			}
		}
		m.err = m.flush(m.fragStart)
	}
	if err := m.w.Flush(); m.err == nil {
		m.err = err
	}
	if err := m.f.Close(); m.err == nil {
		m.err = err
	}
	return m.err
}

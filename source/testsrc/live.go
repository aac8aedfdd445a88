package testsrc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"time"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/source/internal/pace"
)

// Audio format of Source: 48 kHz float32 in 20 ms blocks (one Opus frame).
const (
	AudioSampleRate = 48000
	AudioBlock      = AudioSampleRate / 50

	// The sound is a steady tone, so that a listener (or a test) knows the
	// audio path is alive, plus a louder, higher beep for exactly as long as
	// the sync square is lit. Both are whole numbers of Hz so that phase is
	// computed exactly from the sample index (no accumulated phase error,
	// continuous across blocks).
	ToneHz    = 440
	BeepHz    = 1000
	ToneLevel = 0.25 // -12 dBFS
	BeepLevel = 0.5  // added on top: peaks at 0.75
)

// ErrClosed is returned by Source's reads after Close.
var ErrClosed = errors.New("testsrc: source closed")

// SourceOptions configures NewSource.
type SourceOptions struct {
	// Channels is 1 (mono) or 2 (stereo, both the same); 0 means 2.
	Channels int
	// ToneHz is the steady tone's frequency, whole Hz; 0 means ToneHz.
	ToneHz int
}

// Source is the test pattern as a live input with sound (source.Video and
// source.Audio): RGBA frames rendered in real time, and audio whose beep
// covers exactly the frames that light the sync square (Pattern.Flash), on
// the same microsecond clock. ReadVideo and ReadAudio may be called from
// two goroutines; each of them from one goroutine at a time.
type Source struct {
	p      *Pattern
	fps    float64
	ch     int
	tone   int64 // Hz
	clock  pace.Clock
	done   chan struct{}
	closed sync.Once

	// video state, owned by the ReadVideo goroutine
	vps pace.Stream
	vi  int
	img image.RGBA // header over the current frame's plane; reused so Render's argument does not allocate

	// audio state, owned by the ReadAudio goroutine
	aps  pace.Stream
	ablk int64
	abuf []byte
}

var (
	_ source.Video = (*Source)(nil)
	_ source.Audio = (*Source)(nil)
)

// NewSource prepares the pattern (see New for the limits on size and rate).
func NewSource(width, height int, fps float64, opts SourceOptions) (*Source, error) {
	if opts.Channels == 0 {
		opts.Channels = 2
	}
	if opts.Channels != 1 && opts.Channels != 2 {
		return nil, fmt.Errorf("testsrc: %d audio channels, want 1 or 2", opts.Channels)
	}
	if fps > 1000 {
		// Beyond this, frames shorter than a millisecond say nothing
		// useful about a video pipeline, and the audio's per-sample frame
		// lookup would be doing the work instead.
		return nil, fmt.Errorf("testsrc: frame rate %v above 1000", fps)
	}
	p, err := New(width, height, fps)
	if err != nil {
		return nil, err
	}
	if opts.ToneHz == 0 {
		opts.ToneHz = ToneHz
	}
	if opts.ToneHz < 1 || opts.ToneHz >= AudioSampleRate/2 {
		return nil, fmt.Errorf("testsrc: tone %d Hz, want 1 to %d", opts.ToneHz, AudioSampleRate/2-1)
	}
	s := &Source{p: p, fps: fps, ch: opts.Channels, tone: int64(opts.ToneHz), done: make(chan struct{}),
		abuf: make([]byte, 4*AudioBlock*opts.Channels)}
	s.vps = pace.Stream{Clock: &s.clock, Slack: time.Duration(float64(time.Second) / fps)}
	s.aps = pace.Stream{Clock: &s.clock, Slack: 20 * time.Millisecond}
	return s, nil
}

// Pattern returns the pattern the source renders (for its ground truth:
// Barcodes, Flash, FlashRect).
func (s *Source) Pattern() *Pattern { return s.p }

// FrameTimestamp is the timestamp of frame i in microseconds: i/fps,
// rounded to the nearest microsecond (computed from i, so it never drifts).
func (s *Source) FrameTimestamp(i int) int64 {
	return int64(math.Round(float64(i) * 1e6 / s.fps))
}

// ReadVideo renders the next frame and returns it when due. Frame i has
// timestamp FrameTimestamp(i) and lasts until frame i+1's. A caller that
// falls behind by more than a frame gets the late frame at once and the
// schedule re-anchors (no catch-up burst; the timestamps are unaffected).
func (s *Source) ReadVideo(ctx context.Context) (media.VideoFrame, error) {
	select {
	case <-s.done:
		return media.VideoFrame{}, ErrClosed
	default:
	}
	w, h := s.p.Size()
	ts := s.FrameTimestamp(s.vi)
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h,
		Timestamp: ts, Duration: s.FrameTimestamp(s.vi+1) - ts})
	if err != nil {
		return f, err
	}
	pl, _ := f.Plane(0)
	s.img = image.RGBA{Pix: pl.Data, Stride: pl.Stride, Rect: image.Rect(0, 0, w, h)}
	s.p.Render(s.vi, &s.img)
	s.img.Pix = nil // the plane goes back to the pool with the frame
	if err := s.vps.Wait(ctx, time.Duration(ts)*time.Microsecond, s.done); err != nil {
		f.Close()
		return media.VideoFrame{}, closedErr(err)
	}
	s.vi++
	return f, nil
}

func closedErr(err error) error {
	if errors.Is(err, pace.ErrClosed) {
		return ErrClosed
	}
	return err
}

// ReadAudio returns the next 20 ms block (f32 interleaved) when due; block
// k has timestamp k*20000 µs on the video's clock.
func (s *Source) ReadAudio(ctx context.Context) (media.AudioData, error) {
	select {
	case <-s.done:
		return media.AudioData{}, ErrClosed
	default:
	}
	ts := s.ablk * 20000
	s.fillAudio(s.ablk * AudioBlock)
	a, err := media.NewAudioData(s.abuf, media.AudioDataInit{Format: media.F32, SampleRate: AudioSampleRate,
		NumberOfFrames: AudioBlock, NumberOfChannels: s.ch, Timestamp: ts})
	if err != nil {
		return a, err
	}
	if err := s.aps.Wait(ctx, time.Duration(ts)*time.Microsecond, s.done); err != nil {
		a.Close()
		return media.AudioData{}, closedErr(err)
	}
	s.ablk++
	return a, nil
}

// fillAudio writes samples n0 .. n0+AudioBlock-1 into abuf.
func (s *Source) fillAudio(n0 int64) {
	// The frame a sample falls in: sample n is at n/48000 s, inside frame i
	// when FrameTimestamp(i) <= n*1e6/48000 < FrameTimestamp(i+1); compared
	// in integers (both sides times 48000) so that the beep's first and
	// last samples are exactly those of the flash frames' time span.
	i := int(math.Floor(float64(n0) * s.fps / AudioSampleRate))
	for k := 0; k < AudioBlock; k++ {
		n := n0 + int64(k)
		t48 := n * 1_000_000
		for i > 0 && s.FrameTimestamp(i)*AudioSampleRate > t48 {
			i--
		}
		for s.FrameTimestamp(i+1)*AudioSampleRate <= t48 {
			i++
		}
		v := ToneLevel * sinAt(s.tone, n)
		if s.p.Flash(i) {
			v += BeepLevel * sinAt(BeepHz, n)
		}
		bits := math.Float32bits(float32(v))
		for c := 0; c < s.ch; c++ {
			binary.LittleEndian.PutUint32(s.abuf[4*(k*s.ch+c):], bits)
		}
	}
}

// sinAt is sin(2π·hz·n/48000) with the phase reduced exactly in integers.
func sinAt(hz int64, n int64) float64 {
	return math.Sin(2 * math.Pi * float64(hz*n%AudioSampleRate) / AudioSampleRate)
}

// Close makes blocked and later reads return ErrClosed.
func (s *Source) Close() error {
	s.closed.Do(func() { close(s.done) })
	return nil
}

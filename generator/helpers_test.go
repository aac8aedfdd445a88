package generator

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shadercast/shadercast/media"
)

// checkLeaks fails the test if frames or buffers opened during it are
// still open at the end. Tests here do not run in parallel, so the global
// pool counters are attributable.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := media.PoolStats()
	t.Cleanup(func() {
		after := media.PoolStats()
		if after.LiveVideoFrames != before.LiveVideoFrames ||
			after.LiveAudioData != before.LiveAudioData ||
			after.LiveBuffers != before.LiveBuffers {
			t.Errorf("leak: live video %d->%d, audio %d->%d, buffers %d->%d",
				before.LiveVideoFrames, after.LiveVideoFrames,
				before.LiveAudioData, after.LiveAudioData,
				before.LiveBuffers, after.LiveBuffers)
		}
	})
}

func mustNew(t *testing.T, kind string, opts Options) *Track {
	t.Helper()
	tr, err := NewWithOptions(kind, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// video returns a 4x4 frame whose every byte is 200, so blanked output is
// distinguishable from real content.
func video(t testing.TB, format media.PixelFormat, cs media.ColorSpace, ts, dur int64) media.VideoFrame {
	t.Helper()
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: format, CodedWidth: 4, CodedHeight: 4,
		Timestamp: ts, Duration: dur, ColorSpace: cs})
	if err != nil {
		t.Fatal(err)
	}
	for i := range format.NumPlanes() {
		p, _ := f.Plane(i)
		for j := range p.Data {
			p.Data[j] = 200
		}
	}
	return f
}

func i420(t testing.TB, ts int64) media.VideoFrame {
	return video(t, media.I420, media.ColorSpaceBT709Limited, ts, 33333)
}

// audio returns 480 frames of stereo data filled with 0x11 bytes.
func audio(t testing.TB, format media.SampleFormat, ts int64) media.AudioData {
	t.Helper()
	const frames, ch = 480, 2
	data := make([]byte, frames*ch*format.BytesPerSample())
	for i := range data {
		data[i] = 0x11
	}
	a, err := media.NewAudioData(data, media.AudioDataInit{Format: format, SampleRate: 48000,
		NumberOfFrames: frames, NumberOfChannels: ch, Timestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func write(t *testing.T, w *Writable, f Frame) {
	t.Helper()
	if err := w.Write(context.Background(), f); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func next(t *testing.T, k *Sink) Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := k.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return f
}

// expectEmpty checks that no frame is waiting.
func expectEmpty(t *testing.T, k *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	f, err := k.Next(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("Next = %v, %v; want nothing", f, err)
	}
}

func expectEnded(t *testing.T, k *Sink) error {
	t.Helper()
	f, err := k.Next(context.Background())
	if !errors.Is(err, ErrEnded) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("Next = %v, %v; want ErrEnded", f, err)
	}
	return err
}

// Package mediatest makes the known media that tests of the publishing
// path write and then look for on the far side: I420 frames with a known
// colour on each half, a pure tone in 20 ms blocks, and a loop that writes
// them into a generator track in real time.
package mediatest

import (
	"context"
	"encoding/binary"
	"math"
	"time"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/media"
)

// YUV is one I420 sample: Y, U, V.
type YUV [3]byte

// SplitFrame is an I420 frame whose left half is left and right half right.
func SplitFrame(w, h int, ts, dur int64, left, right YUV) (media.VideoFrame, error) {
	f, err := media.AllocVideoFrame(media.VideoFrameInit{
		Format: media.I420, CodedWidth: w, CodedHeight: h, Timestamp: ts, Duration: dur,
	})
	if err != nil {
		return f, err
	}
	for i := 0; i < 3; i++ {
		p, _ := f.Plane(i)
		for y := 0; y < p.Height; y++ {
			row := p.Data[y*p.Stride : y*p.Stride+p.Width]
			for x := range row {
				row[x] = left[i]
				if x >= p.Width/2 {
					row[x] = right[i]
				}
			}
		}
	}
	return f, nil
}

// ToneRate and ToneBlock are the format of Tone's blocks: 48 kHz, 20 ms
// (one Opus frame each).
const (
	ToneRate  = 48000
	ToneBlock = ToneRate / 50
)

// Tone is block i of a continuous mono f32 sine of hz at half scale; its
// timestamp is i*20 ms.
func Tone(i int64, hz float64) (media.AudioData, error) {
	buf := make([]byte, 4*ToneBlock)
	for k := 0; k < ToneBlock; k++ {
		v := 0.5 * math.Sin(2*math.Pi*hz*float64(i*ToneBlock+int64(k))/ToneRate)
		binary.LittleEndian.PutUint32(buf[4*k:], math.Float32bits(float32(v)))
	}
	return media.NewAudioData(buf, media.AudioDataInit{
		Format: media.F32, SampleRate: ToneRate, NumberOfFrames: ToneBlock, NumberOfChannels: 1,
		Timestamp: i * 20000,
	})
}

// Feed writes make(0), make(1), ... into tr every interval until ctx ends
// or the track does; timestamps come from the index, so the encoders see a
// steady clock whatever the ticker's jitter. sent, when not nil, is called
// after each write.
func Feed(ctx context.Context, tr *generator.Track, interval time.Duration, make func(i int64) (generator.Frame, error), sent func()) {
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for i := int64(0); ; i++ {
		f, err := make(i)
		if err != nil {
			panic(err) // the test's own frames are well formed
		}
		if err := tr.Writable().Write(ctx, f); err != nil {
			return
		}
		if sent != nil {
			sent()
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// Video and Audio adapt SplitFrame and Tone to Feed.
func Video(w, h int, left, right YUV) func(int64) (generator.Frame, error) {
	const dur = 33333 // 30 fps
	return func(i int64) (generator.Frame, error) { return SplitFrame(w, h, i*dur, dur, left, right) }
}

// Audio gives Feed the blocks of a tone of hz.
func Audio(hz float64) func(int64) (generator.Frame, error) {
	return func(i int64) (generator.Frame, error) { return Tone(i, hz) }
}

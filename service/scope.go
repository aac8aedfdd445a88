package service

import (
	"encoding/binary"
	"math"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/spectrum"
	"github.com/shadercast/shadercast/media"
)

// scope turns the sound on air into the images ISF audio and audioFFT
// inputs show (compositor.Audio): the last scopeSamples frames of stereo
// as waveforms, and their spectra. It is fed by the one goroutine that
// writes the audio track.
type scope struct {
	hist     []float32 // the last scopeSamples stereo frames, interleaved
	raw      []byte
	fft      *spectrum.Analyzer
	wave     []float32
	spectrum []float32
}

// scopeSamples is the waveform's width; the spectrum has half as many
// bins (23 Hz each at 48 kHz).
const scopeSamples = 1024

func newScope() *scope {
	fft, err := spectrum.New(scopeSamples)
	if err != nil {
		panic(err) // a constant power of two
	}
	return &scope{hist: make([]float32, 2*scopeSamples), fft: fft,
		wave: make([]float32, 2*scopeSamples), spectrum: make([]float32, 2*fft.Bins())}
}

// feed adds a block of the sound on air and hands the pictures of the last
// scopeSamples frames to pl.
func (sc *scope) feed(pl *compositor.Pipeline, a media.AudioData) {
	n, ch := a.NumberOfFrames(), a.NumberOfChannels()
	size, err := a.AllocationSize(media.AudioDataCopyToOptions{Format: media.F32})
	if err != nil || ch < 1 || n < 1 {
		return
	}
	if cap(sc.raw) < size {
		sc.raw = make([]byte, size)
	}
	raw := sc.raw[:size]
	if a.CopyTo(raw, media.AudioDataCopyToOptions{Format: media.F32}) != nil {
		return
	}
	n = min(n, scopeSamples)
	copy(sc.hist, sc.hist[2*n:])
	tail := sc.hist[len(sc.hist)-2*n:]
	for i := 0; i < n; i++ {
		l := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i*ch:]))
		r := l
		if ch > 1 {
			r = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*ch+1):]))
		}
		tail[2*i], tail[2*i+1] = l, r
	}
	bins := sc.fft.Bins()
	for c := 0; c < 2; c++ {
		for i := 0; i < scopeSamples; i++ {
			sc.wave[c*scopeSamples+i] = 0.5 + 0.5*min(max(sc.hist[2*i+c], -1), 1)
		}
		sc.fft.Magnitudes(sc.hist, c, 2, sc.spectrum[c*bins:(c+1)*bins])
	}
	pl.SetAudio(compositor.Audio{Channels: 2, Wave: sc.wave, Spectrum: sc.spectrum})
}

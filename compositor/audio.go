package compositor

import (
	"fmt"
	"slices"
	"sync"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// Audio is the sound that ISF passes' audio and audioFFT inputs show, packed
// as ISF's convention has it: Channels rows, in Wave a row of samples each
// (0.5 is silence, 0 and 1 full scale), in Spectrum a row of frequency-bin
// magnitudes each (0 to 1, the lowest frequency first).
type Audio struct {
	Channels       int
	Wave, Spectrum []float32
}

// Limits on Audio.
const (
	MaxAudioChannels = 8
	MaxAudioSamples  = 1 << 14 // per row
)

// Until SetAudio, passes see silence of these sizes: a 1024-sample
// waveform at 0.5 and 512 bins at 0, in stereo.
const (
	silentSamples = 1024
	silentBins    = 512
)

// SetAudio makes a the sound audio inputs show, from the next frame on. It
// copies a, and never waits for the GL thread: call it as often as the
// sound changes (every 20 ms is usual).
func (p *Pipeline) SetAudio(a Audio) error {
	if a.Channels < 1 || a.Channels > MaxAudioChannels {
		return fmt.Errorf("compositor: audio with %d channels, want 1 to %d", a.Channels, MaxAudioChannels)
	}
	for _, row := range [][]float32{a.Wave, a.Spectrum} {
		if len(row) == 0 || len(row)%a.Channels != 0 || len(row)/a.Channels > MaxAudioSamples {
			return fmt.Errorf("compositor: audio rows of %d values over %d channels: want whole rows of 1 to %d", len(row), a.Channels, MaxAudioSamples)
		}
	}
	p.audio.mu.Lock()
	defer p.audio.mu.Unlock()
	p.audio.next.Channels = a.Channels
	p.audio.next.Wave = append(p.audio.next.Wave[:0], a.Wave...)
	p.audio.next.Spectrum = append(p.audio.next.Spectrum[:0], a.Spectrum...)
	p.audio.dirty = true
	return nil
}

// audioImages are the pipeline's audio textures: what SetAudio gave last
// (next, under mu), uploaded when a pass binds them in a frame after it
// changed.
type audioImages struct {
	mu    sync.Mutex
	next  Audio
	dirty bool

	// GL thread.
	wave, spectrum Texture
	staging        Audio
	flipped        []float32
}

// textures returns the waveform and spectrum textures, uploading what
// changed; GL thread.
func (a *audioImages) textures(d *Device) (wave, spectrum Texture) {
	a.mu.Lock()
	dirty := a.dirty
	if dirty {
		a.staging.Channels = a.next.Channels
		a.staging.Wave = append(a.staging.Wave[:0], a.next.Wave...)
		a.staging.Spectrum = append(a.staging.Spectrum[:0], a.next.Spectrum...)
		a.dirty = false
	}
	a.mu.Unlock()
	if a.wave.id == 0 && !dirty {
		a.staging = Audio{Channels: 2, Wave: slices.Repeat([]float32{0.5}, 2*silentSamples), Spectrum: make([]float32, 2*silentBins)}
		dirty = true
	}
	if dirty {
		upload := func(t *Texture, rows []float32) {
			w, h := len(rows)/a.staging.Channels, a.staging.Channels
			// ISF's image coordinates point up: its row y = 0, the first
			// channel, is the texture's last (frames' row 0 is the top).
			a.flipped = a.flipped[:0]
			for c := h - 1; c >= 0; c-- {
				a.flipped = append(a.flipped, rows[c*w:(c+1)*w]...)
			}
			row := a.flipped
			if t.w != w || t.h != h {
				d.deleteTexture(t)
				*t = d.newTexture(w, h, gl.R32F, gl.RED, gl.FLOAT)
				gl.BindTexture(gl.TEXTURE_2D, t.id)
				// Every channel's value in r, g and b, as ISF's
				// grayscale images are.
				gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_SWIZZLE_G, gl.RED)
				gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_SWIZZLE_B, gl.RED)
				gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_SWIZZLE_A, gl.ONE)
			}
			gl.BindTexture(gl.TEXTURE_2D, t.id)
			gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, int32(w), int32(h), gl.RED, gl.FLOAT, gl.Ptr(row))
		}
		upload(&a.wave, a.staging.Wave)
		upload(&a.spectrum, a.staging.Spectrum)
	}
	return a.wave, a.spectrum
}

func (a *audioImages) release(d *Device) {
	d.deleteTexture(&a.wave)
	d.deleteTexture(&a.spectrum)
}

package service

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source"
)

// The programme's sound (--scenes). Each source's sound waits in a bounded
// buffer of its own (sourceAudio); every 20 ms the mixer takes a block from
// every source, weighted by the layers that show it on the programme (the
// largest gain of its audible layers, 0 when it has none; during a
// transition the outgoing scene's weight times 1-t plus the incoming one's
// times t), sums them and writes the sum to the audio track. A source is
// heard once however many layers show it. Audio follows a layer's gain and
// muted, not its visibility: a hidden layer's microphone is still heard
// unless muted.
const (
	mixRate     = 48000
	mixBlock    = mixRate / 50 // frames in 20 ms
	mixChannels = 2
	// mixLatency is how much of a source's sound is buffered before the
	// mixer takes from it (at the start, and again after it ran dry):
	// room for the jitter between the source's clock and the mixer's.
	mixLatency = 3 * mixBlock
	// mixMax bounds a source's buffer; past it the oldest sound goes.
	mixMax = 25 * mixBlock
)

// sourceAudio is one source's sound waiting to be mixed: 48 kHz stereo
// float samples, interleaved, oldest first.
type sourceAudio struct {
	mu      sync.Mutex
	buf     []float32
	primed  bool   // mixLatency reached since the buffer last ran dry
	dropped uint64 // frames dropped: the buffer was full, or not 48 kHz
	raw     []byte // push's copy of a block
}

// push appends d's samples (mono taken to both channels, more than two
// channels mixed down to two by taking the first two), dropping the
// oldest past mixMax; it returns the frames it dropped. d stays the
// caller's.
func (a *sourceAudio) push(d media.AudioData) (dropped int) {
	n, ch := d.NumberOfFrames(), d.NumberOfChannels()
	a.mu.Lock()
	defer a.mu.Unlock()
	if d.SampleRate() != mixRate || ch < 1 {
		a.dropped += uint64(n)
		return n
	}
	size, err := d.AllocationSize(media.AudioDataCopyToOptions{Format: media.F32})
	if err != nil {
		return 0
	}
	if cap(a.raw) < size {
		a.raw = make([]byte, size)
	}
	raw := a.raw[:size]
	if d.CopyTo(raw, media.AudioDataCopyToOptions{Format: media.F32}) != nil {
		return 0
	}
	for i := 0; i < n; i++ {
		l := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i*ch:]))
		r := l
		if ch > 1 {
			r = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*ch+1):]))
		}
		a.buf = append(a.buf, l, r)
	}
	if over := len(a.buf) - mixMax*mixChannels; over > 0 {
		a.buf = append(a.buf[:0], a.buf[over:]...)
		a.dropped += uint64(over / mixChannels)
		return over / mixChannels
	}
	return 0
}

// take adds the next block times w into mix (mixBlock stereo frames) and
// reports whether there was sound; a source not primed, or run dry, adds
// nothing and waits until mixLatency is buffered again.
func (a *sourceAudio) take(mix []float32, w float32) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.primed {
		if len(a.buf) < mixLatency*mixChannels {
			return false
		}
		a.primed = true
	}
	n := min(len(a.buf), len(mix))
	for i := 0; i < n; i++ {
		mix[i] += w * a.buf[i]
	}
	a.buf = append(a.buf[:0], a.buf[n:]...)
	if n < len(mix) {
		a.primed = false // ran dry: build the latency up again
	}
	return n > 0 && w != 0
}

// pumpAudio reads a source's sound into its buffer until the source ends,
// counting what the buffer drops in drops.
func (ss *sceneSource) pumpAudio(ctx context.Context, src source.Audio, drops *atomic.Uint64) {
	for {
		d, err := src.ReadAudio(ctx)
		if err != nil {
			return
		}
		drops.Add(uint64(ss.audio.push(d)))
		d.Close()
	}
}

// audioWeights sets w[i] to source i's weight in the programme at t:
// the largest gain of its audible layers in the programme scene (their
// nested scenes' included, with the nesting layer's gain), crossfaded
// with the outgoing scene's during a transition.
func audioWeights(set *sceneSet, at time.Time, w, from []float64) {
	clear(w)
	layerGains(set.program, 1, w)
	if t := set.trans; t != nil {
		if p := t.progress(at); p < 1 {
			clear(from)
			layerGains(t.layers, 1, from)
			for i := range w {
				w[i] = (1-p)*from[i] + p*w[i]
			}
		}
	}
}

func layerGains(layers []compositor.Layer, k float64, w []float64) {
	for _, l := range layers {
		if l.Spec.Muted || l.Spec.Gain <= 0 {
			continue
		}
		g := k * l.Spec.Gain
		if l.Frame >= 0 && l.Frame < len(w) {
			w[l.Frame] = max(w[l.Frame], g)
		}
		layerGains(l.Nested, g, w)
	}
}

// mixAudio writes the programme's sound, a 20 ms block at a time on the
// service's clock, until ctx ends (--scenes; runAudio does this for one
// input).
func (s *Service) mixAudio(ctx context.Context) {
	const block = 20 * time.Millisecond
	tick := time.NewTicker(block)
	defer tick.Stop()
	mix := make([]float32, mixBlock*mixChannels)
	raw := make([]byte, 4*len(mix))
	var w, from []float64
	scope := newScope()
	next := int64(-1) // the output µs the next block starts at
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		set := s.scenes.cur.Load()
		if n := len(set.sources); len(w) != n {
			w, from = make([]float64, n), make([]float64, n)
		}
		audioWeights(set, time.Now(), w, from)
		clear(mix)
		heard := false
		for i, ss := range set.sources {
			heard = ss.audio.take(mix, float32(w[i])) || heard
		}
		for i, v := range mix {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(min(max(v, -1), 1)))
		}
		now := time.Since(s.start).Microseconds()
		if next < 0 || next < now-100_000 || next > now+100_000 {
			next = now // start, or a clock that slipped: follow the wall
		}
		a, err := media.NewAudioData(raw, media.AudioDataInit{Format: media.F32, SampleRate: mixRate,
			NumberOfFrames: mixBlock, NumberOfChannels: mixChannels, Timestamp: next})
		if err != nil {
			continue
		}
		next += int64(block / time.Microsecond)
		if heard {
			s.stats.audioIn.Add(1)
		} else {
			s.stats.silence.Add(1)
		}
		scope.feed(s.pl, a)
		s.audio.Writable().Write(ctx, a)
	}
}

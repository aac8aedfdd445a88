package service

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

func audioBlock(t *testing.T, frames, channels int, rate float64, v float32) media.AudioData {
	t.Helper()
	raw := make([]byte, 4*frames*channels)
	for i := 0; i < frames*channels; i++ {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	a, err := media.NewAudioData(raw, media.AudioDataInit{Format: media.F32, SampleRate: rate, NumberOfFrames: frames, NumberOfChannels: channels})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A source's buffer waits for mixLatency before it plays, plays its
// samples weighted, starts waiting again when it runs dry, keeps at most
// mixMax (the oldest go), takes mono to both channels, and drops what is
// not 48 kHz.
func TestSourceAudio(t *testing.T) {
	var a sourceAudio
	mix := make([]float32, mixBlock*mixChannels)
	push := func(v float32, blocks, ch int) {
		for range blocks {
			d := audioBlock(t, mixBlock, ch, mixRate, v)
			a.push(d)
			d.Close()
		}
	}
	push(0.5, 2, 1)
	if a.take(mix, 1) || mix[0] != 0 {
		t.Fatal("played before mixLatency was buffered")
	}
	push(0.5, 1, 1)
	clear(mix)
	if !a.take(mix, 0.5) || mix[0] != 0.25 || mix[1] != 0.25 || mix[len(mix)-1] != 0.25 {
		t.Fatalf("a mono block at half weight: %v %v", mix[0], mix[1])
	}
	a.take(mix, 1)
	a.take(mix, 1)
	clear(mix)
	if a.take(mix, 1) || a.primed {
		t.Error("a dry buffer played, or stayed primed")
	}
	push(0.1, 30, 2)
	if n := len(a.buf) / mixChannels; n != mixMax || a.dropped != uint64(30*mixBlock-mixMax) {
		t.Errorf("%d frames kept, %d dropped; want %d kept", n, a.dropped, mixMax)
	}
	before := a.dropped
	d := audioBlock(t, 441, 2, 44100, 0.1)
	a.push(d)
	d.Close()
	if a.dropped != before+441 {
		t.Error("44.1 kHz sound was not dropped")
	}
}

// Weights: the programme's audible layers (the largest gain of a source
// shown twice; muted and gain 0 not heard; nested scenes with the
// nesting layer's gain), crossfaded during a transition.
func TestAudioWeights(t *testing.T) {
	layer := func(frame int, gain float64, muted bool, nested ...compositor.Layer) compositor.Layer {
		return compositor.Layer{Frame: frame, Spec: scene.Layer{Gain: gain, Muted: muted}, Nested: nested}
	}
	set := &sceneSet{program: []compositor.Layer{
		layer(0, 1, false), layer(0, 0.5, false), layer(1, 2, true), layer(2, 0, false),
		layer(compositor.Generated, 0.5, false, layer(3, 0.8, false)),
	}}
	w, from := make([]float64, 5), make([]float64, 5)
	audioWeights(set, time.Now(), w, from)
	want := []float64{1, 0, 0, 0.4, 0}
	for i := range want {
		if math.Abs(w[i]-want[i]) > 1e-12 {
			t.Errorf("weights %v, want %v", w, want)
			break
		}
	}
	// A quarter into a transition from a scene where source 4 was heard.
	start := time.Now()
	set.trans = &sceneTransition{layers: []compositor.Layer{layer(4, 1, false), layer(0, 1, false)}, start: start, duration: 4 * time.Second}
	audioWeights(set, start.Add(time.Second), w, from)
	want = []float64{1, 0, 0, 0.1, 0.75}
	for i := range want {
		if math.Abs(w[i]-want[i]) > 1e-9 {
			t.Errorf("a quarter into the transition: %v, want %v", w, want)
			break
		}
	}
}

package opus

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/shadercast/shadercast/media"
)

const amp = 0.5

// sineData builds a block of a 440 Hz sine (both channels) starting at
// input sample index start.
func sineData(t testing.TB, format media.SampleFormat, rate, ch, start, frames int, ts int64) media.AudioData {
	t.Helper()
	bps := format.BytesPerSample()
	buf := make([]byte, frames*ch*bps)
	for i := range frames {
		v := amp * math.Sin(2*math.Pi*440*float64(start+i)/float64(rate))
		for c := range ch {
			idx := i*ch + c
			if format.Planar() {
				idx = c*frames + i
			}
			switch format {
			case media.S16, media.S16Planar:
				binary.LittleEndian.PutUint16(buf[idx*2:], uint16(int16(math.Round(v*32767))))
			case media.F32, media.F32Planar:
				binary.LittleEndian.PutUint32(buf[idx*4:], math.Float32bits(float32(v)))
			default:
				t.Fatalf("format %v not generated", format)
			}
		}
	}
	a, err := media.NewAudioData(buf, media.AudioDataInit{Format: format, SampleRate: float64(rate),
		NumberOfFrames: frames, NumberOfChannels: ch, Timestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// goertzelPower is the power of x (one channel) at frequency f Hz.
func goertzelPower(x []float32, f, rate float64) float64 {
	w := 2 * math.Pi * f / rate
	coef := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coef*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coef*s1*s2
}

// dominant finds the strongest frequency in 100..4000 Hz: a coarse scan,
// then 0.5 Hz steps around the best bin.
func dominant(x []float32, rate float64) float64 {
	best, bestP := 0.0, -1.0
	for f := 100.0; f <= 4000; f += 10 {
		if p := goertzelPower(x, f, rate); p > bestP {
			best, bestP = f, p
		}
	}
	lo := best - 10
	for f := lo; f <= lo+20; f += 0.5 {
		if p := goertzelPower(x, f, rate); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// roundTrip encodes one second of 440 Hz stereo in chunk-frame blocks and
// checks the decoded channels.
func roundTrip(t *testing.T, format media.SampleFormat, rate, chunk int) {
	const ch = 2
	enc, err := NewEncoder(EncoderConfig{Channels: ch, Bitrate: 96000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder(ch)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var pcm []float32
	var pkts []Packet
	for start := 0; start < rate; start += chunk {
		a := sineData(t, format, rate, ch, start, chunk, int64(start)*1e6/int64(rate))
		ps, err := enc.Encode(a)
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, ps...)
	}
	if len(pkts) < 45 {
		t.Fatalf("%d packets for 1 s", len(pkts))
	}
	for i, p := range pkts {
		if p.PTS != int64(i)*FrameDuration || p.Duration != FrameDuration {
			t.Fatalf("packet %d: PTS %d duration %d", i, p.PTS, p.Duration)
		}
		out, err := dec.Decode(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != frameSize*ch {
			t.Fatalf("decoded %d samples", len(out))
		}
		pcm = append(pcm, out...)
	}
	// Skip the start-up (pre-skip, resampler and codec warm-up).
	pcm = pcm[4800*ch:]
	for c := range ch {
		x := make([]float32, len(pcm)/ch)
		for i := range x {
			x[i] = pcm[i*ch+c]
		}
		f := dominant(x, SampleRate)
		r := rms(x)
		t.Logf("channel %d: dominant %.1f Hz, RMS %.4f (input %.4f)", c, f, r, amp/math.Sqrt2)
		if math.Abs(f-440) > 5 {
			t.Errorf("channel %d: dominant frequency %.1f Hz, want 440±5", c, f)
		}
		if math.Abs(r-amp/math.Sqrt2) > 0.1*amp/math.Sqrt2 {
			t.Errorf("channel %d: RMS %.4f, want %.4f±10%%", c, r, amp/math.Sqrt2)
		}
	}
}

func TestRoundTrip48kS16Interleaved(t *testing.T) { roundTrip(t, media.S16, 48000, 480) }
func TestRoundTrip44kF32Planar(t *testing.T)      { roundTrip(t, media.F32Planar, 44100, 441) }

// Partial frames are buffered: 7 ms blocks give a packet every 20 ms of
// input, timestamped from the first block's timestamp.
func TestPartialFrames(t *testing.T) {
	for _, rate := range []int{48000, 44100} {
		enc, err := NewEncoder(EncoderConfig{Channels: 2})
		if err != nil {
			t.Fatal(err)
		}
		const t0 = 5_000_000
		chunk := rate * 7 / 1000
		var pkts []Packet
		counts := []int{}
		for i := range 30 {
			start := i * chunk
			a := sineData(t, media.S16, rate, 2, start, chunk, t0+int64(start)*1e6/int64(rate))
			ps, err := enc.Encode(a)
			a.Close()
			if err != nil {
				t.Fatal(err)
			}
			counts = append(counts, len(ps))
			pkts = append(pkts, ps...)
		}
		enc.Close()
		// 210 ms of input: 10 packets at 48 kHz; the resampler holds back
		// its half filter (~0.4 ms) at 44.1 kHz, still 10.
		if len(pkts) != 10 {
			t.Errorf("%d Hz: %d packets from 210 ms (per call %v)", rate, len(pkts), counts)
		}
		for i, p := range pkts {
			if want := int64(t0 + i*FrameDuration); p.PTS != want {
				t.Errorf("%d Hz: packet %d PTS %d, want %d", rate, i, p.PTS, want)
			}
		}
		if counts[0] != 0 || counts[1] != 0 || counts[2] != 1 {
			t.Errorf("%d Hz: packets per 7 ms call %v; want the first at the third call", rate, counts)
		}
	}
}

// The resampler must land output samples exactly on the 48 kHz grid of the
// input's time axis: compare with the ideal sine.
func TestResamplerAccuracy(t *testing.T) {
	for _, in := range []int{44100, 32000, 96000, 16000} {
		r := newResampler(1, in)
		const f = 1000.0
		var out []float32
		for start := 0; start < in; start += 333 {
			x := make([]float32, 333)
			for i := range x {
				x[i] = float32(0.8 * math.Sin(2*math.Pi*f*float64(start+i)/float64(in)))
			}
			out = r.process(x, out)
		}
		var maxErr float64
		for n := 2000; n < len(out); n++ {
			want := 0.8 * math.Sin(2*math.Pi*f*float64(n)/outRate)
			maxErr = max(maxErr, math.Abs(float64(out[n])-want))
		}
		t.Logf("%d Hz -> 48 kHz: %d samples, max error %.2e", in, len(out), maxErr)
		if maxErr > 2e-3 {
			t.Errorf("%d Hz: max error %.2e", in, maxErr)
		}
		if len(out) < outRate*95/100 {
			t.Errorf("%d Hz: only %d output samples for 1 s", in, len(out))
		}
	}
}

func TestSetBitrateAndErrors(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Channels: 1, Bitrate: 64000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	size := func(from int) float64 {
		n, total := 0, 0
		for i := from; i < from+50; i++ {
			a := sineData(t, media.F32, 48000, 1, i*960, 960, int64(i)*20000)
			ps, err := enc.Encode(a)
			a.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				n, total = n+1, total+len(p.Data)
			}
		}
		return float64(total) / float64(n)
	}
	hi := size(0)
	if err := enc.SetBitrate(12000); err != nil {
		t.Fatal(err)
	}
	lo := size(50)
	t.Logf("avg packet %.0f B at 64 kbps, %.0f B at 12 kbps", hi, lo)
	if lo > hi/2 {
		t.Errorf("SetBitrate had little effect: %.0f -> %.0f B", hi, lo)
	}
	if err := enc.SetBitrate(1); err == nil {
		t.Error("SetBitrate(1): no error")
	}
	st := sineData(t, media.F32, 48000, 2, 0, 960, 0)
	defer st.Close()
	if _, err := enc.Encode(st); err == nil {
		t.Error("stereo into mono encoder: no error")
	}
	other := sineData(t, media.F32, 44100, 1, 0, 960, 0)
	defer other.Close()
	if _, err := enc.Encode(other); err == nil {
		t.Error("rate change: no error")
	}
	if _, err := NewEncoder(EncoderConfig{Channels: 3}); err == nil {
		t.Error("3 channels: no error")
	}
	dec, _ := NewDecoder(1)
	defer dec.Close()
	if _, err := dec.Decode([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Error("corrupt packet: no error")
	}
	if plc, err := dec.Decode(nil); err != nil || len(plc) != frameSize {
		t.Errorf("concealment: %d samples, %v", len(plc), err)
	}
}

func BenchmarkOpusEncode20ms(b *testing.B) {
	enc, err := NewEncoder(EncoderConfig{Channels: 2, Bitrate: 96000})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	blocks := make([]media.AudioData, 50) // one second of distinct input
	for i := range blocks {
		blocks[i] = sineData(b, media.F32, 48000, 2, i*960, 960, int64(i)*20000)
		defer blocks[i].Close()
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := enc.Encode(blocks[i%len(blocks)]); err != nil {
			b.Fatal(err)
		}
	}
}

package media

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

var allSampleFormats = []SampleFormat{U8, S16, S32, F32, U8Planar, S16Planar, S32Planar, F32Planar}

func TestAudioDataValidation(t *testing.T) {
	checkLeaks(t)
	base := AudioDataInit{Format: S16, SampleRate: 48000, NumberOfFrames: 4, NumberOfChannels: 2}
	with := func(f func(*AudioDataInit)) AudioDataInit { i := base; f(&i); return i }
	tests := []struct {
		name  string
		n     int
		init  AudioDataInit
		field string
	}{
		{"ok", 16, base, ""},
		{"ok min rate", 16, with(func(i *AudioDataInit) { i.SampleRate = 3000 }), ""},
		{"ok max rate", 16, with(func(i *AudioDataInit) { i.SampleRate = 768000 }), ""},
		{"ok 32 channels", 4 * 32 * 2, with(func(i *AudioDataInit) { i.NumberOfChannels = 32 }), ""},
		{"ok planar", 16, with(func(i *AudioDataInit) { i.Format = S16Planar }), ""},
		{"unknown format", 16, with(func(i *AudioDataInit) { i.Format = SampleFormatUnknown }), "Format"},
		{"bad format", 16, with(func(i *AudioDataInit) { i.Format = 42 }), "Format"},
		{"rate low", 16, with(func(i *AudioDataInit) { i.SampleRate = 2999 }), "SampleRate"},
		{"rate high", 16, with(func(i *AudioDataInit) { i.SampleRate = 768001 }), "SampleRate"},
		{"rate zero", 16, with(func(i *AudioDataInit) { i.SampleRate = 0 }), "SampleRate"},
		{"rate NaN", 16, with(func(i *AudioDataInit) { i.SampleRate = math.NaN() }), "SampleRate"},
		{"rate Inf", 16, with(func(i *AudioDataInit) { i.SampleRate = math.Inf(1) }), "SampleRate"},
		{"channels zero", 16, with(func(i *AudioDataInit) { i.NumberOfChannels = 0 }), "NumberOfChannels"},
		{"channels negative", 16, with(func(i *AudioDataInit) { i.NumberOfChannels = -1 }), "NumberOfChannels"},
		{"channels 33", 16, with(func(i *AudioDataInit) { i.NumberOfChannels = 33 }), "NumberOfChannels"},
		{"frames zero", 16, with(func(i *AudioDataInit) { i.NumberOfFrames = 0 }), "NumberOfFrames"},
		{"frames negative", 16, with(func(i *AudioDataInit) { i.NumberOfFrames = -4 }), "NumberOfFrames"},
		{"frames huge", 16, with(func(i *AudioDataInit) { i.NumberOfFrames = math.MaxInt / 2 }), "NumberOfFrames"},
		{"data short", 15, base, "data"},
		{"data long", 17, base, "data"},
		{"data empty", 0, base, "data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAudioData(make([]byte, tc.n), tc.init)
			defer a.Close()
			if got := fieldOf(err); got != tc.field || (tc.field == "" && err != nil) {
				t.Fatalf("error %v names %q, want %q", err, got, tc.field)
			}
			if a.Closed() != (tc.field != "") {
				t.Fatalf("Closed() = %v", a.Closed())
			}
		})
	}
}

func TestAudioDataAccessorsAndLifetime(t *testing.T) {
	checkLeaks(t)
	var zero AudioData
	if !zero.Closed() || zero.Format() != SampleFormatUnknown || zero.SampleRate() != 0 || zero.Duration() != 0 {
		t.Fatal("zero AudioData is not closed")
	}
	if err := zero.CopyTo(make([]byte, 8), AudioDataCopyToOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("CopyTo on zero: %v", err)
	}
	if err := zero.Close(); err != nil {
		t.Fatal(err)
	}

	data := make([]byte, 1024*2*4)
	a, err := NewAudioData(data, AudioDataInit{Format: F32, SampleRate: 44100, NumberOfFrames: 1024, NumberOfChannels: 2, Timestamp: -7})
	if err != nil {
		t.Fatal(err)
	}
	if a.Format() != F32 || a.SampleRate() != 44100 || a.NumberOfFrames() != 1024 || a.NumberOfChannels() != 2 || a.Timestamp() != -7 {
		t.Fatalf("accessors: %v", a)
	}
	if d := a.Duration(); d != 23219 { // 1024/44100 s = 23219.95 us, truncated
		t.Fatalf("Duration = %d", d)
	}
	c, err := a.Clone()
	if err != nil {
		t.Fatal(err)
	}
	stale := a
	mustClose(t, a)
	mustClose(t, stale)
	if c.Closed() || c.NumberOfFrames() != 1024 {
		t.Fatal("clone closed with the original")
	}
	b, _ := NewAudioData(make([]byte, 4), AudioDataInit{Format: U8, SampleRate: 8000, NumberOfFrames: 4, NumberOfChannels: 1})
	defer b.Close()
	if b.h != stale.h {
		t.Fatal("test premise: handle should be reused")
	}
	if !stale.Closed() || stale.Format() != SampleFormatUnknown {
		t.Fatal("stale copy sees the new data")
	}
	if _, err := stale.Clone(); !errors.Is(err, ErrClosed) {
		t.Fatalf("stale Clone: %v", err)
	}
	if _, err := stale.AllocationSize(AudioDataCopyToOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("stale AllocationSize: %v", err)
	}
	mustClose(t, stale)
	if b.Closed() {
		t.Fatal("stale Close closed the new data")
	}
	mustClose(t, c)
}

// encode writes v (already in the target's integer or float domain) as
// sample i of format f.
func encode(buf []byte, f SampleFormat, i int, v float64) {
	switch f.interleaved() {
	case U8:
		buf[i] = byte(v)
	case S16:
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(int16(v)))
	case S32:
		binary.LittleEndian.PutUint32(buf[4*i:], uint32(int32(v)))
	case F32:
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(v)))
	}
}

func f32At(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) }

func TestAudioConversionValues(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		from SampleFormat
		in   float64
		to   SampleFormat
		want float64
		tol  float64
	}{
		{S16, 32767, F32, 1, 1e-4},
		{S16, 32767, F32, 32767.0 / 32768, 0},
		{S16, -32768, F32, -1, 0},
		{S16, 0, F32, 0, 0},
		{U8, 128, F32, 0, 0},
		{U8, 0, F32, -1, 0},
		{U8, 255, F32, 127.0 / 128, 0},
		{S32, math.MinInt32, F32, -1, 0},
		{S32, math.MaxInt32, F32, 1, 1e-6},
		{S32, 1 << 30, F32, 0.5, 0},
		{F32, 0.5, F32Planar, 0.5, 0},
		{F32, 1.5, F32, 1.5, 0}, // float to float is not clamped
		{F32, 0.5, S16, 16384, 0},
		{F32, 1, S16, 32767, 0}, // clamped
		{F32, -2, S16, -32768, 0},
		{F32, 2, U8, 255, 0},
		{F32, -1, U8, 0, 0},
		{F32, 0, U8, 128, 0},
		{F32, -0.5, S32, -1 << 30, 0},
		{S16, -32768, U8, 0, 0},
		{S16, 256, U8, 129, 0},
		{U8, 129, S16, 256, 0},
		{U8, 255, S32, 127 << 24, 0},
		{S32, 65536 * 5, S16, 5, 0},
		{S16, -5, S32Planar, -5 * 65536, 0},
		{S16Planar, 1234, S16, 1234, 0},
	}
	for _, tc := range tests {
		src := make([]byte, tc.from.BytesPerSample())
		encode(src, tc.from, 0, tc.in)
		a, err := NewAudioData(src, AudioDataInit{Format: tc.from, SampleRate: 48000, NumberOfFrames: 1, NumberOfChannels: 1})
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 4)
		if err := a.CopyTo(dst, AudioDataCopyToOptions{Format: tc.to}); err != nil {
			t.Fatal(err)
		}
		a.Close()
		var got float64
		switch tc.to.interleaved() {
		case U8:
			got = float64(dst[0])
		case S16:
			got = float64(int16(binary.LittleEndian.Uint16(dst)))
		case S32:
			got = float64(int32(binary.LittleEndian.Uint32(dst)))
		case F32:
			got = float64(f32At(dst, 0))
		}
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%v %v -> %v = %v, want %v", tc.from, tc.in, tc.to, got, tc.want)
		}
	}
}

// value is the test pattern for (frame, channel), an s16 value.
func value(f, c int) float64 { return float64((f*37+c*1000)%60000 - 30000) }

func TestAudioPlanarInterleaved(t *testing.T) {
	checkLeaks(t)
	const frames, chans = 37, 3
	for _, planarSrc := range []bool{false, true} {
		sf := S16
		if planarSrc {
			sf = S16Planar
		}
		src := make([]byte, frames*chans*2)
		for f := range frames {
			for c := range chans {
				i := f*chans + c
				if planarSrc {
					i = c*frames + f
				}
				encode(src, sf, i, value(f, c))
			}
		}
		a, err := NewAudioData(src, AudioDataInit{Format: sf, SampleRate: 48000, NumberOfFrames: frames, NumberOfChannels: chans})
		if err != nil {
			t.Fatal(err)
		}
		for _, df := range allSampleFormats {
			for _, r := range [][2]int{{0, 0}, {5, 0}, {5, 11}, {frames - 1, 1}} {
				off, cnt := r[0], r[1]
				n := cnt
				if n == 0 {
					n = frames - off
				}
				planes := 1
				if df.Planar() {
					planes = chans
				}
				for p := range planes {
					opts := AudioDataCopyToOptions{PlaneIndex: p, FrameOffset: off, FrameCount: cnt, Format: df}
					size, err := a.AllocationSize(opts)
					if err != nil {
						t.Fatal(err)
					}
					wantSize := n * df.BytesPerSample()
					if !df.Planar() {
						wantSize *= chans
					}
					if size != wantSize {
						t.Fatalf("%v->%v %+v: size %d, want %d", sf, df, opts, size, wantSize)
					}
					dst := make([]byte, size+3)
					dst[size] = 0x5A
					if err := a.CopyTo(dst, opts); err != nil {
						t.Fatal(err)
					}
					if dst[size] != 0x5A {
						t.Fatal("CopyTo wrote past AllocationSize")
					}
					check := func(i, f, c int) {
						want := value(f, c) / 32768 // normalized
						var got float64
						switch df.interleaved() {
						case U8:
							got = (float64(dst[i]) - 128) / 128
							want = math.RoundToEven(want*128) / 128
						case S16:
							got = float64(int16(binary.LittleEndian.Uint16(dst[2*i:]))) / 32768
						case S32:
							got = float64(int32(binary.LittleEndian.Uint32(dst[4*i:]))) / (1 << 31)
						case F32:
							got = float64(f32At(dst, i))
						}
						if got != want {
							t.Fatalf("%v->%v %+v: frame %d ch %d = %v, want %v", sf, df, opts, f, c, got, want)
						}
					}
					for i := range n {
						if df.Planar() {
							check(i, off+i, p)
						} else {
							for c := range chans {
								check(i*chans+c, off+i, c)
							}
						}
					}
				}
			}
		}
		a.Close()
	}
}

func TestAudioCopyToOptionsValidation(t *testing.T) {
	checkLeaks(t)
	a, err := NewAudioData(make([]byte, 10*2*4), AudioDataInit{Format: F32, SampleRate: 48000, NumberOfFrames: 10, NumberOfChannels: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tests := []struct {
		name  string
		opts  AudioDataCopyToOptions
		dst   int
		field string
	}{
		{"all", AudioDataCopyToOptions{}, 80, ""},
		{"planar plane 1", AudioDataCopyToOptions{Format: F32Planar, PlaneIndex: 1}, 40, ""},
		{"interleaved plane 1", AudioDataCopyToOptions{PlaneIndex: 1}, 80, "PlaneIndex"},
		{"negative plane", AudioDataCopyToOptions{Format: F32Planar, PlaneIndex: -1}, 80, "PlaneIndex"},
		{"plane past channels", AudioDataCopyToOptions{Format: F32Planar, PlaneIndex: 2}, 80, "PlaneIndex"},
		{"offset negative", AudioDataCopyToOptions{FrameOffset: -1}, 80, "FrameOffset"},
		{"offset at end", AudioDataCopyToOptions{FrameOffset: 10}, 80, "FrameOffset"},
		{"count too big", AudioDataCopyToOptions{FrameOffset: 4, FrameCount: 7}, 80, "FrameCount"},
		{"count negative", AudioDataCopyToOptions{FrameCount: -1}, 80, "FrameCount"},
		{"count exact", AudioDataCopyToOptions{FrameOffset: 4, FrameCount: 6}, 48, ""},
		{"bad format", AudioDataCopyToOptions{Format: 77}, 80, "Format"},
		{"dst short", AudioDataCopyToOptions{}, 79, "dst"},
		{"dst short converted", AudioDataCopyToOptions{Format: S16Planar}, 19, "dst"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.CopyTo(make([]byte, tc.dst), tc.opts)
			if got := fieldOf(err); got != tc.field || (tc.field == "" && err != nil) {
				t.Fatalf("error %v names %q, want %q", err, got, tc.field)
			}
			if tc.field != "dst" {
				_, err := a.AllocationSize(tc.opts)
				if got := fieldOf(err); got != tc.field {
					t.Fatalf("AllocationSize error %v names %q, want %q", err, got, tc.field)
				}
			}
		})
	}
}

func TestSampleFormatNames(t *testing.T) {
	for _, f := range allSampleFormats {
		g, err := ParseSampleFormat(f.String())
		if err != nil || g != f {
			t.Errorf("ParseSampleFormat(%q) = %v, %v", f.String(), g, err)
		}
	}
	if F32Planar.String() != "f32-planar" || !S16Planar.Planar() || S16.Planar() || S32Planar.BytesPerSample() != 4 || U8.BytesPerSample() != 1 {
		t.Error("format properties")
	}
	if _, err := ParseSampleFormat("s24"); fieldOf(err) != "format" {
		t.Errorf("ParseSampleFormat(s24): %v", err)
	}
}

package media

import "testing"

// The pools exist so that a running pipeline allocates nothing per frame;
// these tests pin that down (they also hold under -race, which is why the
// pools are not sync.Pool).
func TestSteadyStateAllocs(t *testing.T) {
	checkLeaks(t)
	const w, h = 1280, 720
	init := VideoFrameInit{Format: I420, CodedWidth: w, CodedHeight: h, Timestamp: 1, Duration: 2}
	data := make([]byte, w*h*3/2)
	layout := []PlaneLayout{{0, w}, {w * h, w / 2}, {w*h + w*h/4, w / 2}}
	dst := make([]byte, len(data))
	audio := make([]byte, 1024*2*2)
	audioInit := AudioDataInit{Format: S16, SampleRate: 48000, NumberOfFrames: 1024, NumberOfChannels: 2}
	adst := make([]byte, 1024*4)

	cases := []struct {
		name string
		fn   func()
	}{
		{"NewVideoFrame+Close", func() {
			f, err := NewVideoFrame(data, init)
			if err != nil {
				panic(err)
			}
			f.Close()
		}},
		{"AllocVideoFrame+Plane+Close", func() {
			f, err := AllocVideoFrame(init)
			if err != nil {
				panic(err)
			}
			p, _ := f.Plane(0)
			p.Data[0] = 1
			f.Close()
		}},
		{"Clone+WithTimestamp+CopyTo(layout)+Close", func() {
			f, _ := AllocVideoFrame(init)
			c, _ := f.Clone()
			r, _ := c.WithTimestamp(5, 6)
			f.Close()
			if _, err := r.CopyTo(dst, layout); err != nil {
				panic(err)
			}
			_ = r.Timestamp() + c.Duration() + int64(c.CodedWidth())
			c.Close()
			r.Close()
		}},
		{"NewAudioData+CopyTo(f32-planar)+Close", func() {
			a, err := NewAudioData(audio, audioInit)
			if err != nil {
				panic(err)
			}
			if err := a.CopyTo(adst, AudioDataCopyToOptions{Format: F32Planar, PlaneIndex: 1}); err != nil {
				panic(err)
			}
			a.Close()
		}},
	}
	for _, tc := range cases {
		for range 10 { // warm the free lists
			tc.fn()
		}
		if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tc.name, n)
		}
	}
}

func BenchmarkVideoFrameNewClose(b *testing.B) {
	init := VideoFrameInit{Format: I420, CodedWidth: 1920, CodedHeight: 1080}
	data := make([]byte, 1920*1080*3/2)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := NewVideoFrame(data, init)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkAllocVideoFrameClose(b *testing.B) {
	init := VideoFrameInit{Format: RGBA, CodedWidth: 1920, CodedHeight: 1080}
	b.ReportAllocs()
	for b.Loop() {
		f, err := AllocVideoFrame(init)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkCloneCloseParallel(b *testing.B) {
	f, _ := AllocVideoFrame(VideoFrameInit{Format: NV12, CodedWidth: 1920, CodedHeight: 1080})
	defer f.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, err := f.Clone()
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}

func TestAudioWithTimestamp(t *testing.T) {
	a, err := NewAudioData(make([]byte, 8*4), AudioDataInit{Format: F32, SampleRate: 48000, NumberOfFrames: 8, NumberOfChannels: 1, Timestamp: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.WithTimestamp(99)
	if err != nil {
		t.Fatal(err)
	}
	if a.Timestamp() != 5 || b.Timestamp() != 99 || b.NumberOfFrames() != 8 {
		t.Fatalf("timestamps %d %d frames %d", a.Timestamp(), b.Timestamp(), b.NumberOfFrames())
	}
	a.Close()
	if b.Closed() {
		t.Fatal("retimed copy closed with the original")
	}
	b.Close()
	if _, err := a.WithTimestamp(1); err == nil {
		t.Fatal("WithTimestamp of closed data succeeded")
	}
}

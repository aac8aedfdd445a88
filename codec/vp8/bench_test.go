package vp8

import (
	"testing"

	"github.com/shadercast/shadercast/media"
)

// BenchmarkVP8Encode encodes scrolling textured content (every frame
// differs) with realtime settings and the default cpu-used, one thread.
func BenchmarkVP8Encode(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
		bps  int
	}{{"720p", 1280, 720, 2_500_000}, {"1080p", 1920, 1080, 4_500_000}} {
		b.Run(sz.name, func(b *testing.B) {
			e := newEnc(b, sz.w, sz.h, sz.bps)
			frames := make([]media.VideoFrame, 16)
			for i := range frames {
				frames[i] = pattern(b, sz.w, sz.h, 0, 4*i, true)
				defer frames[i].Close()
			}
			buf := make([]byte, 0, 1<<20)
			var ts, bytes int64
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ts += frameDur
				f, err := frames[i%len(frames)].WithTimestamp(ts, frameDur)
				if err != nil {
					b.Fatal(err)
				}
				p, err := e.Encode(f, false, buf)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				buf, bytes = p.Data[:0], bytes+int64(len(p.Data))
			}
			b.ReportMetric(float64(bytes)*8*30/1e6/float64(b.N), "Mbps@30fps")
		})
	}
}

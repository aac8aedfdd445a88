package plugins

import (
	"context"
	"testing"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
)

// BenchmarkFilters720p measures a whole 1280x720 frame (RGBA upload, the
// filter, I420 conversion, readback) per built-in filter; "none" is the
// pipeline without a pass, so a filter's own cost is the difference. The
// gpu-ms metric is the pass's time from timer queries where the driver
// has them.
func BenchmarkFilters720p(b *testing.B) {
	r, err := Open(Options{Builtins: true})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	src := noise(1280, 720, 1)
	names := []string{"none"}
	for _, in := range r.List() {
		if in.Kind != "native" || in.Name == "invert" {
			names = append(names, in.Name)
		}
	}
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			var passes []compositor.Pass
			if name != "none" {
				p, err := r.New(name)
				if err != nil {
					b.Fatal(err)
				}
				passes = append(passes, p)
			}
			pl, err := compositor.NewPipeline(testDevice, compositor.Config{}, passes...)
			if err != nil {
				b.Fatal(err)
			}
			defer pl.Close()
			fr, err := media.NewVideoFrame(src.Pix, media.VideoFrameInit{Format: media.RGBA, CodedWidth: 1280, CodedHeight: 720})
			if err != nil {
				b.Fatal(err)
			}
			defer fr.Close()
			var out compositor.Output
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if name == "flash" && i%2 == 0 {
					pl.SetUniform("flash", "flash", true)
				}
				if err := pl.Process(context.Background(), fr, &out); err != nil {
					b.Fatal(err)
				}
				out.Frame.Close()
			}
			if st := pl.Stats(); name != "none" && len(st.Passes) == 1 && st.Passes[0].Measured {
				b.ReportMetric(st.Passes[0].GPUMillis, "gpu-ms")
			}
		})
	}
}

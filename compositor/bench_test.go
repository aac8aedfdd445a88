package compositor

import (
	"context"
	"fmt"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/media"
)

// BenchmarkPipeline: an I420 frame in, through the passes, I420 read back.
// Steady state must allocate nothing per frame.
func BenchmarkPipeline(b *testing.B) {
	sizes := []struct {
		name string
		w, h int
	}{{"720p", 1280, 720}, {"1080p", 1920, 1080}}
	for _, chain := range []string{"identity", "barcode"} {
		for _, sz := range sizes {
			b.Run("I420-"+sz.name+"-"+chain, func(b *testing.B) {
				var passes []Pass
				switch chain {
				case "identity":
					passes = []Pass{identity(b)}
				case "barcode":
					passes = []Pass{benchBarcodePass(b)}
				}
				benchPipeline(b, Config{}, []media.VideoFrame{benchFrame(b, sz.w, sz.h, chain == "barcode")}, passes...)
			})
		}
	}
}

// BenchmarkBarcodeMoving: the barcode pass on the test scene in motion at
// 720p, as the service runs it without a GPU (analysis at 427 px): 60
// consecutive frames of the pattern, played forwards and backwards in a
// loop, at 30 fps and at 3 fps nominal (ten times the motion per frame:
// the QR code turns 5° a frame). Following codes, re-reading them and
// decoding them again are all in the figure.
func BenchmarkBarcodeMoving(b *testing.B) {
	for _, fps := range []float64{30, 3} {
		b.Run(fmt.Sprintf("720p-%gfps", fps), func(b *testing.B) {
			params := barcode.DefaultParams()
			params.MaxAnalysisSide = 427
			fs := benchFrames(b, 1280, 720, fps, 60)
			for i := len(fs) - 2; i > 0; i-- {
				fs = append(fs, fs[i]) // and back (Close is idempotent)
			}
			benchPipeline(b, Config{}, fs, NewBarcodePass(params))
		})
	}
}

// BenchmarkReadback compares the synchronous and asynchronous readbacks
// on the identity chain.
func BenchmarkReadback(b *testing.B) {
	for _, m := range []struct {
		name string
		mode ReadbackMode
	}{{"sync", ReadbackSync}, {"async", ReadbackAsync}} {
		b.Run("I420-720p-"+m.name, func(b *testing.B) {
			benchPipeline(b, Config{Readback: m.mode}, []media.VideoFrame{benchFrame(b, 1280, 720, false)}, identity(b))
		})
	}
}

func benchPipeline(b *testing.B, cfg Config, ins []media.VideoFrame, passes ...Pass) {
	for _, in := range ins {
		defer in.Close()
	}
	in := ins[0]
	p, err := NewPipeline(testDevice, cfg, passes...)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	var out Output
	// Warm up: first frames allocate the sized GL objects and pools.
	for i := 0; i < 3; i++ {
		if err := p.Process(ctx, in, &out); err != nil {
			b.Fatal(err)
		}
		out.Frame.Close()
	}
	b.ReportAllocs()
	b.SetBytes(int64(in.CodedWidth() * in.CodedHeight() * 3 / 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Process(ctx, ins[i%len(ins)], &out); err != nil {
			b.Fatal(err)
		}
		out.Frame.Close()
	}
	b.StopTimer()
	st := p.Stats()
	for _, ps := range st.Passes {
		if ps.Measured {
			b.ReportMetric(ps.GPUMillis, ps.Name+"-gpu-ms")
		}
	}
	b.ReportMetric(st.InputGPUMillis, "yuv2rgb-gpu-ms")
	b.ReportMetric(st.OutputGPUMillis, "pack-gpu-ms")
}

package barcodepass

import (
	"fmt"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
)

// BenchmarkPipeline: an I420 frame of the test pattern (three barcodes
// over a textured background) in, through the barcode pass with its
// defaults, I420 read back; beside compositor's BenchmarkPipeline (the
// identity pass). Steady state must allocate nothing per frame.
func BenchmarkPipeline(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"720p", 1280, 720}, {"1080p", 1920, 1080}} {
		b.Run("I420-"+sz.name+"-barcode", func(b *testing.B) {
			compositortest.BenchPipeline(b, testDevice, compositor.Config{},
				[]media.VideoFrame{gltest.BenchFrame(b, sz.w, sz.h, true)}, New(barcode.DefaultParams()))
		})
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
			fs := gltest.PingPong(gltest.BenchFrames(b, 1280, 720, fps, 60))
			compositortest.BenchPipeline(b, testDevice, compositor.Config{}, fs, New(params))
		})
	}
}

// BenchmarkComposite/4x720p-grid-barcode1: compositor's
// BenchmarkComposite/4x720p-grid with the barcode pass in the first
// layer's own chain, as the service runs it without a GPU (analysis at
// 427 px), on the test scene in motion (BenchmarkBarcodeMoving's frames):
// the difference is what a layer's barcode pass costs.
func BenchmarkComposite(b *testing.B) {
	b.Run("4x720p-grid-barcode1", func(b *testing.B) {
		compositortest.BenchGrid(b, testDevice, compositortest.Grid{Chain: func(p *compositor.Pipeline) (*compositor.LayerChain, error) {
			params := barcode.DefaultParams()
			params.MaxAnalysisSide = 427
			return p.NewLayerChain("s0", New(params))
		}})
	})
}

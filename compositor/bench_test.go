package compositor_test

import (
	"testing"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
)

// The benchmarks are external tests: their loops are compositortest's,
// shared with the pass kinds' benchmarks (barcodepass, isfpass).

func identity(b *testing.B) compositor.Pass {
	p, err := compositor.NewBuiltinPass("identity", "identity.frag", nil)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPipeline: an I420 frame in, through the identity pass, I420
// read back. Steady state must allocate nothing per frame. (The barcode
// pass's variants are package barcodepass's BenchmarkPipeline.)
func BenchmarkPipeline(b *testing.B) {
	sizes := []struct {
		name string
		w, h int
	}{{"720p", 1280, 720}, {"1080p", 1920, 1080}}
	for _, sz := range sizes {
		b.Run("I420-"+sz.name+"-identity", func(b *testing.B) {
			compositortest.BenchPipeline(b, compositor.SharedTestDevice(), compositor.Config{},
				[]media.VideoFrame{gltest.BenchFrame(b, sz.w, sz.h, false)}, identity(b))
		})
	}
}

// BenchmarkRenditions: BenchmarkPipeline's 720p identity chain with the
// rendition ladder read back beside the output (none; half; half and
// quarter), asynchronously.
func BenchmarkRenditions(b *testing.B) {
	for _, l := range []struct {
		name  string
		sizes [][2]int
	}{{"720p", nil}, {"720p+360p", [][2]int{{640, 360}}}, {"720p+360p+180p", [][2]int{{640, 360}, {320, 180}}}} {
		b.Run(l.name, func(b *testing.B) {
			compositortest.BenchRenditions(b, compositor.SharedTestDevice(), compositor.Config{},
				[]media.VideoFrame{gltest.BenchFrame(b, 1280, 720, false)}, l.sizes, identity(b))
		})
	}
}

// BenchmarkReadback compares the synchronous and asynchronous readbacks
// on the identity chain.
func BenchmarkReadback(b *testing.B) {
	for _, m := range []struct {
		name string
		mode compositor.ReadbackMode
	}{{"sync", compositor.ReadbackSync}, {"async", compositor.ReadbackAsync}} {
		b.Run("I420-720p-"+m.name, func(b *testing.B) {
			compositortest.BenchPipeline(b, compositor.SharedTestDevice(), compositor.Config{Readback: m.mode},
				[]media.VideoFrame{gltest.BenchFrame(b, 1280, 720, false)}, identity(b))
		})
	}
}

// BenchmarkComposite: sources composed into one I420 canvas read back
// asynchronously, per frame. 4x720p-grid is issue 11's: four I420
// 1280x720 sources in a 2x2 grid of a 1280x720 canvas
// (scripts/bench-compare runs GStreamer's glvideomixer on the same work).
// The grid with a layer's barcode pass and during a dissolve are
// BenchmarkComposite in packages barcodepass and isfpass.
func BenchmarkComposite(b *testing.B) {
	b.Run("4x720p-grid", func(b *testing.B) {
		compositortest.BenchGrid(b, compositor.SharedTestDevice(), compositortest.Grid{})
	})
}

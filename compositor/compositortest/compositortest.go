// Package compositortest holds the test helpers that drive a compositor
// pipeline: the device a package's tests share, pipelines read back as
// RGBA, leak checks and the benchmarks' loops. The pass kinds' packages
// (barcodepass, isfpass) and compositor's external tests use it.
// compositor's internal tests cannot import it (Go forbids the cycle), so
// their TestMain and their two small pipeline helpers stay in compositor.
package compositortest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

// Main opens the device the package's tests share into *dev (a context
// per test would spend most of the run creating contexts), runs them and
// exits. Without OpenGL 3.3 it fails, saying how to get it.
func Main(m *testing.M, dev **compositor.Device) {
	d, err := compositor.OpenDevice(compositor.DeviceOptions{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "these tests need OpenGL 3.3 through EGL (Mesa llvmpipe works: run scripts/install-deps): %v\n", err)
		os.Exit(1)
	}
	*dev = d
	info := d.Info()
	fmt.Fprintf(os.Stderr, "GL: %s | %s | %s | software=%v timers=%v\n", info.Platform, info.Renderer, info.Version, info.Software, info.TimerQueries)
	code := m.Run()
	d.Close()
	os.Exit(code)
}

// RGBAPipeline is a pipeline of passes on d whose output is RGBA, closed
// when the test ends.
func RGBAPipeline(t testing.TB, d *compositor.Device, passes ...compositor.Pass) *compositor.Pipeline {
	t.Helper()
	p, err := compositor.NewPipeline(d, compositor.Config{Output: compositor.OutputRGBA}, passes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// ProcessRGBA runs fr through p and returns the output's RGBA bytes.
func ProcessRGBA(t testing.TB, p *compositor.Pipeline, fr media.VideoFrame) []byte {
	t.Helper()
	var o compositor.Output
	if err := p.Process(context.Background(), fr, &o); err != nil {
		t.Fatal(err)
	}
	defer o.Frame.Close()
	return gltest.PlaneBytes(t, o.Frame, 0)
}

// Visible is a shown layer at r with fit, opaque, at unit gain.
func Visible(r scene.Rect, fit scene.Fit) scene.Layer {
	return scene.Layer{Rect: r, Fit: fit, Opacity: 1, Visible: true, Gain: 1}
}

// CheckObjects fails t for each kind of GL object whose count on d
// differs from base (Device.Objects before the test made any).
func CheckObjects(t testing.TB, d *compositor.Device, base map[string]int) {
	t.Helper()
	now := d.Objects()
	for k, v := range now {
		if v != base[k] {
			t.Errorf("%s objects: %d before, %d after", k, base[k], v)
		}
	}
	for k, v := range base {
		if _, ok := now[k]; !ok && v != 0 {
			t.Errorf("%s objects: %d before, none after", k, v)
		}
	}
}

// BenchPipeline measures ins (played in a loop, closed at the end)
// through a pipeline of passes on d: ns per frame, allocations, and the
// passes' GPU times where the device measures them.
func BenchPipeline(b *testing.B, d *compositor.Device, cfg compositor.Config, ins []media.VideoFrame, passes ...compositor.Pass) {
	BenchRenditions(b, d, cfg, ins, nil, passes...)
}

// BenchRenditions is BenchPipeline asking every frame for renditions of
// sizes (width, height) too.
func BenchRenditions(b *testing.B, d *compositor.Device, cfg compositor.Config, ins []media.VideoFrame, sizes [][2]int, passes ...compositor.Pass) {
	for _, in := range ins {
		defer in.Close()
	}
	in := ins[0]
	p, err := compositor.NewPipeline(d, cfg, passes...)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	var out compositor.Output
	for _, sz := range sizes {
		out.Renditions = append(out.Renditions, compositor.Rendition{Width: sz[0], Height: sz[1]})
	}
	closeOut := func() {
		out.Frame.Close()
		for _, r := range out.Renditions {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			r.Frame.Close()
		}
	}
	// Warm up: first frames allocate the sized GL objects and pools.
	for i := 0; i < 3; i++ {
		if err := p.Process(ctx, in, &out); err != nil {
			b.Fatal(err)
		}
		closeOut()
	}
	b.ReportAllocs()
	b.SetBytes(int64(in.CodedWidth() * in.CodedHeight() * 3 / 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Process(ctx, ins[i%len(ins)], &out); err != nil {
			b.Fatal(err)
		}
		closeOut()
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

// Grid is what BenchGrid adds to the plain grid.
type Grid struct {
	// Chain, when set, makes the first layer's chain; that layer then
	// plays the moving test scene (forwards and backwards).
	Chain func(p *compositor.Pipeline) (*compositor.LayerChain, error)
	// Transition, when set, makes a transition chain: the grid is drawn
	// half way through it from its mirror image.
	Transition func(p *compositor.Pipeline) (*compositor.LayerChain, error)
}

// BenchGrid measures issue 11's grid: four I420 1280x720 sources in a 2x2
// grid of a 1280x720 canvas, read back as I420 asynchronously, with what
// g adds. Two frames per source alternate, so that each composition has
// new pictures to upload, as live sources do (a repeated one is not
// uploaded again).
func BenchGrid(b *testing.B, d *compositor.Device, g Grid) {
	const W, H = 1280, 720
	c := &compositor.Composition{Width: W, Height: H, Duration: 33333, Frames: make([]media.VideoFrame, 4)}
	var sets [2][4]media.VideoFrame
	for k := range sets {
		for i := range 4 {
			sets[k][i] = gltest.BenchFrame(b, W, H, i == k)
			defer sets[k][i].Close()
		}
	}
	var moving []media.VideoFrame
	if g.Chain != nil {
		moving = gltest.BenchFrames(b, W, H, 30, 60)
		for _, f := range moving {
			defer f.Close()
		}
		moving = gltest.PingPong(moving)
	}
	p, err := compositor.NewPipeline(d, compositor.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var chain *compositor.LayerChain
	if g.Chain != nil {
		if chain, err = g.Chain(p); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 4; i++ {
		l := compositor.Layer{Frame: i, Spec: Visible(scene.Rect{float64(i%2) * W / 2, float64(i/2) * H / 2, W / 2, H / 2}, scene.FitContain)}
		if i == 0 {
			l.Chain = chain
		}
		c.Layers = append(c.Layers, l)
	}
	if g.Transition != nil {
		tr, err := g.Transition(p)
		if err != nil {
			b.Fatal(err)
		}
		mirror := make([]compositor.Layer, 4)
		for i := range mirror {
			mirror[i] = compositor.Layer{Frame: i, Spec: Visible(scene.Rect{float64(1-i%2) * W / 2, float64(1-i/2) * H / 2, W / 2, H / 2}, scene.FitContain)}
		}
		c.Transition = &compositor.Transition{From: mirror, Chain: tr, Progress: 0.5}
	}
	var out compositor.Output
	ctx := context.Background()
	frame := func(i int) {
		c.Timestamp = int64(i) * 33333
		copy(c.Frames, sets[i%2][:])
		if g.Chain != nil {
			c.Frames[0] = moving[i%len(moving)]
		}
		if err := p.Compose(ctx, c, &out); err != nil {
			b.Fatal(err)
		}
		out.Frame.Close()
	}
	for i := 0; i < 5; i++ { // warm up: allocations, first programs
		frame(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		frame(i)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/frame")
}

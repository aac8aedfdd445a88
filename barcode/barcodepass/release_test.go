package barcodepass

import (
	"context"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
	"github.com/shadercast/shadercast/internal/codetest"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

// TestReleasesEverything: the barcode pass in a pipeline's chain and in a
// layer's (reading I420 planes and RGBA, at two sizes, so that its sized
// objects and its YUV programs are made and remade) leaves no GL object
// once the pipeline is closed; a pass already in a pipeline cannot join a
// second one.
func TestReleasesEverything(t *testing.T) {
	base := testDevice.Objects()
	out := New(barcode.DefaultParams())
	p, err := compositor.NewPipeline(testDevice, compositor.Config{}, out)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := p.NewLayerChain("cam", New(barcode.DefaultParams()))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{320, 180}, {160, 120}} {
		w, h := size[0], size[1]
		for _, fr := range []media.VideoFrame{gltest.I420Frame(t, w, h, nil), gltest.RGBAFrame(t, gltest.Gradient(w, h, 255), 0)} {
			var o compositor.Output
			if err := p.Process(context.Background(), fr, &o); err != nil {
				t.Fatal(err)
			}
			o.Frame.Close()
			c := &compositor.Composition{Width: 320, Height: 180, Frames: []media.VideoFrame{fr},
				Layers: []compositor.Layer{{Frame: 0, Spec: compositortest.Visible(scene.Rect{0, 0, 320, 180}, scene.FitStretch), Chain: chain}}}
			if err := p.Compose(context.Background(), c, &o); err != nil {
				t.Fatal(err)
			}
			o.Frame.Close()
			fr.Close()
		}
	}
	if _, err := compositor.NewPipeline(testDevice, compositor.Config{}, out); err == nil {
		t.Error("a barcode pass joined a second pipeline")
	}
	p.Close()
	compositortest.CheckObjects(t, testDevice, base)
}

// TestUniforms: the pass has one input, "highlight", a labelled bool
// (ISF's type name, like every pass kind); it takes a bool only, and off
// it keeps detecting.
func TestUniforms(t *testing.T) {
	b := New(barcode.DefaultParams())
	u := b.Uniforms()
	if len(u) != 1 || u[0].Name != "highlight" || u[0].Type != "bool" || u[0].Label == "" || u[0].Value != true {
		t.Fatalf("uniforms %+v", u)
	}
	if err := b.SetUniform("highlight", 1.0); err == nil {
		t.Error("highlight took a float")
	}
	if err := b.SetUniform("other", true); err == nil {
		t.Error("an unknown input was set")
	}
	if err := b.SetUniform("highlight", false); err != nil || b.Uniforms()[0].Value != false {
		t.Errorf("highlight off: %v, %+v", err, b.Uniforms())
	}
}

// TestResultsBelongToTheirOutput: what the pass reports belongs to the
// Output it went to. A frame with a code into one Output, then a frame
// without into another, leaves the first Output's code as it was (the
// pass keeps drawing from its own copy); refilling the first Output
// reuses its storage.
func TestResultsBelongToTheirOutput(t *testing.T) {
	img := codetest.QROnGrey(t, "owned", 120, 320, 240, 100, 60, 120)
	withCode, blank := gltest.RGBAFrame(t, img, 0), gltest.RGBAFrame(t, gltest.Gradient(320, 240, 255), 1)
	defer withCode.Close()
	defer blank.Close()
	params := barcode.DefaultParams()
	params.DisableCache = true
	p, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA, Readback: compositor.ReadbackSync}, New(params))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var o1, o2 compositor.Output
	process := func(fr media.VideoFrame, o *compositor.Output) {
		t.Helper()
		if err := p.Process(context.Background(), fr, o); err != nil {
			t.Fatal(err)
		}
		o.Frame.Close()
	}
	process(withCode, &o1)
	if got := Barcodes(o1.Results); len(got) != 1 || got[0].RawValue != "owned" {
		t.Fatalf("first frame: %+v", got)
	}
	first := o1.Results[0]
	process(blank, &o2)
	if got := Barcodes(o2.Results); len(got) != 0 {
		t.Fatalf("blank frame: %+v", got)
	}
	if got := Barcodes(o1.Results); len(got) != 1 || got[0].RawValue != "owned" || len(got[0].CornerPoints) != 4 {
		t.Errorf("the first Output after a later frame into another: %+v", got)
	}
	process(withCode, &o1)
	if o1.Results[0] != first {
		t.Error("refilling an Output did not reuse its result's storage")
	}
}

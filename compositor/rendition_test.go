package compositor

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
)

// refBilinear scales an RGB image (3 bytes a pixel) to tw×th the way a
// GL texture fetch with linear filtering and clamped edges does at each
// target pixel's centre, rounding to 8 bits as an RGBA8 target stores it.
func refBilinear(rgb []uint8, w, h, tw, th int) []uint8 {
	out := make([]uint8, 3*tw*th)
	at := func(x, y, c int) float64 {
		x, y = min(max(x, 0), w-1), min(max(y, 0), h-1)
		return float64(rgb[3*(y*w+x)+c])
	}
	for y := 0; y < th; y++ {
		v := (float64(y)+0.5)*float64(h)/float64(th) - 0.5
		y0 := int(math.Floor(v))
		fy := v - float64(y0)
		for x := 0; x < tw; x++ {
			u := (float64(x)+0.5)*float64(w)/float64(tw) - 0.5
			x0 := int(math.Floor(u))
			fx := u - float64(x0)
			for c := 0; c < 3; c++ {
				top := at(x0, y0, c)*(1-fx) + at(x0+1, y0, c)*fx
				bot := at(x0, y0+1, c)*(1-fx) + at(x0+1, y0+1, c)*fx
				out[3*(y*tw+x)+c] = uint8(math.Round(top*(1-fy) + bot*fy))
			}
		}
	}
	return out
}

// refRendition is what a tw×th rendition of a w×h RGB output should be:
// halvings while the half is still at least the rendition, then one last
// step (stepSizes, written out here again so that a change there is
// checked against this reading of the design).
func refRendition(rgb []uint8, w, h, tw, th int) []uint8 {
	for (w+1)/2 >= tw && (h+1)/2 >= th && (w != tw || h != th) {
		hw, hh := (w+1)/2, (h+1)/2
		rgb, w, h = refBilinear(rgb, w, h, hw, hh), hw, hh
	}
	if w != tw || h != th {
		rgb = refBilinear(rgb, w, h, tw, th)
	}
	return rgb
}

// TestRenditionsMatchReference: each rendition asked for is the output
// scaled on the GPU as the Go reference scales it, then converted to
// I420; sync and async readback agree; a size out of range is reported
// on its rendition alone; nothing leaks.
func TestRenditionsMatchReference(t *testing.T) {
	base := testDevice.Objects()
	const w, h = 322, 182
	cs := media.ColorSpaceBT709Limited
	sizes := [][2]int{{161, 91}, {81, 46}, {322, 182}, {100, 60}, {40, 23}}
	for _, mode := range []ReadbackMode{ReadbackSync, ReadbackAsync} {
		t.Run(map[ReadbackMode]string{ReadbackSync: "sync", ReadbackAsync: "async"}[mode], func(t *testing.T) {
			p, err := NewPipeline(testDevice, Config{Readback: mode, OutputColorSpace: cs})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			fr, planes := testFrame(t, media.RGBA, w, h, cs, 7)
			defer fr.Close()
			rgb := refRGB(media.RGBA, w, h, planes, cs)
			out := Output{}
			for _, sz := range sizes {
				out.Renditions = append(out.Renditions, Rendition{Width: sz[0], Height: sz[1]})
			}
			out.Renditions = append(out.Renditions, Rendition{Width: 8, Height: 8}, Rendition{Width: w + 2, Height: h})
			// Twice: the second frame reuses the slots.
			for round := 0; round < 2; round++ {
				if err := p.Process(context.Background(), fr, &out); err != nil {
					t.Fatal(err)
				}
				out.Frame.Close()
				for i, sz := range sizes {
					rd := out.Renditions[i]
					if rd.Err != nil {
						t.Fatalf("%dx%d: %v", sz[0], sz[1], rd.Err)
					}
					f := rd.Frame
					if f.CodedWidth() != sz[0] || f.CodedHeight() != sz[1] || f.Format() != media.I420 || f.ColorSpace() != cs || f.Timestamp() != fr.Timestamp() {
						t.Fatalf("%dx%d: got %v %dx%d %+v ts %d", sz[0], sz[1], f.Format(), f.CodedWidth(), f.CodedHeight(), f.ColorSpace(), f.Timestamp())
					}
					Y, U, V := refI420(refRendition(rgb, w, h, sz[0], sz[1]), sz[0], sz[1], cs)
					for pi, want := range [][]byte{Y, U, V} {
						got := gltest.PlaneBytes(t, f, pi)
						if d, at := maxDiff(got, want); d > 2 {
							t.Errorf("%dx%d plane %d differs by %d at %d (got %d want %d)", sz[0], sz[1], pi, d, at, got[at], want[at])
						}
					}
					f.Close()
				}
				for _, rd := range out.Renditions[len(sizes):] {
					if !errors.Is(rd.Err, ErrRendition) || !rd.Frame.Closed() && rd.Frame.CodedWidth() != 0 {
						t.Errorf("%dx%d: err %v, frame %dx%d; want ErrRendition and no frame", rd.Width, rd.Height, rd.Err, rd.Frame.CodedWidth(), rd.Frame.CodedHeight())
					}
				}
			}
		})
	}
	checkObjectsBack(t, base)
}

// TestRenditionsEvicted: asking for more sizes than the pipeline keeps
// releases the least recent, and what a size costs comes back.
func TestRenditionsEvicted(t *testing.T) {
	base := testDevice.Objects()
	p, err := NewPipeline(testDevice, Config{Readback: ReadbackAsync})
	if err != nil {
		t.Fatal(err)
	}
	fr := gltest.SolidFrame(t, 256, 128, [4]byte{200, 40, 40, 255})
	defer fr.Close()
	for i := 0; i < 3*maxRenditions; i++ {
		out := Output{Renditions: []Rendition{{Width: 64, Height: 32}, {Width: 100 + i, Height: 50}}}
		if err := p.Process(context.Background(), fr, &out); err != nil {
			t.Fatal(err)
		}
		out.Frame.Close()
		for _, rd := range out.Renditions {
			if rd.Err != nil {
				t.Fatal(rd.Err)
			}
			rd.Frame.Close()
		}
	}
	if n := len(p.rends.slots); n > maxRenditions {
		t.Errorf("%d rendition sizes kept, at most %d", n, maxRenditions)
	}
	p.Close()
	checkObjectsBack(t, base)
}

// checkObjectsBack fails unless the device counts the GL objects it
// counted at base.
func checkObjectsBack(t *testing.T, base map[string]int) {
	t.Helper()
	after := testDevice.Objects()
	for k, v := range after {
		if v != base[k] {
			t.Errorf("%s: %d before, %d after", k, base[k], v)
		}
	}
}

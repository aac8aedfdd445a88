package plugins

import (
	"image"
	"math"
	"testing"
)

// filterCase is one example filter with non-default inputs and its
// expected output computed in Go from the filter's documented behaviour.
type filterCase struct {
	name   string
	inputs map[string]any
	ref    func(src *image.RGBA) *image.RGBA
	tol    int
	maxBad float64
}

func filterCases() []filterCase {
	return []filterCase{
		{name: "vignette", inputs: map[string]any{"amount": 0.8, "radius": 0.6, "center": []float64{0.3, 0.7}}, tol: 2, maxBad: 0.002,
			ref: func(src *image.RGBA) *image.RGBA {
				aspect := float64(src.Rect.Dx()) / float64(src.Rect.Dy())
				return reference(src, func(u, v float64) [4]float64 {
					c := texelAt(src, u, v)
					d := math.Hypot((u-0.3)*aspect, v-0.7)
					k := 1 - 0.8*smoothstep(0.3, 0.6, d)
					return [4]float64{c[0] * k, c[1] * k, c[2] * k, c[3]}
				})
			}},
		{name: "chromakey", inputs: map[string]any{"keyColor": []float64{0.05, 0.9, 0.08, 1}, "threshold": 0.15, "smoothness": 0.1}, tol: 2, maxBad: 0.005,
			ref: func(src *image.RGBA) *image.RGBA {
				chroma := func(r, g, b float64) (float64, float64) {
					y := 0.2126*r + 0.7152*g + 0.0722*b
					return (b - y) / 1.8556, (r - y) / 1.5748
				}
				kb, kr := chroma(0.05, 0.9, 0.08)
				return reference(src, func(u, v float64) [4]float64 {
					c := texelAt(src, u, v)
					cb, cr := chroma(c[0], c[1], c[2])
					keep := smoothstep(0.15, 0.25, math.Hypot(cb-kb, cr-kr))
					return [4]float64{c[0] * keep, c[1] * keep, c[2] * keep, c[3] * keep}
				})
			}},
		{name: "pixelate", inputs: map[string]any{"cellSize": 7.6}, tol: 0, maxBad: 0,
			ref: func(src *image.RGBA) *image.RGBA {
				w, h := src.Rect.Dx(), src.Rect.Dy()
				const size = 7 // floor(7.6)
				return reference(src, func(u, v float64) [4]float64 {
					px, py := int(u*float64(w)), int(v*float64(h))
					cx := min(px/size*size+size/2, w-1)
					cy := min(py/size*size+size/2, h-1)
					return texel(src, cx, cy)
				})
			}},
		{name: "colorgrade", inputs: map[string]any{"exposure": 0.5, "contrast": 1.3, "saturation": 0.6, "look": 1}, tol: 2, maxBad: 0,
			ref: func(src *image.RGBA) *image.RGBA {
				return reference(src, func(u, v float64) [4]float64 {
					c := texelAt(src, u, v)
					var rgb [3]float64
					for k := range rgb {
						rgb[k] = (c[k]*math.Sqrt2-0.5)*1.3 + 0.5
					}
					y := 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
					look := [3]float64{1.08, 1, 0.88}
					for k := range rgb {
						rgb[k] = (y + (rgb[k]-y)*0.6) * look[k]
					}
					return [4]float64{rgb[0], rgb[1], rgb[2], c[3]}
				})
			}},
		{name: "edgeglow", inputs: map[string]any{"glowColor": []float64{1, 0.2, 0.6, 1}, "strength": 0.7}, tol: 2, maxBad: 0.002,
			ref: func(src *image.RGBA) *image.RGBA {
				w, h := src.Rect.Dx(), src.Rect.Dy()
				return reference(src, func(u, v float64) [4]float64 {
					x, y := int(u*float64(w)), int(v*float64(h))
					l := func(dx, dy int) float64 { return luma(texel(src, x+dx, y+dy)) }
					gx := (l(1, 1) + 2*l(1, 0) + l(1, -1)) - (l(-1, 1) + 2*l(-1, 0) + l(-1, -1))
					gy := (l(-1, 1) + 2*l(0, 1) + l(1, 1)) - (l(-1, -1) + 2*l(0, -1) + l(1, -1))
					e := math.Min(1, math.Hypot(gx, gy)*0.7)
					c := texel(src, x, y)
					return [4]float64{c[0] + e, c[1] + 0.2*e, c[2] + 0.6*e, c[3]}
				})
			}},
		{name: "magnify", inputs: map[string]any{"center": []float64{0.6, 0.4}, "radius": 0.3, "zoom": 2.5}, tol: 3, maxBad: 0.01,
			ref: func(src *image.RGBA) *image.RGBA {
				aspect := float64(src.Rect.Dx()) / float64(src.Rect.Dy())
				return reference(src, func(u, v float64) [4]float64 {
					if math.Hypot((u-0.6)*aspect, v-0.4) < 0.3 {
						u, v = 0.6+(u-0.6)/2.5, 0.4+(v-0.4)/2.5
					}
					return sample(src, u, v)
				})
			}},
		{name: "scanlines", tol: 1, maxBad: 0,
			ref: func(src *image.RGBA) *image.RGBA {
				h := src.Rect.Dy()
				return reference(src, func(u, v float64) [4]float64 {
					c := bilinear(src, u, v)
					k := 1 - 0.4*((u-0.5)*(u-0.5)+(v-0.5)*(v-0.5))
					if int(v*float64(h))%4 >= 2 {
						k *= 0.7
					}
					return [4]float64{c[0] * k, c[1] * k, c[2] * k, 1}
				})
			}},
		{name: "flash", inputs: map[string]any{"flash": true, "flashColor": []float64{1, 0.5, 0, 0.5}}, tol: 2, maxBad: 0,
			ref: func(src *image.RGBA) *image.RGBA {
				return reference(src, func(u, v float64) [4]float64 {
					c := texelAt(src, u, v)
					return [4]float64{c[0]*0.5 + 0.5, c[1]*0.5 + 0.25, c[2] * 0.5, c[3]}
				})
			}},
	}
}

// texelAt is the texel under ISF normalized coordinate (u, v).
func texelAt(src *image.RGBA, u, v float64) [4]float64 {
	return texel(src, int(u*float64(src.Rect.Dx())), int(v*float64(src.Rect.Dy())))
}

// TestFilters renders each example filter, from the registry's built-ins,
// with real GL and compares with its Go reference.
func TestFilters(t *testing.T) {
	r, err := Open(Options{Builtins: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := noise(96, 54, 1)
	for _, fc := range filterCases() {
		t.Run(fc.name, func(t *testing.T) {
			info, ok := r.Lookup(fc.name)
			if !ok || info.LastError != "" {
				t.Fatalf("built-in filter %q: %+v", fc.name, info)
			}
			pass, err := r.New(fc.name)
			if err != nil {
				t.Fatal(err)
			}
			pl := rgbaPipeline(t, pass)
			for k, v := range fc.inputs {
				if err := pl.SetUniform(fc.name, k, v); err != nil {
					t.Fatalf("%s.%s: %v", fc.name, k, err)
				}
			}
			got := process(t, pl, src, 0)
			compare(t, fc.name, got, fc.ref(src), fc.tol, fc.maxBad)
		})
	}
}

// TestFiltersCovered makes sure no example filter ships without a test.
func TestFiltersCovered(t *testing.T) {
	r, err := Open(Options{Builtins: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tested := map[string]bool{"blur": true, "trails": true, "overlay": true} // filters_multi_test.go
	for _, fc := range filterCases() {
		tested[fc.name] = true
	}
	for _, in := range r.List() {
		if in.Transition {
			continue // compositor's TestTransition renders each built-in transition
		}
		if in.File != "" && in.Builtin && !tested[in.Name] {
			t.Errorf("built-in filter %s has no pixel test", in.Name)
		}
	}
}

// sample is the engine's filtering of IMG_NORM_PIXEL between texels.
func sample(src *image.RGBA, u, v float64) [4]float64 {
	if engineLinear {
		return bilinear(src, u, v)
	}
	return texel(src, int(math.Floor(u*float64(src.Rect.Dx()))), int(math.Floor(v*float64(src.Rect.Dy()))))
}

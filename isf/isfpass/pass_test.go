package isfpass

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/compositor/compositortest"
	"github.com/shadercast/shadercast/isf"
	"github.com/shadercast/shadercast/media"
)

// isfPass parses src as file name and makes its pass.
func isfPass(t testing.TB, name, src, vs string) *Pass {
	t.Helper()
	var v []byte
	if vs != "" {
		v = []byte(vs)
	}
	sh, err := isf.Parse(name, []byte(src), v)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(sh)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// patternFrame is an RGBA frame whose every pixel differs from its
// neighbours and whose top and bottom differ, so flips show.
func patternFrame(t *testing.T, w, h int) (media.VideoFrame, []byte) {
	t.Helper()
	buf := make([]byte, 4*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 4 * (y*w + x)
			buf[i] = uint8(x * 255 / max(1, w-1))
			buf[i+1] = uint8(y * 255 / max(1, h-1))
			buf[i+2] = uint8((x*37 + y*91) % 256)
			buf[i+3] = 255
		}
	}
	fr, err := media.NewVideoFrame(append([]byte(nil), buf...), media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fr.Close() })
	return fr, buf
}

func isfQ8(v float64) int { return int(math.Round(math.Max(0, math.Min(1, v)) * 255)) }

// checkPixels compares got with want(x, y) per channel, within tol.
func checkPixels(t *testing.T, got []byte, w, h, tol int, want func(x, y int) [4]int) {
	t.Helper()
	bad := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			wv := want(x, y)
			for c := 0; c < 4; c++ {
				g := int(got[4*(y*w+x)+c])
				if wv[c] < 0 {
					continue
				}
				if d := g - wv[c]; d < -tol || d > tol {
					if bad < 5 {
						t.Errorf("pixel (%d,%d) channel %d: got %d want %d", x, y, c, g, wv[c])
					}
					bad++
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d channel values wrong", bad)
	}
}

const inputsISF = `/*{
	"ISFVSN": "2",
	"DESCRIPTION": "tints by a color, or shows a point",
	"CREDIT": "shadercast tests",
	"CATEGORIES": ["Test"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "amount", "TYPE": "float", "MIN": 0, "MAX": 1, "DEFAULT": 0.5, "LABEL": "Amount"},
		{"NAME": "on", "TYPE": "bool", "DEFAULT": true},
		{"NAME": "tint", "TYPE": "color", "DEFAULT": [1, 0, 0, 1]},
		{"NAME": "pt", "TYPE": "point2D", "DEFAULT": [0.25, 0.75], "MIN": [0, 0], "MAX": [1, 1]}
	]
}*/
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	gl_FragColor = on ? vec4(mix(c.rgb, tint.rgb, amount), 1.0) : vec4(pt, 0.0, 1.0);
}
`

func TestISFInputs(t *testing.T) {
	pass := isfPass(t, "tint.fs", inputsISF, "")
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	w, h := 13, 9
	fr, src := patternFrame(t, w, h)
	mixWant := func(tint [3]float64, a float64) func(x, y int) [4]int {
		return func(x, y int) [4]int {
			var o [4]int
			for c := 0; c < 3; c++ {
				s := float64(src[4*(y*w+x)+c]) / 255
				o[c] = isfQ8(s*(1-a) + tint[c]*a)
			}
			o[3] = 255
			return o
		}
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, mixWant([3]float64{1, 0, 0}, 0.5))
	if err := p.SetUniform("tint", "tint", 7.0); err == nil {
		t.Error("setting a color to a number succeeded")
	}
	for _, set := range []struct {
		name string
		v    any
	}{{"amount", 2.0}, {"tint", "#00ff00"}} {
		if err := p.SetUniform("tint", set.name, set.v); err != nil {
			t.Fatal(err)
		}
	}
	// amount 2 is clamped to MAX 1.
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, mixWant([3]float64{0, 1, 0}, 1))
	if err := p.SetUniform("tint", "tint", []any{0.0, 0.0, 1.0}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetUniform("tint", "amount", float32(0.25)); err != nil {
		t.Fatal(err)
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, mixWant([3]float64{0, 0, 1}, 0.25))
	if err := p.SetUniform("tint", "on", false); err != nil {
		t.Fatal(err)
	}
	if err := p.SetUniform("tint", "pt", []any{0.5, 3.0}); err != nil {
		t.Fatal(err)
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, func(x, y int) [4]int { return [4]int{isfQ8(0.5), 255, 0, 255} })
	if err := p.SetUniform("tint", "on", 0.5); err != nil {
		t.Fatal(err)
	}
	if err := p.SetUniform("tint", "nope", 1.0); err == nil {
		t.Error("setting an undeclared input succeeded")
	}
	info := p.Passes()[0]
	if info.Description != "tints by a color, or shows a point" || info.Credit != "shadercast tests" || info.File != "tint.fs" || len(info.Categories) != 1 {
		t.Errorf("pass info %+v", info)
	}
	byName := map[string]compositor.UniformInfo{}
	for _, u := range info.Uniforms {
		byName[u.Name] = u
	}
	if u := byName["amount"]; u.Type != "float" || u.Label != "Amount" || u.Min != 0.0 || u.Max != 1.0 || u.Default != 0.5 || u.Value != 0.25 {
		t.Errorf("amount info %+v", u)
	}
	if u := byName["pt"]; u.Type != "point2D" {
		t.Errorf("pt info %+v", u)
	}
	if _, ok := byName["inputImage"]; ok || len(byName) != 4 {
		t.Errorf("uniforms %+v", info.Uniforms)
	}
}

// TestISFOrientation: ISF coordinates are y-up, frames y-down; a gradient
// by isf_FragNormCoord.y must be brightest at the top of the picture, and
// every way of reading the input must agree with it.
func TestISFOrientation(t *testing.T) {
	w, h := 11, 8
	fr, src := patternFrame(t, w, h)
	at := func(x, y int) [4]int {
		x, y = max(0, min(w-1, x)), max(0, min(h-1, y))
		i := 4 * (y*w + x)
		return [4]int{int(src[i]), int(src[i+1]), int(src[i+2]), int(src[i+3])}
	}
	cases := []struct {
		name, body string
		want       func(x, y int) [4]int
	}{
		{"gradient", `gl_FragColor = vec4(isf_FragNormCoord.y, isf_FragNormCoord.x, gl_FragCoord.y / RENDERSIZE.y, 1.0);`,
			func(x, y int) [4]int {
				v := 1 - (float64(y)+0.5)/float64(h)
				return [4]int{isfQ8(v), isfQ8((float64(x) + 0.5) / float64(w)), isfQ8(v), 255}
			}},
		{"norm", `gl_FragColor = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);`, at},
		{"pixel", `gl_FragColor = IMG_PIXEL(inputImage, gl_FragCoord.xy);`, at},
		{"this", `gl_FragColor = IMG_THIS_NORM_PIXEL(inputImage);`, at},
		// One pixel up in ISF's coordinates is one row nearer the top.
		{"up", `gl_FragColor = texture2D(inputImage, isf_FragNormCoord + vec2(0.0, 1.0 / RENDERSIZE.y));`,
			func(x, y int) [4]int { return at(x, y-1) }},
		{"fetch", `gl_FragColor = texelFetch(inputImage, ivec2(gl_FragCoord.xy) + ivec2(1, 1), 0);`,
			func(x, y int) [4]int {
				if x+1 >= w || y == 0 {
					return [4]int{-1, -1, -1, -1} // outside: undefined
				}
				return at(x+1, y-1)
			}},
		{"rect", `gl_FragColor = texture2DRect(inputImage, gl_FragCoord.xy + vec2(0.0, -1.0));`,
			func(x, y int) [4]int { return at(x, y+1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := `/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]}*/
void main() {
	` + c.body + `
}
`
			p := compositortest.RGBAPipeline(t, testDevice, isfPass(t, c.name+".fs", src, ""))
			checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, c.want)
		})
	}
}

// frameAt is a copy of fr with another timestamp.
func frameAt(t *testing.T, pix []byte, w, h int, ts int64) media.VideoFrame {
	t.Helper()
	fr, err := media.NewVideoFrame(append([]byte(nil), pix...), media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h, Timestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fr.Close() })
	return fr
}

// TestISFDownsample renders a quarter-size box filter into a TARGET sized
// by expressions and shows it nearest-neighbour at full size.
func TestISFDownsample(t *testing.T) {
	src := `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}, {"NAME": "factor", "TYPE": "float", "DEFAULT": 4}],
	"PASSES": [{"TARGET": "small", "WIDTH": "$WIDTH/$factor", "HEIGHT": "floor($HEIGHT/$factor)"}, {}]
}*/
void main() {
	if (PASSINDEX == 0) {
		vec4 s = vec4(0.0);
		vec2 base = floor(gl_FragCoord.xy) * 4.0;
		for (int j = 0; j < 4; j++)
			for (int i = 0; i < 4; i++)
				s += IMG_PIXEL(inputImage, base + vec2(float(i), float(j)) + 0.5);
		gl_FragColor = s / 16.0;
	} else {
		gl_FragColor = IMG_PIXEL(small, floor(gl_FragCoord.xy / 4.0) + 0.5);
	}
}
`
	pass := isfPass(t, "down.fs", src, "")
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	w, h := 16, 12
	fr, pix := patternFrame(t, w, h)
	got := compositortest.ProcessRGBA(t, p, fr)
	checkPixels(t, got, w, h, 1, func(x, y int) [4]int {
		var o [4]int
		bx, by := x/4*4, y/4*4
		for c := 0; c < 4; c++ {
			s := 0
			for j := 0; j < 4; j++ {
				for i := 0; i < 4; i++ {
					s += int(pix[4*((by+j)*w+bx+i)+c])
				}
			}
			o[c] = int(math.Round(float64(s) / 16))
		}
		return o
	})
	// The target follows the input: $factor 2 halves instead, and the
	// second pass (still reading 4x4 blocks of it) now shows the top-left
	// quarter's... here only the size is checked.
	if err := p.SetUniform("down", "factor", 2.0); err != nil {
		t.Fatal(err)
	}
	compositortest.ProcessRGBA(t, p, fr)
	if tw, th := pass.targets["small"].size(); tw != 8 || th != 6 {
		t.Errorf("target %dx%d after factor 2, want 8x6", tw, th)
	}
	// A factor that makes the target huge fails the pass (not the frame:
	// it is bypassed) with an error naming the file, the pass and the
	// expression; a sane one recovers.
	if err := p.SetUniform("down", "factor", 0.001); err != nil {
		t.Fatal(err)
	}
	var o compositor.Output
	if err := p.Process(context.Background(), fr, &o); err != nil {
		t.Fatalf("a failing pass failed the frame: %v", err)
	}
	o.Frame.Close()
	if err := p.Passes()[0].Error; !strings.Contains(err, "down.fs") || !strings.Contains(err, `"$WIDTH/$factor"`) || !strings.Contains(err, "small") {
		t.Errorf("huge target: %q", err)
	}
	p.SetUniform("down", "factor", 4.0)
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, func(x, y int) [4]int { return [4]int{-1, -1, -1, 255} })
}

// TestISFBuiltins reads every built-in uniform back through the pixels.
func TestISFBuiltins(t *testing.T) {
	src := `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}],
	"PASSES": [{"TARGET": "a", "WIDTH": 7, "HEIGHT": "3"}, {}]
}*/
void main() {
	if (PASSINDEX == 0) {
		gl_FragColor = vec4(RENDERSIZE / 255.0, float(PASSINDEX) / 255.0, 1.0);
		return;
	}
	int x = int(gl_FragCoord.x);
	vec4 av = IMG_PIXEL(a, vec2(0.5));
	if (x == 0)
		gl_FragColor = vec4(av.rgb, float(PASSINDEX) / 255.0);
	else if (x == 1)
		gl_FragColor = vec4(IMG_SIZE(a) / 255.0, RENDERSIZE / 255.0);
	else if (x == 2)
		gl_FragColor = vec4(TIME / 4.0, TIMEDELTA / 4.0, float(FRAMEINDEX) / 255.0, 1.0);
	else if (x == 3)
		gl_FragColor = vec4((DATE.x - 2000.0) / 255.0, DATE.y / 255.0, DATE.z / 255.0, DATE.w / 86400.0);
	else
		gl_FragColor = vec4(_inputImage_imgSize / 255.0, _a_imgSize / 255.0);
}
`
	pass := isfPass(t, "builtins.fs", src, "")
	pass.now = func() time.Time { return time.Date(2031, 7, 19, 18, 0, 0, 0, time.Local) }
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	w, h := 20, 10
	_, pix := patternFrame(t, w, h)
	for i, ts := range []int64{5_000_000, 5_500_000, 6_500_000} {
		got := compositortest.ProcessRGBA(t, p, frameAt(t, pix, w, h, ts))
		tm := float64(ts-5_000_000) / 1e6
		delta := []float64{0, 0.5, 1}[i]
		want := [][4]int{
			{7, 3, 0, 1},
			{7, 3, w, h},
			{isfQ8(tm / 4), isfQ8(delta / 4), i, 255},
			{31, 7, 19, isfQ8(0.75)},
			{w, h, 7, 3},
		}
		checkPixels(t, got, w, h, 1, func(x, y int) [4]int {
			if x < len(want) {
				return want[x]
			}
			return want[4]
		})
	}
}

// TestISFPersistentFloat accumulates into a persistent FLOAT target past
// 1.0 and stores values too small for 8 bits; the same shader with 8-bit
// targets clamps and loses them.
func TestISFPersistentFloat(t *testing.T) {
	src := `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}],
	"PASSES": [
		{"TARGET": "acc", "PERSISTENT": true, "FLOAT": FLOATS},
		{"TARGET": "tiny", "FLOAT": FLOATS},
		{}
	]
}*/
void main() {
	if (PASSINDEX == 0)
		gl_FragColor = IMG_THIS_PIXEL(acc) + IMG_THIS_PIXEL(inputImage) * 0.3;
	else if (PASSINDEX == 1)
		gl_FragColor = IMG_THIS_PIXEL(inputImage) / 1000.0;
	else
		gl_FragColor = vec4((IMG_THIS_PIXEL(acc) / 2.0).rg, IMG_THIS_PIXEL(tiny).b * 1000.0, 1.0);
}
`
	for _, float := range []bool{true, false} {
		t.Run(fmt.Sprint("float=", float), func(t *testing.T) {
			p := compositortest.RGBAPipeline(t, testDevice, isfPass(t, "acc.fs", strings.ReplaceAll(src, "FLOATS", fmt.Sprint(float)), ""))
			w, h := 9, 7
			fr, pix := patternFrame(t, w, h)
			var got []byte
			for i := 0; i < 5; i++ {
				got = compositortest.ProcessRGBA(t, p, fr)
			}
			checkPixels(t, got, w, h, 1, func(x, y int) [4]int {
				var o [4]int
				for c := 0; c < 2; c++ {
					v := float64(pix[4*(y*w+x)+c]) / 255
					if float {
						o[c] = isfQ8(v * 1.5 / 2)
					} else {
						o[c] = isfQ8(math.Min(1, v*1.5) / 2) // about: 8-bit steps round
						o[c] = -1
					}
				}
				o[2] = int(pix[4*(y*w+x)+2])
				if !float {
					o[2] = 0 // in/1000 is below half a step of 8 bits
				}
				o[3] = 255
				return o
			})
			if !float {
				// Saturated: a bright input reaches 1.0 and stops.
				i := 4 * (0*w + w - 1)
				if got[i] != 128 {
					t.Errorf("8-bit accumulation of red 255 shows %d, want 128 (clamped at 1.0)", got[i])
				}
				return
			}
			// A new size starts the persistent target afresh.
			w2, h2 := 6, 5
			fr2, pix2 := patternFrame(t, w2, h2)
			got = compositortest.ProcessRGBA(t, p, fr2)
			checkPixels(t, got, w2, h2, 1, func(x, y int) [4]int {
				v := float64(pix2[4*(y*w2+x)]) / 255
				return [4]int{isfQ8(v * 0.3 / 2), -1, -1, 255}
			})
		})
	}
}

// TestISFVertexShader: an old-style .vs computes a varying that the .fs
// reads; its coordinates are ISF's y-up ones.
func TestISFVertexShader(t *testing.T) {
	vs := `#if __VERSION__ <= 120
varying vec2 shifted;
#else
out vec2 shifted;
#endif
void main() {
	isf_vertShaderInit();
	shifted = isf_FragNormCoord + vec2(1.0, 1.0) / RENDERSIZE;
}
`
	fs := `/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]}*/
varying vec2 shifted;
void main() {
	gl_FragColor = IMG_NORM_PIXEL(inputImage, shifted);
}
`
	p := compositortest.RGBAPipeline(t, testDevice, isfPass(t, "shift.fs", fs, vs))
	w, h := 10, 6
	fr, pix := patternFrame(t, w, h)
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, func(x, y int) [4]int {
		x, y = min(w-1, x+1), max(0, y-1) // right and up, clamped at the edges
		i := 4 * (y*w + x)
		return [4]int{int(pix[i]), int(pix[i+1]), int(pix[i+2]), int(pix[i+3])}
	})
}

// TestISFShaderToy runs a ShaderToy mainImage with iChannel0, iResolution,
// iMouse (set as an input) and iFrame.
func TestISFShaderToy(t *testing.T) {
	src := `// A ShaderToy shader, as pasted from the site.
void mainImage(out vec4 fragColor, in vec2 fragCoord)
{
	vec2 uv = fragCoord / iResolution.xy;
	vec4 c = texture(iChannel0, uv);
	fragColor = vec4(c.r, uv.y, iMouse.x / iResolution.x + float(iFrame) * 0.1 + iTime, 0.2);
}
`
	p := compositortest.RGBAPipeline(t, testDevice, isfPass(t, "toy.glsl", src, ""))
	w, h := 10, 8
	_, pix := patternFrame(t, w, h)
	want := func(b float64) func(x, y int) [4]int {
		return func(x, y int) [4]int {
			return [4]int{int(pix[4*(y*w+x)]), isfQ8(1 - (float64(y)+0.5)/float64(h)), isfQ8(b), 255}
		}
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, frameAt(t, pix, w, h, 1000)), w, h, 1, want(0))
	if err := p.SetUniform("toy", "iMouse", []any{5.0, 3.0}); err != nil {
		t.Fatal(err)
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, frameAt(t, pix, w, h, 1000+250_000)), w, h, 1, want(0.5+0.1+0.25))
	info := p.Passes()[0]
	if len(info.Uniforms) != 1 || info.Uniforms[0].Name != "iMouse" || info.Uniforms[0].Type != "point2D" {
		t.Errorf("ShaderToy inputs %+v", info.Uniforms)
	}
}

// TestISFLongEventImage covers the long, event and image inputs.
func TestISFLongEventImage(t *testing.T) {
	dir := t.TempDir()
	w, h := 6, 4
	overlay := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			overlay.Set(x, y, color.NRGBA{uint8(40 * x), uint8(60 * y), 200, 255})
		}
	}
	writeTestPNG(t, filepath.Join(dir, "overlay.png"), overlay)
	os.WriteFile(filepath.Join(dir, "inputs.fs"), []byte(`/*{
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "mode", "TYPE": "long", "VALUES": [0, 1, 2], "LABELS": ["source", "overlay", "flash"], "DEFAULT": 0},
		{"NAME": "flash", "TYPE": "event"},
		{"NAME": "overlay", "TYPE": "image"}
	]
}*/
void main() {
	if (mode == 0)
		gl_FragColor = IMG_THIS_PIXEL(inputImage);
	else if (mode == 1)
		gl_FragColor = IMG_THIS_NORM_PIXEL(overlay);
	else
		gl_FragColor = flash ? vec4(1.0) : vec4(0.0, 0.0, 0.0, 1.0);
}
`), 0o644)
	sh, err := isf.Load(os.DirFS(dir), "inputs.fs")
	if err != nil {
		t.Fatal(err)
	}
	pass, err := New(sh)
	if err != nil {
		t.Fatal(err)
	}
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	fr, pix := patternFrame(t, w, h)
	src := func(x, y int) [4]int {
		i := 4 * (y*w + x)
		return [4]int{int(pix[i]), int(pix[i+1]), int(pix[i+2]), int(pix[i+3])}
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, src)
	if err := p.SetUniform("inputs", "mode", 3); err == nil {
		t.Error("a long outside VALUES was accepted")
	}
	if err := p.SetUniform("inputs", "mode", "overlay"); err != nil {
		t.Fatal(err)
	}
	// No image yet: transparent black.
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, func(x, y int) [4]int { return [4]int{0, 0, 0, 0} })
	for _, bad := range []string{"../overlay.png", "/etc/passwd", "missing.png"} {
		if err := p.SetUniform("inputs", "overlay", bad); err == nil {
			t.Errorf("image %q accepted", bad)
		}
	}
	if err := p.SetUniform("inputs", "overlay", "overlay.png"); err != nil {
		t.Fatal(err)
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, func(x, y int) [4]int {
		c := overlay.NRGBAAt(x, y)
		return [4]int{int(c.R), int(c.G), int(c.B), int(c.A)}
	})
	if err := p.SetUniform("inputs", "mode", 2.0); err != nil {
		t.Fatal(err)
	}
	black := func(x, y int) [4]int { return [4]int{0, 0, 0, 255} }
	white := func(x, y int) [4]int { return [4]int{255, 255, 255, 255} }
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, black)
	if err := p.SetUniform("inputs", "flash", true); err != nil {
		t.Fatal(err)
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, white) // exactly one frame
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, black)
	var info compositor.UniformInfo
	for _, u := range p.Passes()[0].Uniforms {
		if u.Name == "overlay" {
			info = u
		}
	}
	if info.Type != "image" || info.Value != "overlay.png" {
		t.Errorf("image input info %+v", info)
	}
}

func writeTestPNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestISFImported samples an IMPORTED image beside the shader, top row on
// top.
func TestISFImported(t *testing.T) {
	dir := t.TempDir()
	w, h := 5, 7
	logo := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			logo.Set(x, y, color.NRGBA{uint8(50 * x), uint8(30 * y), uint8(255 - 30*y), 255})
		}
	}
	os.Mkdir(filepath.Join(dir, "img"), 0o755)
	writeTestPNG(t, filepath.Join(dir, "img", "logo.png"), logo)
	os.WriteFile(filepath.Join(dir, "logo.fs"), []byte(`/*{
	"DESCRIPTION": "a generator that shows its imported image",
	"IMPORTED": {"logo": {"PATH": "img/logo.png"}}
}*/
void main() {
	gl_FragColor = IMG_NORM_PIXEL(logo, isf_FragNormCoord);
}
`), 0o644)
	sh, err := isf.Load(os.DirFS(dir), "logo.fs")
	if err != nil {
		t.Fatal(err)
	}
	if sh.IsFilter() {
		t.Error("a shader without inputImage is a filter")
	}
	pass, _ := New(sh)
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	fr, _ := patternFrame(t, w, h)
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, func(x, y int) [4]int {
		c := logo.NRGBAAt(x, y)
		return [4]int{int(c.R), int(c.G), int(c.B), int(c.A)}
	})
}

// TestISFCompileErrorLines: compiler messages name the plugin's files and
// their own lines, for the fragment and the vertex shader.
func TestISFCompileErrorLines(t *testing.T) {
	fs := `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]
}*/
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	gl_FragColor = c * undefinedThing;
}
`
	sh, err := isf.Parse("plugins/broken.fs", []byte(fs), nil)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := New(sh)
	p := compositortest.RGBAPipeline(t, testDevice)
	err = p.AddPass(pass)
	var ce *compositor.CompileError
	if !errors.As(err, &ce) || len(ce.Messages) == 0 {
		t.Fatalf("error %v, want a CompileError", err)
	}
	if m := ce.Messages[0]; m.File != "plugins/broken.fs" || m.Line != 6 {
		t.Errorf("message %v, want plugins/broken.fs line 6", m)
	}
	vs := "void main() {\n\tisf_vertShaderInit();\n\n\tgl_Position.x += oops;\n}\n"
	sh, err = isf.Parse("plugins/bent.fs", []byte(`/*{}*/`+"\nvoid main() { gl_FragColor = vec4(1.0); }\n"), []byte(vs))
	if err != nil {
		t.Fatal(err)
	}
	pass, _ = New(sh)
	err = p.AddPass(pass)
	if !errors.As(err, &ce) || len(ce.Messages) == 0 {
		t.Fatalf("error %v, want a CompileError", err)
	}
	if m := ce.Messages[0]; m.File != "plugins/bent.vs" || m.Line != 4 {
		t.Errorf("message %v, want plugins/bent.vs line 4", m)
	}
	if n := len(p.Passes()); n != 0 {
		t.Errorf("%d passes after failed adds", n)
	}
}

// TestISFReleasesEverything: a pipeline with every kind of ISF object
// leaves no GL object behind once closed, through resizes too.
func TestISFReleasesEverything(t *testing.T) {
	before := testDevice.Objects()
	dir := t.TempDir()
	writeTestPNG(t, filepath.Join(dir, "a.png"), image.NewNRGBA(image.Rect(0, 0, 4, 4)))
	os.WriteFile(filepath.Join(dir, "all.fs"), []byte(`/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}, {"NAME": "extra", "TYPE": "image"}],
	"IMPORTED": {"imp": {"PATH": "a.png"}},
	"PASSES": [{"TARGET": "p", "PERSISTENT": true, "FLOAT": true, "WIDTH": "$WIDTH/2"}, {"TARGET": "q"}, {"TARGET": "r"}]
}*/
void main() {
	gl_FragColor = IMG_THIS_PIXEL(inputImage) + IMG_THIS_PIXEL(extra) + IMG_THIS_PIXEL(imp) + IMG_THIS_PIXEL(p) * 0.1 + IMG_THIS_PIXEL(q) * 0.1;
}
`), 0o644)
	sh, err := isf.Load(os.DirFS(dir), "all.fs")
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := New(sh)
	p, err := compositor.NewPipeline(testDevice, compositor.Config{}, pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetUniform("all", "extra", "a.png"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetUniform("all", "extra", "a.png"); err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int{{16, 8}, {10, 10}, {16, 8}} {
		fr, _ := patternFrame(t, sz[0], sz[1])
		var o compositor.Output
		if err := p.Process(context.Background(), fr, &o); err != nil {
			t.Fatal(err)
		}
		if o.Frame.CodedWidth() != sz[0] {
			t.Errorf("output width %d", o.Frame.CodedWidth())
		}
		o.Frame.Close()
	}
	p.Close()
	after := testDevice.Objects()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("GL objects before %v, after close %v", before, after)
	}
}

// TestISFPublishedStyle runs filters written as they are published (old
// GLSL, the reference's idioms: varying, texture2D, a redefined built-in
// function, persistentBuffer, events) from isf/testdata, unmodified.
func TestISFPublishedStyle(t *testing.T) {
	load := func(t *testing.T, file string) *Pass {
		t.Helper()
		sh, err := isf.Load(os.DirFS("../testdata"), file)
		if err != nil {
			t.Fatal(err)
		}
		pass, err := New(sh)
		if err != nil {
			t.Fatal(err)
		}
		return pass
	}
	w, h := 16, 8
	fr, pix := patternFrame(t, w, h)
	at := func(x, y, c int) int { return int(pix[4*(y*w+x)+c]) }
	t.Run("invert", func(t *testing.T) {
		p := compositortest.RGBAPipeline(t, testDevice, load(t, "Color Invert.fs"))
		checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, func(x, y int) [4]int {
			return [4]int{255 - at(x, y, 0), 255 - at(x, y, 1), 255 - at(x, y, 2), 255}
		})
		if n := p.Passes()[0].Name; n != "Color Invert" {
			t.Errorf("pass name %q", n)
		}
	})
	t.Run("mosaic", func(t *testing.T) {
		p := compositortest.RGBAPipeline(t, testDevice, load(t, "Mosaic.fs"))
		// Cells of 0.25 are 4x2 pixels; ISF's "bottom" of a cell is its
		// lower row in the picture.
		checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, func(x, y int) [4]int {
			cx, cy := x/4*4, y/2*2
			var o [4]int
			for c := 0; c < 4; c++ {
				centre := float64(at(cx+1, cy, c)+at(cx+2, cy, c)+at(cx+1, cy+1, c)+at(cx+2, cy+1, c)) / 4
				v := (float64(at(cx, cy+1, c)+at(cx+3, cy+1, c)+at(cx, cy, c)) + centre) / 4
				o[c] = int(math.Round(v))
			}
			return o
		})
		if err := p.SetUniform("Mosaic", "cell_size", 0.0); err != nil {
			t.Fatal(err)
		}
		checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, func(x, y int) [4]int {
			return [4]int{at(x, y, 0), at(x, y, 1), at(x, y, 2), 255}
		})
	})
	t.Run("trails", func(t *testing.T) {
		p := compositortest.RGBAPipeline(t, testDevice, load(t, "Feedback Trails.fs"))
		// A second picture: the first one upside down.
		flipped := make([]byte, len(pix))
		for y := 0; y < h; y++ {
			copy(flipped[4*y*w:4*(y+1)*w], pix[4*(h-1-y)*w:4*(h-y)*w])
		}
		b := frameAt(t, flipped, w, h, 0)
		fb := func(x, y, c int) int { return int(flipped[4*(y*w+x)+c]) }
		compositortest.ProcessRGBA(t, p, fr)
		checkPixels(t, compositortest.ProcessRGBA(t, p, b), w, h, 1, func(x, y int) [4]int {
			var o [4]int
			for c := range o {
				o[c] = int(math.Round(float64(at(x, y, c)+fb(x, y, c)) / 2))
			}
			return o
		})
		if err := p.SetUniform("Feedback Trails", "clear", true); err != nil {
			t.Fatal(err)
		}
		checkPixels(t, compositortest.ProcessRGBA(t, p, b), w, h, 0, func(x, y int) [4]int {
			return [4]int{fb(x, y, 0), fb(x, y, 1), fb(x, y, 2), 255}
		})
	})
	t.Run("shadertoy", func(t *testing.T) {
		p := compositortest.RGBAPipeline(t, testDevice, load(t, "Scanlines.glsl"))
		checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, func(x, y int) [4]int {
			k := 1.0
			if (h-1-y)%2 == 0 {
				k = 0.5
			}
			return [4]int{int(math.Round(float64(at(x, y, 0)) * k)), int(math.Round(float64(at(x, y, 1)) * k)), int(math.Round(float64(at(x, y, 2)) * k)), 255}
		})
	})
}

// TestISFShaderToyBuiltins: iDate counts months from 0 as ShaderToy does,
// textureLod reads y-up, iChannelResolution and iTimeDelta are set.
func TestISFShaderToyBuiltins(t *testing.T) {
	src := `void mainImage(out vec4 o, in vec2 f) {
	vec2 uv = f / iResolution.xy;
	o = vec4(textureLod(iChannel0, uv, 0.0).r, iDate.y / 255.0, iDate.z / 255.0, 1.0);
	if (f.x < 1.0)
		o = vec4(iChannelResolution[0].xy / 255.0, iTimeDelta, 1.0);
}
`
	pass := isfPass(t, "toy2.glsl", src, "")
	pass.now = func() time.Time { return time.Date(2030, 3, 9, 1, 2, 3, 0, time.Local) }
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	w, h := 7, 5
	_, pix := patternFrame(t, w, h)
	compositortest.ProcessRGBA(t, p, frameAt(t, pix, w, h, 0))
	got := compositortest.ProcessRGBA(t, p, frameAt(t, pix, w, h, 200_000))
	checkPixels(t, got, w, h, 1, func(x, y int) [4]int {
		if x == 0 {
			return [4]int{w, h, isfQ8(0.2), 255}
		}
		return [4]int{int(pix[4*(y*w+x)]), 2, 9, 255}
	})
}

// TestISFSetInputBeforeSetup: starting values, images included, set
// before the pass joins a pipeline apply from the first frame.
func TestISFSetInputBeforeSetup(t *testing.T) {
	dir := t.TempDir()
	w, h := 3, 2
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.NRGBA{10, 20, 30, 255})
	img.Set(2, 1, color.NRGBA{200, 100, 50, 255})
	writeTestPNG(t, filepath.Join(dir, "pic.png"), img)
	os.WriteFile(filepath.Join(dir, "start.fs"), []byte(`/*{
	"INPUTS": [{"NAME": "pic", "TYPE": "image"}, {"NAME": "gain", "TYPE": "float", "DEFAULT": 1, "MAX": 4}]
}*/
void main() { gl_FragColor = vec4(IMG_THIS_PIXEL(pic).rgb * gain, 1.0); }
`), 0o644)
	sh, err := isf.Load(os.DirFS(dir), "start.fs")
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := New(sh)
	if err := pass.SetInput("pic", "../start.fs"); err == nil {
		t.Error("an image outside the folder was accepted")
	}
	if err := pass.SetInput("gain", 9.0); err != nil { // clamped to 4
		t.Fatal(err)
	}
	if err := pass.SetInput("pic", "pic.png"); err != nil {
		t.Fatal(err)
	}
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	fr, _ := patternFrame(t, w, h)
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, func(x, y int) [4]int {
		c := img.NRGBAAt(x, y)
		return [4]int{min(255, 4*int(c.R)), min(255, 4*int(c.G)), min(255, 4*int(c.B)), 255}
	})
	if err := pass.SetInput("gain", 1.0); err == nil {
		t.Error("SetInput worked on a pass in a pipeline")
	}
}

// TestISFReplace: a reload that does not compile leaves the running ISF
// pass in place; a good one takes over with its own inputs.
func TestISFReplace(t *testing.T) {
	p := compositortest.RGBAPipeline(t, testDevice, isfPass(t, "fx.fs", `/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]}*/
void main() { gl_FragColor = vec4(1.0, 0.0, 0.0, 1.0); }
`, ""))
	w, h := 4, 3
	fr, _ := patternFrame(t, w, h)
	red := func(x, y int) [4]int { return [4]int{255, 0, 0, 255} }
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, red)
	before := testDevice.Objects()
	if err := p.ReplacePass(isfPass(t, "fx.fs", `/*{}*/
void main() {
	gl_FragColor = vec4(oops);
}
`, "")); err == nil || !strings.Contains(err.Error(), "fx.fs:3") {
		t.Errorf("broken reload: %v, want an error at fx.fs:3", err)
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 0, red)
	if fmt.Sprint(testDevice.Objects()) != fmt.Sprint(before) {
		t.Errorf("a failed reload leaked: %v -> %v", before, testDevice.Objects())
	}
	if err := p.ReplacePass(isfPass(t, "fx.fs", `/*{"INPUTS": [{"NAME": "g", "TYPE": "float", "DEFAULT": 0.5}]}*/
void main() { gl_FragColor = vec4(0.0, g, 0.0, 1.0); }
`, "")); err != nil {
		t.Fatal(err)
	}
	checkPixels(t, compositortest.ProcessRGBA(t, p, fr), w, h, 1, func(x, y int) [4]int { return [4]int{0, 128, 0, 255} })
	if u := p.Passes()[0].Uniforms; len(u) != 1 || u[0].Name != "g" {
		t.Errorf("uniforms after reload %+v", u)
	}
}

// TestISFImplicitConversions: an ISF file that leans on GLSL 4.x's
// implicit conversions (an int into a uint, an int returned as a float),
// as published ones do, compiles with the context's own GLSL version where
// it has one, and renders; a shader using "sample", a keyword from GLSL
// 4.00 on, still compiles as 3.30.
func TestISFImplicitConversions(t *testing.T) {
	conv := isfPass(t, "conv.fs", `/*{"INPUTS": []}*/
float half_(float x) { if (x < 0.0) return 0; return x * 0.5; }
void main() {
	uint u = 128;
	gl_FragColor = vec4(float(u) / 255.0, half_(1.0), 0.0, 1.0);
}
`, "")
	p, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA, Readback: compositor.ReadbackSync})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.AddPass(conv)
	if testDevice.Info().GLSL <= 330 {
		if err == nil {
			t.Error("GLSL 3.30 compiled implicit int to uint conversions")
		}
		return
	}
	if err != nil {
		t.Fatalf("on GLSL %d: %v", testDevice.Info().GLSL, err)
	}
	_, pix := patternFrame(t, 4, 4)
	got := compositortest.ProcessRGBA(t, p, frameAt(t, pix, 4, 4, 0))
	checkPixels(t, got, 4, 4, 1, func(x, y int) [4]int { return [4]int{128, 128, 0, 255} })
	if err := p.AddPass(isfPass(t, "sample.fs", `/*{"INPUTS": []}*/
void main() { float sample = 0.25; gl_FragColor = vec4(sample); }
`, "")); err != nil {
		t.Errorf("a shader naming a variable sample: %v", err)
	}
}

// TestISFAudio: audio and audioFFT inputs show what SetAudio gave last, one
// row per channel (IMG_SIZE says how many samples and bins), in every
// colour channel; before SetAudio they show silence (0.5 and 0); SetAudio
// refuses shapes that are not whole rows.
func TestISFAudio(t *testing.T) {
	pass := isfPass(t, "audio.fs", `/*{"INPUTS": [
	{"NAME": "wave", "TYPE": "audio", "MAX": 256},
	{"NAME": "fft", "TYPE": "audioFFT"}]}*/
void main() {
	int x = int(gl_FragCoord.x);
	if (x == 0)
		gl_FragColor = vec4(IMG_SIZE(wave).x / 4096.0, IMG_SIZE(wave).y / 255.0, IMG_SIZE(fft).x / 4096.0, IMG_SIZE(fft).y / 255.0);
	else if (x == 3)
		gl_FragColor = vec4(IMG_SIZE(wave) / 255.0, IMG_SIZE(fft) / 255.0);
	else if (x == 1)
		gl_FragColor = vec4(IMG_PIXEL(wave, vec2(2.5, 0.5)).rgb, IMG_PIXEL(wave, vec2(2.5, 1.5)).g);
	else
		gl_FragColor = vec4(IMG_PIXEL(fft, vec2(1.5, 0.5)).b, IMG_PIXEL(fft, vec2(1.5, 1.5)).r, 0.0, 1.0);
}
`, "")
	if in := pass.Shader().Input("wave"); in == nil || in.Samples != 256 {
		t.Fatalf("wave input %+v", in)
	}
	p := compositortest.RGBAPipeline(t, testDevice, pass)
	_, pix := patternFrame(t, 4, 1)
	// Silence first: 1024 samples and 512 bins of stereo.
	got := compositortest.ProcessRGBA(t, p, frameAt(t, pix, 4, 1, 0))
	want := [][4]int{{64, 2, 32, 2}, {128, 128, 128, 128}, {0, 0, 0, 255}, {255, 2, 255, 2}}
	checkPixels(t, got, 4, 1, 1, func(x, y int) [4]int { return want[x] })
	// 4 samples and 3 bins of stereo: the right channel louder.
	wave := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}
	spectrum := []float32{0, 0.25, 0, 0, 0.75, 0}
	if err := p.SetAudio(compositor.Audio{Channels: 2, Wave: wave, Spectrum: spectrum}); err != nil {
		t.Fatal(err)
	}
	got = compositortest.ProcessRGBA(t, p, frameAt(t, pix, 4, 1, 33333))
	want = [][4]int{{isfQ8(4.0 / 4096), 2, isfQ8(3.0 / 4096), 2}, {isfQ8(0.3), isfQ8(0.3), isfQ8(0.3), isfQ8(0.7)}, {isfQ8(0.25), isfQ8(0.75), 0, 255}, {4, 2, 3, 2}}
	checkPixels(t, got, 4, 1, 1, func(x, y int) [4]int { return want[x] })
	for _, bad := range []compositor.Audio{{Channels: 0, Wave: wave, Spectrum: spectrum}, {Channels: 3, Wave: wave, Spectrum: spectrum}, {Channels: 2, Spectrum: spectrum}} {
		if err := p.SetAudio(bad); err == nil {
			t.Errorf("SetAudio took %d channels of %d and %d values", bad.Channels, len(bad.Wave), len(bad.Spectrum))
		}
	}
}

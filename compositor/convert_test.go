package compositor

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
)

// The reference conversions below are written from the BT.601/BT.709
// definitions in 8-bit units, independently of the GPU code's matrices.

func coeffs(m media.Matrix) (kr, kb float64) {
	if m == media.MatrixBT601 {
		return 0.299, 0.114
	}
	return 0.2126, 0.0722
}

// refYUVToRGB8 converts one sample the way the first pass must, then
// quantizes to 8 bits as the RGBA8 texture does.
func refYUVToRGB8(y, u, v uint8, cs media.ColorSpace) [3]uint8 {
	kr, kb := coeffs(cs.Matrix)
	kg := 1 - kr - kb
	var yf, uf, vf float64
	if cs.FullRange {
		yf, uf, vf = float64(y)/255, (float64(u)-128)/255, (float64(v)-128)/255
	} else {
		yf, uf, vf = (float64(y)-16)/219, (float64(u)-128)/224, (float64(v)-128)/224
	}
	r := yf + 2*(1-kr)*vf
	b := yf + 2*(1-kb)*uf
	g := (yf - kr*r - kb*b) / kg
	return [3]uint8{q8(r), q8(g), q8(b)}
}

func q8(x float64) uint8 {
	x = math.Max(0, math.Min(1, x))
	return uint8(math.Round(x * 255))
}

func clampByte(x float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(x))))
}

// refI420 converts an RGB image (8-bit, w*h*3) to I420 planes the way the
// packing pass must: chroma from the mean of each 2x2 block, edges clamped.
func refI420(rgb []uint8, w, h int, cs media.ColorSpace) (Y, U, V []uint8) {
	kr, kb := coeffs(cs.Matrix)
	kg := 1 - kr - kb
	ys, cs_, yo := 219.0, 224.0, 16.0
	if cs.FullRange {
		ys, cs_, yo = 255, 255, 0
	}
	at := func(x, y int) (float64, float64, float64) {
		x, y = min(x, w-1), min(y, h-1)
		i := 3 * (y*w + x)
		return float64(rgb[i]) / 255, float64(rgb[i+1]) / 255, float64(rgb[i+2]) / 255
	}
	Y = make([]uint8, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := at(x, y)
			Y[y*w+x] = clampByte(yo + ys*(kr*r+kg*g+kb*b))
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	U, V = make([]uint8, cw*ch), make([]uint8, cw*ch)
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			var r, g, b float64
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				rr, gg, bb := at(2*x+d[0], 2*y+d[1])
				r, g, b = r+rr/4, g+gg/4, b+bb/4
			}
			l := kr*r + kg*g + kb*b
			U[y*cw+x] = clampByte(128 + cs_*(b-l)/(2*(1-kb)))
			V[y*cw+x] = clampByte(128 + cs_*(r-l)/(2*(1-kr)))
		}
	}
	return Y, U, V
}

// testFrame makes a frame of the given format with random content and
// rows padded beyond their width, to exercise strides.
func testFrame(t testing.TB, f media.PixelFormat, w, h int, cs media.ColorSpace, seed int64) (media.VideoFrame, [][]byte) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	var dims [][3]int // width in bytes, rows, padding
	cw, ch := (w+1)/2, (h+1)/2
	switch f {
	case media.I420:
		dims = [][3]int{{w, h, 3}, {cw, ch, 5}, {cw, ch, 1}}
	case media.NV12:
		dims = [][3]int{{w, h, 2}, {2 * cw, ch, 6}}
	default:
		dims = [][3]int{{4 * w, h, 8}}
	}
	var data []byte
	var layout []media.PlaneLayout
	planes := make([][]byte, len(dims))
	for i, d := range dims {
		stride := d[0] + d[2]
		layout = append(layout, media.PlaneLayout{Offset: len(data), Stride: stride})
		tight := make([]byte, d[0]*d[1])
		rng.Read(tight)
		planes[i] = tight
		for y := 0; y < d[1]; y++ {
			row := make([]byte, stride)
			copy(row, tight[y*d[0]:(y+1)*d[0]])
			data = append(data, row...)
		}
	}
	fr, err := media.NewVideoFrame(data, media.VideoFrameInit{
		Format: f, CodedWidth: w, CodedHeight: h, Timestamp: 1234, Duration: 33333,
		ColorSpace: cs, Layout: layout,
	})
	if err != nil {
		t.Fatalf("NewVideoFrame %v %dx%d: %v", f, w, h, err)
	}
	return fr, planes
}

// refRGB is what the first pass must produce for a test frame (8-bit RGB).
func refRGB(f media.PixelFormat, w, h int, planes [][]byte, cs media.ColorSpace) []uint8 {
	rgb := make([]uint8, 3*w*h)
	cw := (w + 1) / 2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c [3]uint8
			switch f {
			case media.I420:
				c = refYUVToRGB8(planes[0][y*w+x], planes[1][(y/2)*cw+x/2], planes[2][(y/2)*cw+x/2], cs)
			case media.NV12:
				i := (y/2)*2*cw + 2*(x/2)
				c = refYUVToRGB8(planes[0][y*w+x], planes[1][i], planes[1][i+1], cs)
			case media.RGBA, media.RGBX:
				i := 4 * (y*w + x)
				c = [3]uint8{planes[0][i], planes[0][i+1], planes[0][i+2]}
			case media.BGRA, media.BGRX:
				i := 4 * (y*w + x)
				c = [3]uint8{planes[0][i+2], planes[0][i+1], planes[0][i]}
			}
			copy(rgb[3*(y*w+x):], c[:])
		}
	}
	return rgb
}

func maxDiff(a, b []byte) (int, int) {
	worst, at := 0, -1
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

var testSizes = [][2]int{{1, 1}, {2, 2}, {3, 5}, {7, 3}, {17, 9}, {64, 48}, {161, 91}}

func identity(t testing.TB) Pass {
	p, err := NewBuiltinPass("identity", "identity.frag", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestI420OutputMatchesReference covers every input format and several
// sizes, odd and tiny ones included: upload, identity pass, I420 readback,
// compared with the Go reference within ±1 per sample, and the async and
// sync readbacks byte for byte.
func TestI420OutputMatchesReference(t *testing.T) {
	formats := []media.PixelFormat{media.I420, media.NV12, media.RGBA, media.RGBX, media.BGRA, media.BGRX}
	spaces := []media.ColorSpace{media.ColorSpaceBT709Limited, media.ColorSpaceBT601Full}
	outCS := []media.ColorSpace{media.ColorSpaceBT709Limited, media.ColorSpaceBT601Full}
	// Chains: identity (fused with the YUV conversion), an identity that
	// reads its input twice (not fused), and no pass at all.
	chains := []func() []Pass{
		func() []Pass { return []Pass{identity(t)} },
		func() []Pass { return []Pass{unfusedIdentity()} },
		func() []Pass { return nil },
	}
	for ci, out := range outCS {
		for chi, chain := range chains {
			sync, err := NewPipeline(testDevice, Config{Readback: ReadbackSync, OutputColorSpace: out}, chain()...)
			if err != nil {
				t.Fatal(err)
			}
			async, err := NewPipeline(testDevice, Config{Readback: ReadbackAsync, OutputColorSpace: out}, chain()...)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range formats {
				for si, sz := range testSizes {
					in := spaces[si%len(spaces)]
					name := fmt.Sprintf("out%d/chain%d/%v/%dx%d", ci, chi, f, sz[0], sz[1])
					t.Run(name, func(t *testing.T) {
						w, h := sz[0], sz[1]
						fr, planes := testFrame(t, f, w, h, in, int64(si*100+ci))
						defer fr.Close()
						var o1, o2 Output
						if err := sync.Process(context.Background(), fr, &o1); err != nil {
							t.Fatal(err)
						}
						defer o1.Frame.Close()
						if err := async.Process(context.Background(), fr, &o2); err != nil {
							t.Fatal(err)
						}
						defer o2.Frame.Close()
						if o1.Frame.Format() != media.I420 || o1.Frame.CodedWidth() != w || o1.Frame.CodedHeight() != h {
							t.Fatalf("output %v %dx%d", o1.Frame.Format(), o1.Frame.CodedWidth(), o1.Frame.CodedHeight())
						}
						if o1.Frame.Timestamp() != 1234 || o1.Frame.Duration() != 33333 {
							t.Errorf("timestamp/duration %d/%d, want 1234/33333", o1.Frame.Timestamp(), o1.Frame.Duration())
						}
						if o1.Frame.ColorSpace() != out {
							t.Errorf("output color space %+v, want %+v", o1.Frame.ColorSpace(), out)
						}
						if st := sync.Stats(); len(st.Passes) > 0 && st.Passes[0].FusedInput != (chi == 0 && f.IsYUV()) {
							t.Errorf("pass fused with the YUV conversion: %v", st.Passes[0].FusedInput)
						}
						Y, U, V := refI420(refRGB(f, w, h, planes, in), w, h, out)
						for i, want := range [][]byte{Y, U, V} {
							got := gltest.PlaneBytes(t, o1.Frame, i)
							if d, at := maxDiff(got, want); d > 1 {
								t.Errorf("plane %d differs by %d at %d (got %d want %d)", i, d, at, got[at], want[at])
							}
							if a := gltest.PlaneBytes(t, o2.Frame, i); string(a) != string(got) {
								t.Errorf("plane %d: async readback differs from sync", i)
							}
						}
					})
				}
			}
			sync.Close()
			async.Close()
		}
	}
}

// unfusedIdentity copies its input but reads it twice, which keeps the
// compositor from fusing it with the YUV conversion.
func unfusedIdentity() Pass {
	return NewShaderPass(ShaderPassSpec{Name: "identity2", Source: `#version 330 core
uniform sampler2D uInput;
out vec4 fragColor;
void main() {
	ivec2 p = ivec2(gl_FragCoord.xy);
	fragColor = 0.5 * texelFetch(uInput, p, 0) + 0.5 * texelFetch(uInput, p, 0);
}
`})
}

// TestRGBAOutputExact: RGBA in, RGBA out, no pass, must be exact; the X and
// BGR formats must come out as opaque RGBA.
func TestRGBAOutputExact(t *testing.T) {
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	withPass, err := NewPipeline(testDevice, Config{Output: OutputRGBA}, identity(t))
	if err != nil {
		t.Fatal(err)
	}
	defer withPass.Close()
	for _, f := range []media.PixelFormat{media.RGBA, media.RGBX, media.BGRA, media.BGRX} {
		for _, sz := range testSizes {
			for pi, pl := range []*Pipeline{p, withPass} {
				w, h := sz[0], sz[1]
				fr, planes := testFrame(t, f, w, h, media.ColorSpace{}, int64(w*h))
				var o Output
				if err := pl.Process(context.Background(), fr, &o); err != nil {
					t.Fatal(err)
				}
				got := gltest.PlaneBytes(t, o.Frame, 0)
				want := make([]byte, 4*w*h)
				for i := 0; i < w*h; i++ {
					s := planes[0][4*i : 4*i+4]
					switch f {
					case media.RGBA:
						copy(want[4*i:], s)
					case media.RGBX:
						copy(want[4*i:], []byte{s[0], s[1], s[2], 255})
					case media.BGRA:
						copy(want[4*i:], []byte{s[2], s[1], s[0], s[3]})
					case media.BGRX:
						copy(want[4*i:], []byte{s[2], s[1], s[0], 255})
					}
				}
				if string(got) != string(want) {
					d, at := maxDiff(got, want)
					t.Errorf("%v %dx%d (passes %d): differs by %d at byte %d", f, w, h, pi, d, at)
				}
				o.Frame.Close()
				fr.Close()
			}
		}
	}
}

// TestPBOUploadMatchesDirect: uploads through pixel-unpack buffers (the
// default on a GPU) give the same bytes as direct uploads (the default on
// llvmpipe), for every format, padded strides included.
func TestPBOUploadMatchesDirect(t *testing.T) {
	direct, err := NewPipeline(testDevice, Config{Upload: UploadDirect, Readback: ReadbackSync}, unfusedIdentity())
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	pbo, err := NewPipeline(testDevice, Config{Upload: UploadPBO}, unfusedIdentity())
	if err != nil {
		t.Fatal(err)
	}
	defer pbo.Close()
	for _, f := range []media.PixelFormat{media.I420, media.NV12, media.RGBA, media.BGRX} {
		for _, sz := range [][2]int{{1, 1}, {17, 9}, {640, 360}} {
			fr, _ := testFrame(t, f, sz[0], sz[1], media.ColorSpaceBT709Limited, 3)
			var a, b Output
			if err := direct.Process(context.Background(), fr, &a); err != nil {
				t.Fatal(err)
			}
			if err := pbo.Process(context.Background(), fr, &b); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if string(gltest.PlaneBytes(t, a.Frame, i)) != string(gltest.PlaneBytes(t, b.Frame, i)) {
					t.Errorf("%v %dx%d plane %d: PBO upload differs from direct", f, sz[0], sz[1], i)
				}
			}
			a.Frame.Close()
			b.Frame.Close()
			fr.Close()
		}
	}
}

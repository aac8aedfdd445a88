package barcode

import (
	"image"
	"math"
)

// This file is the Go reference of the GPU stages. Each *Pixel function is
// the body of one fragment shader (barcodepass/shaders/barcode_<stage>.frag) and is kept
// equivalent to it line by line: float32 math, clamp-to-edge fetches, the
// same summation order.
//
// W×H frame, s = AnalysisScale(W, H), w = ceil(W/s), h = ceil(H/s),
// R = WindowRadius:
//
//	1 tensor    frame RGBA8 W×H   -> planes w×h: s×s block means of gradient
//	                                 moments (the GPU writes the two planes to
//	                                 two targets, RGBA32F and RG32F; here they
//	                                 are stacked vertically in one w×2h tex)
//	2 boxh      planes w×h        -> planes w×h: horizontal box mean, radius R
//	3 classify  planes w×h        -> RGBA8 w×h: vertical box mean, radius R,
//	                                 within each plane; features -> Mask

// Luma weights (Rec. 709).
const (
	lumaR = float32(0.2126)
	lumaG = float32(0.7152)
	lumaB = float32(0.0722)
)

// gradEps guards the division by |g|² in stage 1 and by the pooled energy in
// stage 3 (flat areas).
const (
	gradEps = float32(1e-12)
	poolEps = float32(1e-6)
)

// tex is a float RGBA texture (RGBA32F) in row-major order, row 0 = top.
type tex struct {
	w, h int
	pix  []float32
}

func (t *tex) resize(w, h int) {
	t.w, t.h = w, h
	if n := 4 * w * h; cap(t.pix) >= n {
		t.pix = t.pix[:n]
	} else {
		t.pix = make([]float32, n)
	}
}

// fetch is texelFetch with clamp-to-edge.
func (t *tex) fetch(x, y int) [4]float32 {
	x = min(max(x, 0), t.w-1)
	y = min(max(y, 0), t.h-1)
	i := 4 * (y*t.w + x)
	return [4]float32{t.pix[i], t.pix[i+1], t.pix[i+2], t.pix[i+3]}
}

func (t *tex) set(x, y int, v [4]float32) {
	i := 4 * (y*t.w + x)
	t.pix[i], t.pix[i+1], t.pix[i+2], t.pix[i+3] = v[0], v[1], v[2], v[3]
}

// lumaPlane holds dot(texelFetch(uInput, p).rgb, luma weights) for every
// pixel of the frame. Precomputing it only saves the reference from
// evaluating the same expression four times per pixel.
type lumaPlane struct {
	w, h int
	pix  []float32
}

func (l *lumaPlane) load(img *image.RGBA) {
	b := img.Bounds()
	l.w, l.h = b.Dx(), b.Dy()
	if n := l.w * l.h; cap(l.pix) >= n {
		l.pix = l.pix[:n]
	} else {
		l.pix = make([]float32, n)
	}
	for y := 0; y < l.h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < l.w; x++ {
			r := float32(row[4*x]) / 255
			g := float32(row[4*x+1]) / 255
			bl := float32(row[4*x+2]) / 255
			l.pix[y*l.w+x] = r*lumaR + g*lumaG + bl*lumaB
		}
	}
}

// at is the clamp-to-edge fetch.
func (l *lumaPlane) at(x, y int) float32 {
	x = min(max(x, 0), l.w-1)
	y = min(max(y, 0), l.h-1)
	return l.pix[y*l.w+x]
}

// tensorPixel is stage 1 (barcode_tensor.frag). Output pixel (x, y) with
// y < h is plane 0 of block (x, y), otherwise plane 1 of block (x, y-h).
// For every full-res pixel of the s×s block it takes the 2×2 gradient g of
// luma (mean of the two forward differences; unlike central differences it
// still responds to one-pixel bars) and accumulates block means of
//
//	plane 0: (|g|², Re z², Im z², 0)     z = gx + i·gy
//	plane 1: (Re z⁴/|g|², Im z⁴/|g|², 0, 0)
//
// z² is the doubled-angle gradient: its pooled length over pooled |g|² is
// the classic structure-tensor coherence (1 for parallel edges). z⁴/|g|² is
// the quadrupled angle with the same weight |g|²: it also stays aligned for
// edges along two perpendicular directions — the module grid of a 2D code —
// but cancels for text, dots and natural texture. Accumulating per full-res
// pixel (rather than on the box-averaged image) keeps the response of bars
// finer than the block.
func tensorPixel(img *lumaPlane, s, h, x, y int) [4]float32 {
	plane := 0
	by := y
	if y >= h {
		plane = 1
		by = y - h
	}
	var acc [4]float32
	for j := 0; j < s; j++ {
		for i := 0; i < s; i++ {
			px := x*s + i
			py := by*s + j
			l00 := img.at(px, py)
			l10 := img.at(px+1, py)
			l01 := img.at(px, py+1)
			l11 := img.at(px+1, py+1)
			gx := 0.5 * ((l10 - l00) + (l11 - l01))
			gy := 0.5 * ((l01 - l00) + (l11 - l10))
			m2 := gx*gx + gy*gy
			z2x := gx*gx - gy*gy
			z2y := 2 * gx * gy
			if plane == 0 {
				acc[0] += m2
				acc[1] += z2x
				acc[2] += z2y
			} else if m2 > gradEps {
				acc[0] += (z2x*z2x - z2y*z2y) / m2
				acc[1] += 2 * z2x * z2y / m2
			}
		}
	}
	inv := 1 / float32(s*s)
	return [4]float32{acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv}
}

// boxHPixel is stage 2 (barcode_boxh.frag): horizontal box mean of radius r.
func boxHPixel(in *tex, r, x, y int) [4]float32 {
	var acc [4]float32
	for i := -r; i <= r; i++ {
		v := in.fetch(x+i, y)
		acc[0] += v[0]
		acc[1] += v[1]
		acc[2] += v[2]
		acc[3] += v[3]
	}
	inv := 1 / float32(2*r+1)
	return [4]float32{acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv}
}

// features are the pooled statistics of one analysis pixel.
type features struct {
	energy    float32 // mean |g|²
	coh       float32 // |mean z²| / mean |g|²: 1 for parallel edges
	grid      float32 // |mean z⁴/|g|²| / mean |g|²: 1 for a perpendicular grid (and bars)
	gridAngle float32 // grid orientation in [0, π/2): atan2(mean z⁴)/4
}

// poolPixel is the first half of stage 3 (barcode_classify.frag): vertical
// box mean of radius r within each plane, and the derived features.
func poolPixel(in *tex, r, h, x, y int) features {
	var a, b [4]float32
	for j := -r; j <= r; j++ {
		yy := min(max(y+j, 0), h-1)
		v0 := in.fetch(x, yy)
		v1 := in.fetch(x, yy+h)
		a[0] += v0[0]
		a[1] += v0[1]
		a[2] += v0[2]
		b[0] += v1[0]
		b[1] += v1[1]
	}
	inv := 1 / float32(2*r+1)
	e := a[0] * inv
	z2x, z2y := a[1]*inv, a[2]*inv
	z4x, z4y := b[0]*inv, b[1]*inv
	var f features
	f.energy = e
	den := e + poolEps
	f.coh = sqrt32(z2x*z2x+z2y*z2y) / den
	f.grid = sqrt32(z4x*z4x+z4y*z4y) / den
	// atan is undefined at (0, 0) in GLSL (and ±π for signed zeros in
	// Go): flat areas get angle 0 on both sides.
	var ga float32
	if z4x != 0 || z4y != 0 {
		ga = 0.25 * atan2f(z4y, z4x) // (-π/4, π/4]
	}
	if ga < 0 {
		ga += math.Pi / 2
	}
	f.gridAngle = ga
	return f
}

// classifyPixel is stage 3 (barcode_classify.frag) up to the UNORM8 write.
func classifyPixel(in *tex, r, h, x, y int, energyGain float32) [4]float32 {
	f := poolPixel(in, r, h, x, y)
	return [4]float32{
		min(f.coh, 1),
		min(f.grid, 1),
		f.gridAngle * (2 / math.Pi),
		min(sqrt32(f.energy)*energyGain, 1),
	}
}

func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

func atan2f(y, x float32) float32 { return float32(math.Atan2(float64(y), float64(x))) }

// unorm8 is the float -> UNORM8 conversion of the framebuffer write.
func unorm8(v float32) byte {
	v = min(max(v, 0), 1)
	return byte(v*255 + 0.5)
}

// Mask is the RGBA8 read-back of the classify stage at analysis resolution
// (row 0 = top, 4 bytes per pixel, no row padding). Scale is the factor s
// between frame and mask pixels. Channels:
//
//	R  1D coherence  |mean z²| / mean |g|²           (1 = parallel bars)
//	G  grid score    |mean z⁴/|g|²| / mean |g|²      (1 = perpendicular grid; bars too)
//	B  grid orientation atan2(mean z⁴)/4, [0°, 90°) -> [0, 1)
//	A  edge strength min(sqrt(mean |g|²) · EnergyGain, 1)
type Mask struct {
	Width, Height, Scale int
	Pix                  []byte
}

// MaskSize returns the analysis (mask) size and scale for a W×H frame.
func MaskSize(frameW, frameH int, p Params) (w, h, s int) {
	s = AnalysisScale(frameW, frameH, p)
	return (frameW + s - 1) / s, (frameH + s - 1) / s, s
}

// ReferenceMask runs all GPU stages on the CPU and writes the classify output
// into dst (dst.Pix is reused when large enough).
func ReferenceMask(img *image.RGBA, p Params, dst *Mask) {
	var t1, t2 tex
	var lp lumaPlane
	lp.load(img)
	b := img.Bounds()
	w, h, s := MaskSize(b.Dx(), b.Dy(), p)
	r := min(max(p.WindowRadius, 0), MaxWindowRadius)
	t1.resize(w, 2*h)
	for y := 0; y < 2*h; y++ {
		for x := 0; x < w; x++ {
			t1.set(x, y, tensorPixel(&lp, s, h, x, y))
		}
	}
	t2.resize(w, 2*h)
	for y := 0; y < 2*h; y++ {
		for x := 0; x < w; x++ {
			t2.set(x, y, boxHPixel(&t1, r, x, y))
		}
	}
	dst.Width, dst.Height, dst.Scale = w, h, s
	if n := 4 * w * h; cap(dst.Pix) >= n {
		dst.Pix = dst.Pix[:n]
	} else {
		dst.Pix = make([]byte, n)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := classifyPixel(&t2, r, h, x, y, p.EnergyGain)
			i := 4 * (y*w + x)
			dst.Pix[i] = unorm8(v[0])
			dst.Pix[i+1] = unorm8(v[1])
			dst.Pix[i+2] = unorm8(v[2])
			dst.Pix[i+3] = unorm8(v[3])
		}
	}
}

// Package barcodepass is the barcode pass of the compositor: package
// barcode's detector run on the GPU's analysis of a frame, as a pass of a
// pipeline's chain (highlighting in place) or of a layer's (a
// compositor.Analyzer: it reads the layer's source where it is, YUV planes
// included, and highlights on the canvas where the layer shows it). It
// reports its codes as a *Result (Barcodes gathers them).
package barcodepass

import (
	"embed"
	"fmt"
	"image"
	"math"
	"sync"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/scene"
)

// Pass finds barcodes and highlights them: analysis shaders reduce
// the frame to a small candidate mask (shaders/barcode_*.frag), which is
// read back and labeled on the CPU; located regions are decoded from
// full-resolution luma, read back only when there is something to decode;
// each detection is then drawn onto the frame in place, a tinted fill and
// an outline, so the pass costs no full-frame copy.
type Pass struct {
	params barcode.Params
	det    *barcode.Detector

	// result is what the last frame found, kept to draw it (Render,
	// Overlay): the detector's results live only until its next call. What
	// is reported is a copy that the Output owns.
	result Result

	mu        sync.Mutex
	highlight bool
	last      int // detections in the last frame

	stages [3]*compositor.Program // stages[0] is compiled for the scale, in ensure
	// Stage 1 and the luma packing reading a frame's Y plane (a layer's
	// source analysed where it is: analyze), by YUV variant, made on
	// first use; yuvStage0 for the scale of stages[0].
	yuvStage0 [compositor.YUVVariants]*compositor.Program
	yuvLuma   [compositor.YUVVariants]*compositor.Program
	tensor    compositor.Planes // w x h RGBA32F + RG32F
	pooled    compositor.Planes // same
	mask      compositor.Target // w x h RGBA8
	lumaT     compositor.Target // ceil(W/4) x H RGBA8: four luma samples per texel
	lumaP     *compositor.Program
	aw, ah    int
	scale     int
	fw, fh    int
	maskBuf   barcode.Mask
	luma      barcode.Gray
	// src, lumaRead (the whole frame read back) and lumaValid (the part
	// read back, in lumaT texels) serve Luma and LumaIn during one render.
	src       compositor.Picture
	lumaRead  bool
	lumaValid image.Rectangle

	hlProg *compositor.Program
	vbo    uint32
	verts  []float32
}

// Result is what the barcode pass reports of a frame
// (Frame.Report): the codes it found, in the pixels of the frame it ran on.
// It belongs to the Output it was reported to.
type Result struct {
	Barcodes []barcode.DetectedBarcode
}

// Barcodes gathers the barcodes that results (Output.Results,
// LayerResult.Results) hold.
func Barcodes(results []any) []barcode.DetectedBarcode {
	var out []barcode.DetectedBarcode
	for _, r := range results {
		if b, ok := r.(*Result); ok {
			out = append(out, b.Barcodes...)
		}
	}
	return out
}

// Name is the barcode pass's name in a chain (and in the plugin registry,
// scenes files and the API).
const Name = "barcode"

// New returns the barcode pass, named Name.
func New(p barcode.Params) *Pass {
	return &Pass{params: p, highlight: true}
}

// Name implements Pass.
func (b *Pass) Name() string { return Name }

// The analysis stages. Their loop bounds are compile-time constants
// (#define SCALE and RADIUS), so that the loops unroll: on llvmpipe a loop
// over a uniform runs with per-pixel masks and, in the first stage, fetched
// most luma rows twice. The first stage depends on the analysis scale and
// so on the frame size: it is compiled in ensure.
var barcodeStages = [3]string{"barcode_tensor.frag", "barcode_boxh.frag", "barcode_classify.frag"}

func (b *Pass) Setup(d *compositor.Device) error {
	if b.det != nil {
		return fmt.Errorf("barcodepass: the pass is already in a pipeline; make a new one")
	}
	radius := fmt.Sprintf("RADIUS %d", min(max(b.params.WindowRadius, 0), barcode.MaxWindowRadius))
	var err error
	for i := 1; i < len(barcodeStages); i++ {
		if b.stages[i], err = d.NewProgram(compositor.FullscreenVert(), compositor.WithDefines(source(barcodeStages[i]), radius)); err != nil {
			b.Release(d)
			return err
		}
	}
	if b.lumaP, err = d.NewProgram(compositor.FullscreenVert(), source("luma_pack.frag")); err != nil {
		b.Release(d)
		return err
	}
	if b.hlProg, err = d.NewProgram(source("highlight.vert"), source("highlight.frag")); err != nil {
		b.Release(d)
		return err
	}
	b.vbo = d.NewBuffer(gl.ARRAY_BUFFER, 0, gl.STREAM_DRAW)
	b.det = barcode.NewDetector(b.params)
	return nil
}

func (b *Pass) releaseSized(d *compositor.Device) {
	d.DeletePlanes(&b.tensor)
	d.DeletePlanes(&b.pooled)
	d.DeleteTarget(&b.mask)
	d.DeleteTarget(&b.lumaT)
	b.fw, b.fh = 0, 0
}

func (b *Pass) Release(d *compositor.Device) {
	b.releaseSized(d)
	for i := range b.stages {
		d.DeleteProgram(&b.stages[i])
	}
	d.DeleteProgram(&b.lumaP)
	for i := range b.yuvStage0 {
		d.DeleteProgram(&b.yuvStage0[i])
		d.DeleteProgram(&b.yuvLuma[i])
	}
	d.DeleteProgram(&b.hlProg)
	d.DeleteBuffer(&b.vbo)
	if b.det != nil {
		b.det.Close()
		b.det = nil
	}
}

func (b *Pass) ensure(d *compositor.Device, w, h int) error {
	if b.fw == w && b.fh == h {
		return nil
	}
	b.releaseSized(d)
	aw, ah, s := barcode.MaskSize(w, h, b.params)
	var err error
	if b.stages[0] == nil || s != b.scale {
		d.DeleteProgram(&b.stages[0])
		for i := range b.yuvStage0 {
			d.DeleteProgram(&b.yuvStage0[i])
		}
		if b.stages[0], err = d.NewProgram(compositor.FullscreenVert(), compositor.WithDefines(source(barcodeStages[0]), fmt.Sprintf("SCALE %d", s))); err != nil {
			return err
		}
	}
	formats := [2]int32{gl.RGBA32F, gl.RG32F}
	layouts := [2]uint32{gl.RGBA, gl.RG}
	if b.tensor, err = d.NewPlanes(aw, ah, formats, layouts); err != nil {
		return err
	}
	if b.pooled, err = d.NewPlanes(aw, ah, formats, layouts); err != nil {
		return err
	}
	if b.mask, err = d.NewTarget(aw, ah, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE); err != nil {
		return err
	}
	if b.lumaT, err = d.NewTarget((w+3)/4, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE); err != nil {
		return err
	}
	b.aw, b.ah, b.scale, b.fw, b.fh = aw, ah, s, w, h
	b.maskBuf = barcode.Mask{Width: aw, Height: ah, Scale: s, Pix: make([]byte, 4*aw*ah)}
	b.luma = barcode.Gray{Pix: make([]byte, 4*((w+3)/4)*h), Stride: 4 * ((w + 3) / 4), Width: w, Height: h}
	return nil
}

func (b *Pass) Render(f *compositor.Frame, src, dst *compositor.Target) (*compositor.Target, error) {
	if err := b.detect(f, compositor.PictureOf(src)); err != nil {
		return nil, err
	}
	if !b.highlighting() || len(b.result.Barcodes) == 0 {
		return src, nil
	}
	out := f.Writable(src)
	b.draw(out, b.result.Barcodes, nil, 1)
	return out, nil
}

// Analyze implements Analyzer: the detection of Render, on src as it is
// (its YUV planes when it has them: no RGBA copy of the frame is made).
func (b *Pass) Analyze(f *compositor.Frame, src *compositor.Picture) error { return b.detect(f, *src) }

// Overlay implements Analyzer: the highlights of the last Analyze, drawn
// onto dst where pl puts the frame, clipped to the part of the frame pl
// shows, at dst's own line width.
func (b *Pass) Overlay(f *compositor.Frame, dst *compositor.Target, pl scene.Placement, opacity float64) {
	if b.highlighting() && len(b.result.Barcodes) > 0 {
		b.draw(dst, b.result.Barcodes, &pl, float32(min(max(opacity, 0), 1)))
	}
}

// yuvPrograms makes the programs that read YUV variant v, once.
func (b *Pass) yuvPrograms(d *compositor.Device, v int) error {
	var err error
	if b.yuvStage0[v] == nil {
		if b.yuvStage0[v], err = d.NewProgram(compositor.FullscreenVert(), compositor.FetchingLuma(source(barcodeStages[0]), v, fmt.Sprintf("SCALE %d", b.scale))); err != nil {
			return err
		}
	}
	if b.yuvLuma[v] == nil {
		b.yuvLuma[v], err = d.NewProgram(compositor.FullscreenVert(), compositor.FetchingLuma(source("luma_pack.frag"), v))
	}
	return err
}

func (b *Pass) highlighting() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.highlight
}

// detect finds the barcodes of src into b.result and reports a copy.
func (b *Pass) detect(f *compositor.Frame, src compositor.Picture) error {
	w, h := src.Size()
	if err := b.ensure(f.Device(), w, h); err != nil {
		return err
	}
	p := &b.params
	// Stage 1: full-res frame -> block gradient moments at analysis size.
	st0 := b.useStage(0, w, h)
	if v, yuv := src.YUV(); yuv {
		if err := b.yuvPrograms(f.Device(), v); err != nil {
			return err
		}
		st0 = b.yuvStage0[v]
		gl.UseProgram(st0.ID())
		gl.Uniform2i(st0.Loc("uInputSize"), int32(w), int32(h))
		src.BindYUV(st0)
	}
	b.tensor.Draw(src.Texture().ID(), 0)
	// Stage 2: horizontal box.
	b.useStage(1, b.aw, b.ah)
	b.pooled.Draw(b.tensor.Texture(0).ID(), b.tensor.Texture(1).ID())
	// Stage 3: vertical box and classification.
	st := b.useStage(2, b.aw, b.ah)
	gl.Uniform1f(st.Loc("uEnergyGain"), p.EnergyGain)
	gl.ActiveTexture(gl.TEXTURE1)
	gl.BindTexture(gl.TEXTURE_2D, b.pooled.Texture(1).ID())
	compositor.DrawFullscreen(b.pooled.Texture(0).ID(), &b.mask)

	// The readback waits for every pass before this one: wait for them
	// in order first, so that a slow one is known by name.
	f.Settle()
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, b.mask.FBO())
	gl.ReadPixels(0, 0, int32(b.aw), int32(b.ah), gl.RGBA, gl.UNSIGNED_BYTE, compositor.BytesPtr(b.maskBuf.Pix))

	b.src, b.lumaRead, b.lumaValid = src, false, image.Rectangle{}
	b.result.Barcodes = copyDetections(b.result.Barcodes, b.det.DetectFrom(&b.maskBuf, b))
	b.src = compositor.Picture{}
	out, _ := f.Recycled().(*Result)
	if out == nil {
		out = &Result{}
	}
	out.Barcodes = copyDetections(out.Barcodes, b.result.Barcodes)
	f.Report(out)

	b.mu.Lock()
	b.last = len(b.result.Barcodes)
	b.mu.Unlock()
	return nil
}

// useStage makes analysis stage i current with its common uniforms: the
// inputs on units 0 and 1 and the input size.
func (b *Pass) useStage(i, w, h int) *compositor.Program {
	st := b.stages[i]
	gl.UseProgram(st.ID())
	gl.Uniform1i(st.Loc("uInput"), 0)
	gl.Uniform1i(st.Loc("uInput1"), 1)
	gl.Uniform2i(st.Loc("uInputSize"), int32(w), int32(h))
	return st
}

// Luma renders and reads back the frame's full-resolution luma, once per
// frame and only when the detector asks: most frames of a video have no
// candidate to decode. It implements barcode.LumaSource.
func (b *Pass) Luma() barcode.Gray {
	if !b.lumaRead {
		b.lumaRead = true
		b.readLuma(image.Rect(0, 0, b.lumaT.Texture().W(), b.fh))
	}
	return b.luma
}

// LumaIn renders and reads back only the part of the frame's luma that a
// decode or re-read needs (and what earlier calls in the frame read),
// a fraction of the frame's readback when codes are followed and re-read
// in place. It implements barcode.LumaRegionSource.
func (b *Pass) LumaIn(x0, y0, x1, y1 int) barcode.Gray {
	// In lumaT texels: four pixels each.
	r := image.Rect(max(x0, 0)/4, max(y0, 0), min((x1+3)/4, b.lumaT.Texture().W()), min(y1, b.fh))
	if b.lumaRead || r.Empty() || r.In(b.lumaValid) {
		return b.luma
	}
	r = r.Union(b.lumaValid)
	b.readLuma(r)
	b.lumaValid = r
	return b.luma
}

// readLuma renders the luma of texels r (rows are frame rows, top first,
// as the frame's texture) and reads them back into place in b.luma.
func (b *Pass) readLuma(r image.Rectangle) {
	lp := b.lumaP
	gl.UseProgram(lp.ID())
	if v, yuv := b.src.YUV(); yuv {
		lp = b.yuvLuma[v] // made by detect
		gl.UseProgram(lp.ID())
		b.src.BindYUV(lp)
	}
	gl.Uniform1i(lp.Loc("uInput"), 0)
	gl.Uniform2i(lp.Loc("uInputSize"), int32(b.fw), int32(b.fh))
	gl.Enable(gl.SCISSOR_TEST)
	gl.Scissor(int32(r.Min.X), int32(r.Min.Y), int32(r.Dx()), int32(r.Dy()))
	compositor.DrawFullscreen(b.src.Texture().ID(), &b.lumaT)
	gl.Disable(gl.SCISSOR_TEST)
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, b.lumaT.FBO())
	gl.PixelStorei(gl.PACK_ROW_LENGTH, int32(b.lumaT.Texture().W()))
	gl.ReadPixels(int32(r.Min.X), int32(r.Min.Y), int32(r.Dx()), int32(r.Dy()), gl.RGBA, gl.UNSIGNED_BYTE,
		compositor.BytesPtr(b.luma.Pix[r.Min.Y*b.luma.Stride+4*r.Min.X:]))
	gl.PixelStorei(gl.PACK_ROW_LENGTH, 0)
}

// copyDetections copies src into dst, reusing dst's storage, corner
// slices included: the detector's results are only valid until its next
// call, and each Output keeps its own.
func copyDetections(dst, src []barcode.DetectedBarcode) []barcode.DetectedBarcode {
	dst = dst[:0]
	for _, d := range src {
		var corners []barcode.Point
		if len(dst) < cap(dst) {
			corners = dst[:len(dst)+1][len(dst)].CornerPoints[:0]
		}
		d.CornerPoints = append(corners, d.CornerPoints...)
		dst = append(dst, d)
	}
	return dst
}

// Highlight colours: green for decoded codes, amber for located but
// unreadable ones; fills are translucent so the code stays visible.
var (
	fillDecoded = [4]float32{0.1, 1, 0.35, 0.28}
	lineDecoded = [4]float32{0.1, 1, 0.35, 1}
	fillUnknown = [4]float32{1, 0.65, 0, 0.22}
	lineUnknown = [4]float32{1, 0.65, 0, 1}
)

// draw blends each detection's fill and outline into t: in t's pixels
// (the frame the codes were found in), or, with pl, where pl puts that
// frame in t, clipped to the part of it pl shows; alpha scales their
// opacity (a layer's).
func (b *Pass) draw(t *compositor.Target, dets []barcode.DetectedBarcode, pl *scene.Placement, alpha float32) {
	thick := float32(math.Max(2, math.Round(float64(min(t.Texture().W(), t.Texture().H()))/180)))
	v := b.verts[:0]
	var clipped [maxClipped][2]float64
	for _, d := range dets {
		if len(d.CornerPoints) != 4 {
			continue
		}
		fill, line := fillDecoded, lineDecoded
		if d.Format == "unknown" || d.RawValue == "" {
			fill, line = fillUnknown, lineUnknown
		}
		fill[3] *= alpha
		line[3] *= alpha
		var q [4][2]float64
		for i, p := range d.CornerPoints {
			q[i] = [2]float64{p.X, p.Y}
		}
		if pl == nil {
			c := [4][2]float32{}
			for i := range q {
				c[i] = [2]float32{float32(q[i][0]), float32(q[i][1])}
			}
			v = appendTri(v, c[0], c[1], c[2], fill)
			v = appendTri(v, c[0], c[2], c[3], fill)
			for i := 0; i < 4; i++ {
				v = appendLine(v, c[i], c[(i+1)%4], thick, line, true, true)
			}
			continue
		}
		on := func(p [2]float64) [2]float32 {
			x, y := pl.ToCanvas(p[0], p[1])
			return [2]float32{float32(x), float32(y)}
		}
		poly := clipPolygon(q[:], pl.Src, &clipped)
		for i := 2; i < len(poly); i++ {
			v = appendTri(v, on(poly[0]), on(poly[i-1]), on(poly[i]), fill)
		}
		for i := 0; i < 4; i++ {
			// An end cut by the clip is not extended past it.
			if a, c, ok := clipSegment(q[i], q[(i+1)%4], pl.Src); ok {
				v = appendLine(v, on(a), on(c), thick, line, a == q[i], c == q[(i+1)%4])
			}
		}
	}
	b.verts = v
	if len(v) == 0 {
		return
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.FBO())
	gl.Viewport(0, 0, int32(t.Texture().W()), int32(t.Texture().H()))
	gl.UseProgram(b.hlProg.ID())
	gl.Uniform2f(b.hlProg.Loc("uTargetSize"), float32(t.Texture().W()), float32(t.Texture().H()))
	gl.BindBuffer(gl.ARRAY_BUFFER, b.vbo)
	gl.BufferData(gl.ARRAY_BUFFER, 4*len(v), unsafe.Pointer(&v[0]), gl.STREAM_DRAW)
	gl.EnableVertexAttribArray(0)
	gl.EnableVertexAttribArray(1)
	gl.VertexAttribPointerWithOffset(0, 2, gl.FLOAT, false, 6*4, 0)
	gl.VertexAttribPointerWithOffset(1, 4, gl.FLOAT, false, 6*4, 2*4)
	gl.Enable(gl.BLEND)
	// Keep the frame's alpha: only colour is blended.
	gl.BlendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ZERO, gl.ONE)
	gl.DrawArrays(gl.TRIANGLES, 0, int32(len(v)/6))
	gl.Disable(gl.BLEND)
	gl.DisableVertexAttribArray(0)
	gl.DisableVertexAttribArray(1)
	gl.BindBuffer(gl.ARRAY_BUFFER, 0)
}

func appendTri(v []float32, a, b, c [2]float32, col [4]float32) []float32 {
	for _, p := range [3][2]float32{a, b, c} {
		v = append(v, p[0], p[1], col[0], col[1], col[2], col[3])
	}
	return v
}

// appendLine adds a segment of the given thickness as two triangles,
// extended by half the thickness at the ends asked (extA, extB), so that
// corners close.
func appendLine(v []float32, a, b [2]float32, thick float32, col [4]float32, extA, extB bool) []float32 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l := float32(math.Hypot(float64(dx), float64(dy)))
	if l == 0 {
		return v
	}
	ux, uy := dx/l*thick/2, dy/l*thick/2 // along
	nx, ny := -uy, ux                    // across
	ax, ay, bx, by := ux, uy, ux, uy
	if !extA {
		ax, ay = 0, 0
	}
	if !extB {
		bx, by = 0, 0
	}
	p0 := [2]float32{a[0] - ax + nx, a[1] - ay + ny}
	p1 := [2]float32{b[0] + bx + nx, b[1] + by + ny}
	p2 := [2]float32{b[0] + bx - nx, b[1] + by - ny}
	p3 := [2]float32{a[0] - ax - nx, a[1] - ay - ny}
	v = appendTri(v, p0, p1, p2, col)
	return appendTri(v, p0, p2, p3, col)
}

// SetHighlight turns the drawing on or off; detection goes on either way.
func (b *Pass) SetHighlight(on bool) {
	b.mu.Lock()
	b.highlight = on
	b.mu.Unlock()
}

func (b *Pass) Uniforms() []compositor.UniformInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return []compositor.UniformInfo{{Name: "highlight", Type: "bool", Value: b.highlight, Label: "Highlight barcodes", Default: true}}
}

func (b *Pass) SetUniform(name string, v any) error {
	on, ok := v.(bool)
	if name != "highlight" || !ok {
		return compositor.UniformError(Name, name, v)
	}
	b.SetHighlight(on)
	return nil
}

//go:embed shaders
var shaderFiles embed.FS

// source is one of the pass's shaders (shaders/*): they follow the
// compositor's conventions (package shaders).
func source(name string) compositor.ShaderSource {
	b, err := shaderFiles.ReadFile("shaders/" + name)
	if err != nil {
		panic(err) // a constant name of an embedded file
	}
	return compositor.NewShaderSource(name, string(b))
}

package barcodetest

import (
	"fmt"
	"image"
	"io"
	"math"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/record"
)

// Video synthesis: the photo set played as live video. Each photo is
// placed on a 1280x720 canvas by a similarity transform (rotation, scale,
// translation) that changes every frame, held for a number of frames and
// then cut to the next, so that the true corners of every code in every
// frame are known exactly (the manifest's corners through the same
// transform). Rendering is plain Go (bilinear warp, BT.709 limited-range
// I420, what the Y4M reader declares for 720-line video), independent of
// the GPU code it is used to test.

// Motion is how a photo moves while it is held.
type Motion int

const (
	// Rock turns the photo back and forth by RockAmplitude over
	// RockPeriod (the measurement: ±0.35 rad over 1.5 s).
	Rock Motion = iota
	// Pan slides the photo along a straight line at PanSpeed.
	Pan
	// Zoom scales the photo by 1±ZoomAmplitude over ZoomPeriod.
	Zoom
	// Mixed is all three at once.
	Mixed
	numMotions
)

func (m Motion) String() string {
	switch m {
	case Rock:
		return "rock"
	case Pan:
		return "pan"
	case Zoom:
		return "zoom"
	case Mixed:
		return "mixed"
	}
	return fmt.Sprintf("Motion(%d)", int(m))
}

// Motion parameters. Fast enough that a box refreshed every few frames is
// visibly off (the 35 px median), slow enough for a camera at 30 fps
// to keep the code sharp.
const (
	RockAmplitude = 0.35 // rad
	RockPeriod    = 1.5  // s
	PanSpeed      = 120  // px/s
	ZoomAmplitude = 0.15
	ZoomPeriod    = 2.0 // s

	// canvasMargin keeps the photo off the frame's edges at every moment of
	// its motion: codes are always wholly in view, and the corner blocks
	// that carry the frame marker stay background.
	canvasMargin = 40
	// background luma; the chroma carries the frame marker (FrameMarker).
	backgroundY = 110
	markerBase  = 96 // U, V = markerBase + markerStep*k, k in 0..15
	markerStep  = 4
)

// ClipOptions configures NewClip.
type ClipOptions struct {
	Width, Height int // canvas; 0: 1280x720
	FPS           int // 0: 30
	Hold          int // frames each photo is in view; 0: 30
	// Motions are cycled over the photos (photo i moves with
	// Motions[i%len]); nil: Rock, Pan, Zoom, Mixed.
	Motions []Motion
}

// Segment is one photo's time in the clip: frames [Start, End).
type Segment struct {
	Case       Case
	Start, End int
	Motion     Motion

	photo *image.RGBA // prescaled by 1/pre (box filter) against aliasing
	pre   float64     // photo pixel = pre original pixels
	base  float64     // scale of the original photo at rest
	phase float64     // of the periodic motions, rad
	dir   float64     // of the pan, rad
}

// Clip is a synthesized video: photos one after another, each moving.
type Clip struct {
	Width, Height, FPS int
	Segments           []Segment
	Frames             int
}

// Affine maps photo coordinates (original pixels, continuous: pixel (i, j)
// covers [i, i+1) x [j, j+1)) to canvas coordinates (same convention):
// (x, y) -> (A*x + B*y + C, D*x + E*y + F).
type Affine struct{ A, B, C, D, E, F float64 }

// Apply maps one point.
func (m Affine) Apply(x, y float64) (float64, float64) {
	return m.A*x + m.B*y + m.C, m.D*x + m.E*y + m.F
}

// Invert returns the inverse map.
func (m Affine) Invert() Affine {
	det := m.A*m.E - m.B*m.D
	a, b, d, e := m.E/det, -m.B/det, -m.D/det, m.A/det
	return Affine{A: a, B: b, C: -(a*m.C + b*m.F), D: d, E: e, F: -(d*m.C + e*m.F)}
}

// NewClip lays the cases out one after another, each held for opts.Hold
// frames, and loads their photos. Layout is deterministic: the same cases
// and options give the same clip, frame for frame.
func NewClip(cases []Case, opts ClipOptions) (*Clip, error) {
	if opts.Width == 0 {
		opts.Width, opts.Height = 1280, 720
	}
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	if opts.Hold == 0 {
		opts.Hold = 30
	}
	if opts.Width%2 != 0 || opts.Height%2 != 0 || opts.Hold < 1 {
		return nil, fmt.Errorf("barcodetest: clip %dx%d hold %d: want an even size and a positive hold", opts.Width, opts.Height, opts.Hold)
	}
	if len(opts.Motions) == 0 {
		opts.Motions = []Motion{Rock, Pan, Zoom, Mixed}
	}
	c := &Clip{Width: opts.Width, Height: opts.Height, FPS: opts.FPS}
	for i, cs := range cases {
		img, err := LoadRGBA(cs.Path)
		if err != nil {
			return nil, err
		}
		s := Segment{Case: cs, Start: c.Frames, End: c.Frames + opts.Hold, Motion: opts.Motions[i%len(opts.Motions)],
			// Golden-angle steps: phases and directions spread evenly,
			// without a period that lines up with the photo order.
			phase: math.Mod(float64(i)*2.39996, 2*math.Pi),
			dir:   math.Mod(float64(i)*2.39996+0.5, 2*math.Pi)}
		s.Case.Width, s.Case.Height = img.Rect.Dx(), img.Rect.Dy()
		c.fit(&s)
		// Below half size, bilinear sampling skips pixels and aliases
		// fine bars; a camera integrates over its pixels instead. Box
		// filter the photo by the whole factor first, bilinear for the
		// rest.
		minScale := s.base
		if s.Motion == Zoom || s.Motion == Mixed {
			minScale *= 1 - ZoomAmplitude
		}
		s.pre = math.Max(1, math.Floor(1/minScale))
		s.photo = shrink(img, int(s.pre))
		c.Segments = append(c.Segments, s)
		c.Frames += opts.Hold
	}
	return c, nil
}

// t is the segment's time at frame n, in seconds from its start.
func (c *Clip) t(s *Segment, n int) float64 { return float64(n-s.Start) / float64(c.FPS) }

// pose is the rotation, scale factor and displacement of segment s at time t.
func (s *Segment) pose(t, dur float64) (theta, k, dx, dy float64) {
	k = 1
	if s.Motion == Rock || s.Motion == Mixed {
		theta = RockAmplitude * math.Sin(2*math.Pi*t/RockPeriod+s.phase)
	}
	if s.Motion == Zoom || s.Motion == Mixed {
		k = 1 + ZoomAmplitude*math.Sin(2*math.Pi*t/ZoomPeriod+s.phase)
	}
	if s.Motion == Pan || s.Motion == Mixed {
		d := PanSpeed * (t - dur/2) // centred on the segment's middle
		dx, dy = d*math.Cos(s.dir), d*math.Sin(s.dir)
	}
	return
}

// fit chooses the photo's scale at rest: its own size (cameras see codes
// small as well as large) unless some moment of its motion would take it
// off the canvas margin, then smaller.
func (c *Clip) fit(s *Segment) {
	dur := float64(s.End-s.Start) / float64(c.FPS)
	hw, hh := float64(s.Case.Width)/2, float64(s.Case.Height)/2
	s.base = 1
	for n := s.Start; n < s.End; n++ {
		th, k, dx, dy := s.pose(c.t(s, n), dur)
		ex := k * (hw*math.Abs(math.Cos(th)) + hh*math.Abs(math.Sin(th)))
		ey := k * (hw*math.Abs(math.Sin(th)) + hh*math.Abs(math.Cos(th)))
		ax := float64(c.Width)/2 - canvasMargin - math.Abs(dx)
		ay := float64(c.Height)/2 - canvasMargin - math.Abs(dy)
		s.base = math.Min(s.base, math.Min(ax/ex, ay/ey))
	}
}

// Segment returns the index of the segment showing frame n, or -1.
func (c *Clip) Segment(n int) int {
	if n < 0 || n >= c.Frames || len(c.Segments) == 0 {
		return -1
	}
	hold := c.Segments[0].End - c.Segments[0].Start
	return n / hold
}

// Transform is the map from the photo on view at frame n (original pixels)
// to the canvas.
func (c *Clip) Transform(n int) Affine {
	i := c.Segment(n)
	if i < 0 {
		return Affine{A: 1, E: 1}
	}
	s := &c.Segments[i]
	th, k, dx, dy := s.pose(c.t(s, n), float64(s.End-s.Start)/float64(c.FPS))
	sc := s.base * k
	cos, sin := sc*math.Cos(th), sc*math.Sin(th)
	// Photo centre to canvas centre plus the pan.
	px, py := float64(s.Case.Width)/2, float64(s.Case.Height)/2
	cx, cy := float64(c.Width)/2+dx, float64(c.Height)/2+dy
	return Affine{A: cos, B: -sin, C: cx - (cos*px - sin*py), D: sin, E: cos, F: cy - (sin*px + cos*py)}
}

// InView is one code on view in a frame, with its true corners there.
type InView struct {
	Truth
	Corners [4][2]float64 // the manifest's points through Transform(n)
}

// Truth returns the codes on view at frame n with their corners in that
// frame (none on false-positive photos and outside the clip).
func (c *Clip) Truth(n int) []InView {
	i := c.Segment(n)
	if i < 0 {
		return nil
	}
	m := c.Transform(n)
	tr := c.Segments[i].Case.Truth
	out := make([]InView, len(tr))
	for j, t := range tr {
		out[j].Truth = t
		for k, p := range t.Points {
			out[j].Corners[k][0], out[j].Corners[k][1] = m.Apply(p[0], p[1])
		}
	}
	return out
}

// Timestamp is frame n's time in µs, exactly as the Y4M reader computes it
// from the F ratio (floor of n*1e6/fps).
func (c *Clip) Timestamp(n int) int64 { return int64(n) * 1_000_000 / int64(c.FPS) }

// FrameMarker is the background chroma of frame n: U and V each one of 16
// levels (markerBase + 4k), so that a composited frame read back as RGB
// (a snapshot) tells n modulo 256. Luma is flat, so the marker gives the
// barcode detector, which works on luma, no edge to find.
func FrameMarker(n int) (u, v byte) {
	return byte(markerBase + markerStep*(n&15)), byte(markerBase + markerStep*((n>>4)&15))
}

// MarkerFromRGB inverts FrameMarker on an RGB colour (a pixel of the
// background read back through the BT.709 limited-range matrix): n modulo
// 256.
func MarkerFromRGB(r, g, b float64) int {
	_, u, v := rgbToYUV709(r, g, b)
	ku := int(math.Round((u - markerBase) / markerStep))
	kv := int(math.Round((v - markerBase) / markerStep))
	return min(max(ku, 0), 15) | min(max(kv, 0), 15)<<4
}

// rgbToYUV709 converts 8-bit RGB to BT.709 limited-range Y'CbCr (floats,
// not rounded).
func rgbToYUV709(r, g, b float64) (y, u, v float64) {
	const kr, kb = 0.2126, 0.0722
	yy := kr*r + (1-kr-kb)*g + kb*b // 0..255
	return 16 + yy*219/255, 128 + (b-yy)/(2*(1-kb))*224/255, 128 + (r-yy)/(2*(1-kr))*224/255
}

// YUV709ToRGB converts BT.709 limited-range Y'CbCr to 8-bit RGB, the
// inverse of rgbToYUV709 (clamped): how frames are shown to still-image
// detectors.
func YUV709ToRGB(y, u, v byte) (r, g, b byte) {
	yy := (float64(y) - 16) * 255 / 219
	cb := (float64(u) - 128) * 255 / 224
	cr := (float64(v) - 128) * 255 / 224
	const kr, kb = 0.2126, 0.0722
	rf := yy + 2*(1-kr)*cr
	bf := yy + 2*(1-kb)*cb
	gf := (yy - kr*rf - kb*bf) / (1 - kr - kb)
	return clamp8(rf), clamp8(gf), clamp8(bf)
}

func clamp8(v float64) byte {
	v = math.Round(v)
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// Frame is one I420 picture, tightly packed (Y, then U, then V).
type Frame struct {
	Width, Height int
	Pix           []byte
}

// NewFrame allocates a frame for the clip.
func (c *Clip) NewFrame() *Frame {
	return &Frame{Width: c.Width, Height: c.Height, Pix: make([]byte, c.Width*c.Height*3/2)}
}

// Planes returns the Y, U and V planes.
func (f *Frame) Planes() (y, u, v []byte) {
	ys := f.Width * f.Height
	cs := ys / 4
	return f.Pix[:ys], f.Pix[ys : ys+cs], f.Pix[ys+cs:]
}

// RGBA converts the frame to RGB (BT.709 limited range, chroma of each 2x2
// block shared): the same picture as still images, for `shadercast detect`.
func (f *Frame) RGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	py, pu, pv := f.Planes()
	cw := f.Width / 2
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			r, g, b := YUV709ToRGB(py[y*f.Width+x], pu[(y/2)*cw+x/2], pv[(y/2)*cw+x/2])
			o := y*img.Stride + 4*x
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, b, 255
		}
	}
	return img
}

// Render draws frame n into f: the background with frame n's marker, and
// the photo on view warped by Transform(n) with bilinear sampling. Pixel
// (x, y) of the canvas samples the photo at the inverse image of its centre
// (x+0.5, y+0.5); chroma is the mean of each 2x2 block's (centred siting,
// as C420jpeg declares).
func (c *Clip) Render(n int, f *Frame) {
	c.RenderBlank(n, f)
	mu, mv := FrameMarker(n)
	py, pu, pv := f.Planes()
	i := c.Segment(n)
	if i < 0 {
		return
	}
	s := &c.Segments[i]
	m := c.Transform(n)
	inv := m.Invert()
	// Photo outline on the canvas, rounded out to whole 2x2 blocks.
	w, h := float64(s.Case.Width), float64(s.Case.Height)
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range [4][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}} {
		x, y := m.Apply(p[0], p[1])
		x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
	}
	bx0 := max(0, int(math.Floor(x0))&^1)
	by0 := max(0, int(math.Floor(y0))&^1)
	bx1 := min(c.Width, (int(math.Ceil(x1))+1)&^1)
	by1 := min(c.Height, (int(math.Ceil(y1))+1)&^1)
	cw := c.Width / 2
	// usum, vsum accumulate each 2x2 block's chroma over its two rows.
	usum := make([]float64, cw)
	vsum := make([]float64, cw)
	pre := s.pre
	ph := s.photo
	pw, phh := ph.Rect.Dx(), ph.Rect.Dy()
	for y := by0; y < by1; y++ {
		if y&1 == 0 {
			clear(usum[bx0/2 : bx1/2])
			clear(vsum[bx0/2 : bx1/2])
		}
		for x := bx0; x < bx1; x++ {
			ox, oy := inv.Apply(float64(x)+0.5, float64(y)+0.5)
			var yy, u, v float64
			if ox < 0 || oy < 0 || ox >= w || oy >= h {
				yy, u, v = backgroundY, float64(mu), float64(mv)
			} else {
				r, g, b := bilinear(ph, pw, phh, ox/pre-0.5, oy/pre-0.5)
				yy, u, v = rgbToYUV709(r, g, b)
			}
			py[y*c.Width+x] = clamp8(yy)
			usum[x/2] += u
			vsum[x/2] += v
		}
		if y&1 == 1 {
			for bx := bx0 / 2; bx < bx1/2; bx++ {
				pu[(y/2)*cw+bx] = clamp8(usum[bx] / 4)
				pv[(y/2)*cw+bx] = clamp8(vsum[bx] / 4)
			}
		}
	}
}

// RenderBlank draws frame n's background alone, with its marker.
func (c *Clip) RenderBlank(n int, f *Frame) {
	py, pu, pv := f.Planes()
	mu, mv := FrameMarker(n)
	for i := range py {
		py[i] = backgroundY
	}
	for i := range pu {
		pu[i], pv[i] = mu, mv
	}
}

// SegmentRange returns the frames [from, to) of segments [i, j).
func (c *Clip) SegmentRange(i, j int) (from, to int) {
	return c.Segments[i].Start, c.Segments[j-1].End
}

// bilinear samples img at (x, y) in pixel-centre coordinates (pixel (i, j)
// at (i, j)), clamping at the edges.
func bilinear(img *image.RGBA, w, h int, x, y float64) (r, g, b float64) {
	fx, fy := math.Floor(x), math.Floor(y)
	ax, ay := x-fx, y-fy
	x0, y0 := int(fx), int(fy)
	x1, y1 := min(max(x0+1, 0), w-1), min(max(y0+1, 0), h-1)
	x0, y0 = min(max(x0, 0), w-1), min(max(y0, 0), h-1)
	p := func(x, y int) (float64, float64, float64) {
		o := y*img.Stride + 4*x
		return float64(img.Pix[o]), float64(img.Pix[o+1]), float64(img.Pix[o+2])
	}
	r00, g00, b00 := p(x0, y0)
	r10, g10, b10 := p(x1, y0)
	r01, g01, b01 := p(x0, y1)
	r11, g11, b11 := p(x1, y1)
	lerp := func(a, b, c, d float64) float64 {
		top := a + (b-a)*ax
		bot := c + (d-c)*ax
		return top + (bot-top)*ay
	}
	return lerp(r00, r10, r01, r11), lerp(g00, g10, g01, g11), lerp(b00, b10, b01, b11)
}

// shrink box-filters img by the whole factor f (f = 1: img itself). Edge
// pixels that do not fill a whole box are averaged over what there is.
func shrink(img *image.RGBA, f int) *image.RGBA {
	if f <= 1 {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	ow, oh := (w+f-1)/f, (h+f-1)/f
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var s [4]int
			cnt := 0
			for y := oy * f; y < min(h, (oy+1)*f); y++ {
				for x := ox * f; x < min(w, (ox+1)*f); x++ {
					o := y*img.Stride + 4*x
					for k := range 4 {
						s[k] += int(img.Pix[o+k])
					}
					cnt++
				}
			}
			o := oy*out.Stride + 4*ox
			for k := range 4 {
				out.Pix[o+k] = byte((s[k] + cnt/2) / cnt)
			}
		}
	}
	return out
}

// WriteY4M writes frames [from, to) of the clip as a YUV4MPEG2 stream
// (C420jpeg, F<fps>:1, limited range) through the recorder's writer, the
// one the service records with.
func (c *Clip) WriteY4M(w io.Writer, from, to int) error { return c.WriteY4MPadded(w, from, to, 0, 0) }

// WriteY4MPadded is WriteY4M with lead frames of bare background before
// frame from and tail frames after frame to-1, so that a player settles
// before the first photo and its last frames' results get out before the
// stream ends. Padding frames carry the marker of the clip frame they stand
// in for (from-lead .. from-1, to .. to+tail-1): stream frame k is clip
// frame from-lead+k throughout.
func (c *Clip) WriteY4MPadded(w io.Writer, from, to, lead, tail int) error {
	y, err := record.NewY4M(w, record.Y4MOptions{FrameRateNum: c.FPS, FrameRateDen: 1})
	if err != nil {
		return err
	}
	f := c.NewFrame()
	for n := from - lead; n < to+tail; n++ {
		if n < from || n >= to {
			c.RenderBlank(n, f)
		} else {
			c.Render(n, f)
		}
		vf, err := media.NewVideoFrame(f.Pix, media.VideoFrameInit{Format: media.I420, CodedWidth: c.Width, CodedHeight: c.Height,
			Timestamp: c.Timestamp(n), Duration: c.Timestamp(n+1) - c.Timestamp(n), ColorSpace: media.ColorSpaceBT709Limited})
		if err != nil {
			return err
		}
		err = y.WriteFrame(vf)
		vf.Close()
		if err != nil {
			return err
		}
	}
	return y.Close()
}

// Package testsrc draws shadercast's built-in test pattern: an animated
// scene rendered in pure Go (no GL) into an *image.RGBA.
//
// The scene is built to exercise the pipeline end to end, and every element
// has a reason:
//   - a smooth gradient with a scrolling checker and noise texture, so that
//     every frame differs and encoders see realistic detail rather than flat
//     colour;
//   - three real barcodes (EAN-13, Code 128, QR) that move slowly, the QR also
//     rotating, whose exact corners per frame are known (Barcodes), so that
//     the barcode pass can be tested against ground truth;
//   - a running clock (hh:mm:ss.mmm of frame time) and a frame counter, so
//     that a viewer can read latency and dropped frames off the screen;
//   - a square that lights up for exactly one frame each second (Flash), an
//     A/V-sync marker to line up against a matching audio tick.
//
// Rendering is a deterministic function of the frame index, and Render does
// not allocate: the barcode bitmaps and the background are prepared once in
// New, and each frame is copies and small blits.
package testsrc

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"

	"github.com/shadercast/shadercast/barcode"
)

// Layout is designed on a 1280x720 reference canvas and scaled uniformly by
// s = min(width/1280, height/720), centred in the frame. Module sizes and text
// scales round down, so that scaled elements never outgrow their reference
// slots; only the minimums (one pixel per module, text at 1x) can make a
// small frame too crowded, which New reports as an error.
const (
	refW, refH = 1280, 720

	// Module sizes in pixels at the reference size. The barcode pass locates
	// codes at half resolution and decodes them at full resolution; the
	// project's detector (package barcode) finds and reads every code here at
	// 3 and 4 px, while at 5 px the gaps between bars outgrow its pooling
	// window and the linear codes fall apart into pieces. 4 px also leaves
	// room for lossy encoding, and decodes directly from a 2x box downscale
	// at even pixel phases (zxing-cpp 1.4 never reads 1.5 px modules; 2.5 px
	// read at every phase). QR at 6 px reads at every angle, also downscaled.
	eanModule, code128Module, qrModule = 4, 4, 6
	// Quiet zones in modules: 11 is what EAN-13 needs on its left side and
	// covers Code 128's 10; QR's standard is 4. Linear codes also get a white
	// margin above and below their bars.
	linearQuiet, linearQuietV, qrQuiet = 11, 4, 4
	// Bar heights in pixels at the reference size.
	eanBarH, code128BarH = 110, 80

	// Seconds per full turn of the QR code: slow enough that a 30 fps decoder
	// sees 0.5° per frame, fast enough to go through every angle in a test run.
	qrTurnSeconds = 24
)

// Formats and values of the built-in codes (web format names, as in the
// Shape Detection API and package barcode).
const (
	EAN13Value   = "4006381333931"
	Code128Value = "SHADERCAST-128"
	QRValue      = "https://shadercast.example/qr"
)

// Placed is one barcode as drawn in a given frame: the ground truth for
// detector tests.
type Placed struct {
	Format string // web name: ean_13, code_128, qr_code
	Value  string
	// Corners of the symbol itself (quiet zone excluded), clockwise from the
	// symbol's own top-left, in frame pixel-edge coordinates: (0,0) is the
	// top-left corner of the top-left pixel, so a pixel-aligned symbol covering
	// pixels x0..x1 spans x0 to x1+1.
	Corners [4]barcode.Point
}

// code is one pre-rendered barcode label and how it moves.
type code struct {
	format, value string
	label         *image.Gray     // symbol plus white quiet zone, at final scale
	sym           image.Rectangle // the symbol's pixels inside label
	// base is the label's top-left (linear codes) or centre (QR) at rest.
	base     [2]float64
	amp      [2]float64 // translation amplitude in pixels, x and y
	period   [2]float64 // translation period in seconds, x and y
	rotating bool
	caption  []byte // drawn under the label (linear) or at captionAt (QR)
	// captionAt is where the QR caption sits (fixed: a rotating caption
	// would be unreadable).
	captionAt image.Point
}

// Pattern renders the test scene for one frame size and rate. It holds no
// per-frame state, but Render uses scratch buffers in it: use one Pattern per
// goroutine.
type Pattern struct {
	w, h int
	fps  float64

	// bg is the background, tileW pixels wider than the frame and periodic in
	// x with period tileW, so scrolling it is a row copy at an offset.
	bg     *image.RGBA
	tileW  int
	scroll int // background scroll speed in pixels per frame

	codes [3]code

	textScale, bigTextScale, smallTextScale int
	panel                                   image.Rectangle // darkened box behind clock and counter
	clockAt, counterAt, titleAt             image.Point
	flash                                   image.Rectangle
	title                                   []byte

	buf [32]byte // scratch for the clock and counter text
}

// New prepares a pattern for width x height frames at fps frames per second.
// It fails for non-positive sizes or rates, when a barcode cannot be
// encoded, or when the frame is too small to hold the scene (320x180 is the
// smallest 16:9 size that works; codes that small need not decode).
func New(width, height int, fps float64) (*Pattern, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("testsrc: bad size %dx%d", width, height)
	}
	if !(fps > 0) || math.IsInf(fps, 0) {
		return nil, fmt.Errorf("testsrc: bad frame rate %v", fps)
	}
	s := min(float64(width)/refW, float64(height)/refH)
	ox, oy := (float64(width)-refW*s)/2, (float64(height)-refH*s)/2
	// at maps a reference-canvas point into the frame.
	at := func(x, y float64) [2]float64 { return [2]float64{ox + x*s, oy + y*s} }
	pt := func(x, y float64) image.Point {
		p := at(x, y)
		return image.Pt(int(math.Round(p[0])), int(math.Round(p[1])))
	}
	scaled := func(v float64) int { return max(1, int(v*s)) }

	p := &Pattern{w: width, h: height, fps: fps}
	p.bigTextScale, p.textScale, p.smallTextScale = scaled(4), scaled(3), scaled(2)

	// Clock (12 glyphs) and counter ("FRAME 0000000", 13 glyphs) on a
	// darkened panel top-left, then the title; sync square top-right.
	p.clockAt = pt(40, 40)
	p.counterAt = image.Pt(p.clockAt.X, p.clockAt.Y+glyphH*p.bigTextScale+int(12*s))
	p.panel = image.Rect(int(24*s+ox), int(24*s+oy),
		p.clockAt.X+max(12*glyphAdvance*p.bigTextScale, 13*glyphAdvance*p.textScale)+int(16*s),
		p.counterAt.Y+glyphH*p.textScale+int(16*s))
	fmin, fmax := pt(refW-24-96, 24), pt(refW-24, 24+96)
	p.flash = image.Rectangle{fmin, fmax}
	p.titleAt = pt(430, 40)
	p.title = fmt.Appendf(nil, "shadercast test pattern  %dx%d  %s fps", width, height,
		strconv.FormatFloat(fps, 'f', -1, 64))

	specs := []struct {
		format, value string
		module        int
		barH          int // 0 for 2D
		base          [2]float64
		amp, period   [2]float64
	}{
		{"ean_13", EAN13Value, scaled(eanModule), scaled(eanBarH), at(80, 200), [2]float64{40 * s, 12 * s}, [2]float64{11, 7}},
		{"code_128", Code128Value, scaled(code128Module), scaled(code128BarH), at(80, 515), [2]float64{40 * s, 10 * s}, [2]float64{13, 9}},
		{"qr_code", QRValue, scaled(qrModule), 0, at(1000, 300), [2]float64{40 * s, 20 * s}, [2]float64{17, 10}},
	}
	for i, sp := range specs {
		label, sym, err := renderLabel(sp.format, sp.value, sp.module, sp.barH)
		if err != nil {
			return nil, err
		}
		c := code{format: sp.format, value: sp.value, label: label, sym: sym,
			base: sp.base, amp: sp.amp, period: sp.period, rotating: sp.barH == 0,
			caption: []byte(sp.value)}
		if c.rotating {
			c.captionAt = pt(1000, 0)
			c.captionAt.X -= len(c.caption) * glyphAdvance * p.smallTextScale / 2
			c.captionAt.Y = int(math.Ceil(c.base[1]+c.amp[1]+c.halfDiagonal())) + int(12*s)
			if !p.fits(c.captionAt, c.caption) {
				c.caption = nil
			}
		}
		p.codes[i] = c
	}
	// The title and captions are only informational: small frames go without
	// the ones that do not fit.
	if !p.fits(p.titleAt, p.title) {
		p.title = nil
	}

	if err := p.checkLayout(); err != nil {
		return nil, err
	}
	p.scroll = max(1, int(math.Round(s)))
	p.bg, p.tileW = renderBackground(width, height, max(4, int(32*s)))
	return p, nil
}

// Size returns the frame size the pattern renders.
func (p *Pattern) Size() (width, height int) { return p.w, p.h }

// Flash reports whether frameIndex lights the sync square: the first frame
// at or after each whole second of frame time (frame 0 included).
func (p *Pattern) Flash(frameIndex int) bool {
	if frameIndex == 0 {
		return true
	}
	return p.second(frameIndex) != p.second(frameIndex-1)
}

// FlashRect returns where the sync square is drawn.
func (p *Pattern) FlashRect() image.Rectangle { return p.flash }

func (p *Pattern) second(frameIndex int) int64 {
	return int64(math.Floor(float64(frameIndex) / p.fps))
}

// millis is frame time in whole milliseconds.
func (p *Pattern) millis(frameIndex int) int64 {
	// The small epsilon keeps exact multiples (frame 3 at 30 fps is 100 ms)
	// from flooring to the millisecond below through rounding error.
	return int64(math.Floor(float64(frameIndex)*1000/p.fps + 1e-6))
}

// Barcodes returns the codes drawn in frame frameIndex with their corners.
func (p *Pattern) Barcodes(frameIndex int) []Placed {
	out := make([]Placed, 0, len(p.codes))
	t := float64(frameIndex) / p.fps
	for i := range p.codes {
		c := &p.codes[i]
		pl := Placed{Format: c.format, Value: c.value}
		r := c.sym
		corners := [4][2]float64{
			{float64(r.Min.X), float64(r.Min.Y)}, {float64(r.Max.X), float64(r.Min.Y)},
			{float64(r.Max.X), float64(r.Max.Y)}, {float64(r.Min.X), float64(r.Max.Y)},
		}
		if c.rotating {
			cx, cy := c.centre(t)
			sin, cos := math.Sincos(c.angle(t))
			lw, lh := float64(c.label.Rect.Dx())/2, float64(c.label.Rect.Dy())/2
			for k, q := range corners {
				dx, dy := q[0]-lw, q[1]-lh
				pl.Corners[k] = barcode.Point{X: cx + cos*dx - sin*dy, Y: cy + sin*dx + cos*dy}
			}
		} else {
			o := c.origin(t)
			for k, q := range corners {
				pl.Corners[k] = barcode.Point{X: float64(o.X) + q[0], Y: float64(o.Y) + q[1]}
			}
		}
		out = append(out, pl)
	}
	return out
}

// offset is the code's translation at time t (seconds).
func (c *code) offset(t float64) (dx, dy float64) {
	return c.amp[0] * math.Sin(2*math.Pi*t/c.period[0]),
		c.amp[1] * math.Sin(2*math.Pi*t/c.period[1])
}

// origin is a linear code's label top-left at time t, on whole pixels so
// that bars stay crisp (sub-pixel shifts would blur them for no benefit).
func (c *code) origin(t float64) image.Point {
	dx, dy := c.offset(t)
	return image.Pt(int(math.Round(c.base[0]+dx)), int(math.Round(c.base[1]+dy)))
}

// centre is the rotating code's centre at time t.
func (c *code) centre(t float64) (x, y float64) {
	dx, dy := c.offset(t)
	return c.base[0] + dx, c.base[1] + dy
}

// angle is the rotating code's angle at time t, radians, clockwise on screen.
func (c *code) angle(t float64) float64 {
	return 2 * math.Pi * math.Mod(t/qrTurnSeconds, 1)
}

func (c *code) halfDiagonal() float64 {
	return math.Hypot(float64(c.label.Rect.Dx()), float64(c.label.Rect.Dy())) / 2
}

// swept is the rectangle a code (with its caption) can ever cover.
func (p *Pattern) swept(c *code) image.Rectangle {
	var r image.Rectangle
	if c.rotating {
		hd := c.halfDiagonal()
		r = image.Rect(int(math.Floor(c.base[0]-c.amp[0]-hd)), int(math.Floor(c.base[1]-c.amp[1]-hd)),
			int(math.Ceil(c.base[0]+c.amp[0]+hd)), int(math.Ceil(c.base[1]+c.amp[1]+hd)))
		r = r.Union(p.textRect(c.captionAt, len(c.caption), p.smallTextScale))
	} else {
		lb := c.label.Rect
		r = image.Rect(int(math.Floor(c.base[0]-c.amp[0])), int(math.Floor(c.base[1]-c.amp[1])),
			int(math.Ceil(c.base[0]+c.amp[0]))+lb.Dx(),
			int(math.Ceil(c.base[1]+c.amp[1]))+lb.Dy()+p.captionGap()+glyphH*p.smallTextScale)
		r.Max.X = max(r.Max.X, r.Min.X+len(c.caption)*glyphAdvance*p.smallTextScale)
	}
	return r
}

func (p *Pattern) captionGap() int { return 2 * p.smallTextScale }

// fits reports whether small text at at stays inside the frame and clear of
// the sync square.
func (p *Pattern) fits(at image.Point, text []byte) bool {
	r := p.textRect(at, len(text), p.smallTextScale)
	return r.In(image.Rect(0, 0, p.w, p.h)) && !r.Overlaps(p.flash)
}

func (p *Pattern) textRect(at image.Point, n, scale int) image.Rectangle {
	return image.Rect(at.X, at.Y, at.X+n*glyphAdvance*scale, at.Y+glyphH*scale)
}

// checkLayout makes sure every element lies inside the frame and that no
// two overlap anywhere along their motion; a barcode drawn over another
// would make the ground truth a lie.
func (p *Pattern) checkLayout() error {
	frame := image.Rect(0, 0, p.w, p.h)
	rects := []image.Rectangle{p.panel, p.flash, p.textRect(p.titleAt, len(p.title), p.smallTextScale)}
	for i := range p.codes {
		rects = append(rects, p.swept(&p.codes[i]))
	}
	for i, a := range rects {
		if !a.In(frame) {
			return fmt.Errorf("testsrc: %dx%d is too small for the test pattern (element %v leaves the frame)", p.w, p.h, a)
		}
		for _, b := range rects[i+1:] {
			if a.Overlaps(b) {
				return fmt.Errorf("testsrc: %dx%d is too small for the test pattern (elements %v and %v overlap)", p.w, p.h, a, b)
			}
		}
	}
	return nil
}

// renderLabel encodes value at one pixel per module and scales it up by
// module (nearest neighbour, so modules stay exact) into a white label with
// quiet zones. Linear codes get bars barH pixels tall. It returns the label
// and the symbol's rectangle inside it.
func renderLabel(format, value string, module, barH int) (*image.Gray, image.Rectangle, error) {
	// Size 0 asks for the smallest symbol: one pixel per module. The quiet
	// zone zxing adds is cropped off and replaced by ours.
	src, err := barcode.Encode(format, value, 0, 0)
	if err != nil {
		return nil, image.Rectangle{}, fmt.Errorf("testsrc: %w", err)
	}
	ink := inkBounds(src)
	if ink.Empty() {
		return nil, image.Rectangle{}, errors.New("testsrc: empty barcode from " + format)
	}
	qx, qy := linearQuiet*module, linearQuietV*module
	symW, symH := ink.Dx()*module, barH
	if barH == 0 {
		qx, qy = qrQuiet*module, qrQuiet*module
		symH = ink.Dy() * module
	}
	label := image.NewGray(image.Rect(0, 0, symW+2*qx, symH+2*qy))
	for i := range label.Pix {
		label.Pix[i] = 0xff
	}
	for y := 0; y < symH; y++ {
		// A linear code's encoding is one row: every bar row repeats it.
		sy := ink.Min.Y
		if barH == 0 {
			sy += y / module
		}
		row := label.Pix[(qy+y)*label.Stride+qx:]
		for x := 0; x < symW; x++ {
			row[x] = src.GrayAt(ink.Min.X+x/module, sy).Y
		}
	}
	return label, image.Rect(qx, qy, qx+symW, qy+symH), nil
}

// inkBounds is the bounding box of the dark pixels: the symbol without the
// encoder's quiet zone (barcodes start and end with dark modules).
func inkBounds(g *image.Gray) image.Rectangle {
	var r image.Rectangle
	b := g.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if g.GrayAt(x, y).Y < 128 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

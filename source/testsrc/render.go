package testsrc

import (
	"fmt"
	"image"
	"math"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The one font: basicfont's 7x13 face, scaled up by whole pixels.
var (
	face         = basicfont.Face7x13
	fontMask     = face.Mask.(*image.Alpha)
	glyphAdvance = face.Advance
	glyphH       = face.Ascent + face.Descent
)

type rgb struct{ r, g, b uint8 }

var (
	white       = rgb{240, 240, 240}
	shadow      = rgb{0, 0, 0}
	flashOn     = rgb{255, 255, 255}
	flashOff    = rgb{24, 24, 24}
	flashBorder = rgb{128, 128, 128}
)

// Render draws frame frameIndex into dst, whose size must be the pattern's
// (dst may be a sub-image). The result depends only on frameIndex, and
// Render does not allocate. It panics on a negative index or a wrong size,
// both caller bugs.
func (p *Pattern) Render(frameIndex int, dst *image.RGBA) {
	if frameIndex < 0 {
		panic(fmt.Sprintf("testsrc: negative frame index %d", frameIndex))
	}
	if dst.Rect.Dx() != p.w || dst.Rect.Dy() != p.h {
		panic(fmt.Sprintf("testsrc: destination is %v, pattern is %dx%d", dst.Rect.Size(), p.w, p.h))
	}
	t := float64(frameIndex) / p.fps

	// Background: one copy per row from the wider periodic strip.
	off := 4 * int(int64(frameIndex)*int64(p.scroll)%int64(p.tileW))
	for y := 0; y < p.h; y++ {
		copy(dst.Pix[y*dst.Stride:y*dst.Stride+4*p.w], p.bg.Pix[y*p.bg.Stride+off:])
	}

	// Clock and counter on a darkened panel so they read on any background.
	darken(dst, p.panel)
	p.drawText(dst, p.clockAt, p.clockText(frameIndex), p.bigTextScale)
	p.drawText(dst, p.counterAt, p.counterText(frameIndex), p.textScale)
	p.drawText(dst, p.titleAt, p.title, p.smallTextScale)

	// Sync square: a border (so it can be found when dark), lit for one
	// frame per second.
	fill(dst, p.flash, flashBorder)
	in := p.flash.Inset(max(2, p.smallTextScale))
	if p.Flash(frameIndex) {
		fill(dst, in, flashOn)
	} else {
		fill(dst, in, flashOff)
	}

	for i := range p.codes {
		c := &p.codes[i]
		if c.rotating {
			cx, cy := c.centre(t)
			blitRotated(dst, c.label, cx, cy, c.angle(t))
			p.drawText(dst, c.captionAt, c.caption, p.smallTextScale)
			continue
		}
		o := c.origin(t)
		blit(dst, c.label, o)
		p.drawText(dst, image.Pt(o.X, o.Y+c.label.Rect.Dy()+p.captionGap()), c.caption, p.smallTextScale)
	}
}

// clockText formats frame time as hh:mm:ss.mmm into p.buf (hours wrap at 100).
func (p *Pattern) clockText(frameIndex int) []byte {
	ms := p.millis(frameIndex)
	b := p.buf[:0]
	b = appendDigits(b, ms/3_600_000%100, 2)
	b = append(b, ':')
	b = appendDigits(b, ms/60_000%60, 2)
	b = append(b, ':')
	b = appendDigits(b, ms/1000%60, 2)
	b = append(b, '.')
	return appendDigits(b, ms%1000, 3)
}

// counterText formats "FRAME nnnnnnn" into p.buf (wraps at 10^7 frames,
// about 3.8 days at 30 fps).
func (p *Pattern) counterText(frameIndex int) []byte {
	return appendDigits(append(p.buf[:0], "FRAME "...), int64(frameIndex)%10_000_000, 7)
}

// appendDigits appends v (≥ 0) zero-padded to n digits; v must fit in n.
func appendDigits(b []byte, v int64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, 0)
	}
	for i := len(b) - 1; i >= len(b)-n; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// drawText draws ASCII text with its top-left at at, each font pixel scale x
// scale, with a drop shadow so it stays legible over the textured background.
func (p *Pattern) drawText(dst *image.RGBA, at image.Point, text []byte, scale int) {
	d := max(1, scale/2)
	drawGlyphs(dst, at.Add(image.Pt(d, d)), text, scale, shadow)
	drawGlyphs(dst, at, text, scale, white)
}

func drawGlyphs(dst *image.RGBA, at image.Point, text []byte, scale int, col rgb) {
	frame := image.Rect(0, 0, dst.Rect.Dx(), dst.Rect.Dy())
	for i, ch := range text {
		_, mask, mp, _, _ := face.Glyph(fixed.Point26_6{}, rune(ch))
		if mask == nil {
			continue
		}
		x0 := at.X + i*glyphAdvance*scale
		for gy := 0; gy < glyphH; gy++ {
			row := fontMask.Pix[(mp.Y+gy-fontMask.Rect.Min.Y)*fontMask.Stride:]
			for gx := 0; gx < face.Width; gx++ {
				if row[gx] < 0x80 {
					continue
				}
				r := image.Rect(x0+gx*scale, at.Y+gy*scale, x0+(gx+1)*scale, at.Y+(gy+1)*scale)
				fill(dst, r.Intersect(frame), col)
			}
		}
	}
}

// fill paints r (in dst's local coordinates, origin at dst.Rect.Min).
func fill(dst *image.RGBA, r image.Rectangle, c rgb) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := dst.Pix[y*dst.Stride+4*r.Min.X : y*dst.Stride+4*r.Max.X]
		for i := 0; i < len(row); i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = c.r, c.g, c.b, 0xff
		}
	}
}

// darken halves the brightness of r.
func darken(dst *image.RGBA, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := dst.Pix[y*dst.Stride+4*r.Min.X : y*dst.Stride+4*r.Max.X]
		for i := 0; i < len(row); i += 4 {
			row[i], row[i+1], row[i+2] = row[i]>>1, row[i+1]>>1, row[i+2]>>1
		}
	}
}

// blit copies a gray label into dst with its top-left at o, clipped.
func blit(dst *image.RGBA, label *image.Gray, o image.Point) {
	lb := label.Rect
	r := lb.Add(o).Intersect(image.Rect(0, 0, dst.Rect.Dx(), dst.Rect.Dy()))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := label.Pix[(y-o.Y)*label.Stride+(r.Min.X-o.X):]
		row := dst.Pix[y*dst.Stride+4*r.Min.X : y*dst.Stride+4*r.Max.X]
		for i, j := 0, 0; i < len(row); i, j = i+4, j+1 {
			v := src[j]
			row[i], row[i+1], row[i+2], row[i+3] = v, v, v, 0xff
		}
	}
}

// blitRotated draws label centred at (cx, cy) rotated by angle (clockwise
// on screen). Each destination pixel centre is mapped back into the label
// (inverse mapping, so there are no holes) and sampled bilinearly; the
// label's own border is antialiased over the background by how far inside
// the label the pixel centre falls. The label's white quiet zone goes along
// unchanged, so the code keeps its margin at every angle.
func blitRotated(dst *image.RGBA, label *image.Gray, cx, cy, angle float64) {
	lw, lh := float64(label.Rect.Dx()), float64(label.Rect.Dy())
	hd := math.Hypot(lw, lh)/2 + 1
	r := image.Rect(int(math.Floor(cx-hd)), int(math.Floor(cy-hd)), int(math.Ceil(cx+hd)), int(math.Ceil(cy+hd))).
		Intersect(image.Rect(0, 0, dst.Rect.Dx(), dst.Rect.Dy()))
	sin, cos := math.Sincos(angle)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		py := float64(y) + 0.5 - cy
		px := float64(r.Min.X) + 0.5 - cx
		// Label coordinates of this row's first pixel centre, then steps of
		// (cos, -sin) per pixel: the inverse rotation.
		u := cos*px + sin*py + lw/2
		v := -sin*px + cos*py + lh/2
		row := dst.Pix[y*dst.Stride+4*r.Min.X : y*dst.Stride+4*r.Max.X]
		for i := 0; i < len(row); i, u, v = i+4, u+cos, v-sin {
			a := min(u, lw-u, v, lh-v) + 0.5
			if a <= 0 {
				continue
			}
			g := sampleBilinear(label, u-0.5, v-0.5)
			if a >= 1 {
				b := uint8(g + 0.5)
				row[i], row[i+1], row[i+2], row[i+3] = b, b, b, 0xff
				continue
			}
			for k := 0; k < 3; k++ {
				row[i+k] = uint8(float64(row[i+k])*(1-a) + g*a + 0.5)
			}
		}
	}
}

// sampleBilinear reads g at continuous pixel-centre coordinates (x, y),
// clamping to the edge (the edge is quiet zone, so clamping reads white).
func sampleBilinear(g *image.Gray, x, y float64) float64 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	ix0, ix1 := clamp(ix, w-1), clamp(ix+1, w-1)
	iy0, iy1 := clamp(iy, h-1), clamp(iy+1, h-1)
	r0, r1 := g.Pix[iy0*g.Stride:], g.Pix[iy1*g.Stride:]
	top := float64(r0[ix0])*(1-fx) + float64(r0[ix1])*fx
	bot := float64(r1[ix0])*(1-fx) + float64(r1[ix1])*fx
	return top*(1-fy) + bot*fy
}

func clamp(v, hi int) int { return min(max(v, 0), hi) }

// renderBackground builds the background strip: a vertical gradient with a
// low-contrast checker of cell-pixel squares and per-pixel noise, periodic
// in x with period 2*cell and 2*cell pixels wider than the frame, so that any
// frame-wide window of it is a scrolled view of the same texture.
func renderBackground(w, h, cell int) (*image.RGBA, int) {
	tile := 2 * cell
	bg := image.NewRGBA(image.Rect(0, 0, w+tile, h))
	for y := 0; y < h; y++ {
		f := float64(y) / float64(max(1, h-1))
		base := [3]float64{20 + 50*f, 34 + 70*f, 96 - 16*f} // deep blue to teal
		for x := 0; x < w+tile; x++ {
			tx := x % tile
			d := float64(hash(tx, y)&15) - 7.5 // noise, ±8
			if (tx/cell+y/cell)%2 == 0 {
				d += 14 // checker
			}
			i := bg.PixOffset(x, y)
			for k := 0; k < 3; k++ {
				bg.Pix[i+k] = uint8(min(max(base[k]+d, 0), 255))
			}
			bg.Pix[i+3] = 0xff
		}
	}
	return bg, tile
}

// hash is a small integer mix for repeatable noise.
func hash(x, y int) uint32 {
	v := uint32(x)*0x9e3779b1 ^ uint32(y)*0x85ebca77
	v ^= v >> 15
	v *= 0x2c1b3c6d
	v ^= v >> 12
	return v
}

package scene

import "math"

// Placement is where a layer's source goes on the canvas: Src (x, y,
// width, height in source pixels) is drawn onto Dst (in canvas pixels),
// and the whole layer is then turned by Rotation (radians, clockwise on
// the screen) about Center, the centre of the layer's Rect. Dst lies
// within Rect before the turn.
type Placement struct {
	Src, Dst [4]float64
	Center   [2]float64
	Rotation float64
}

// Place computes where a w x h source goes in layer l: the crop first, then
// the fit into l.Rect. ok is false when nothing of the source is left to
// draw (a zero-sized source, or a crop that takes everything).
func Place(l *Layer, w, h int) (p Placement, ok bool) {
	cl, ct, cr, cb := l.Crop.Pixels(w, h)
	sx, sy := cl, ct
	sw, sh := float64(w)-cl-cr, float64(h)-ct-cb
	if w <= 0 || h <= 0 || sw <= 0 || sh <= 0 {
		return Placement{}, false
	}
	r := l.Rect
	dst := [4]float64(r)
	switch l.Fit {
	case FitContain:
		k := math.Min(r[2]/sw, r[3]/sh)
		dw, dh := sw*k, sh*k
		dst = [4]float64{r[0] + (r[2]-dw)/2, r[1] + (r[3]-dh)/2, dw, dh}
	case FitCover:
		k := math.Max(r[2]/sw, r[3]/sh)
		vw, vh := r[2]/k, r[3]/k // the part of the source that shows
		sx, sy, sw, sh = sx+(sw-vw)/2, sy+(sh-vh)/2, vw, vh
	}
	return Placement{
		Src:      [4]float64{sx, sy, sw, sh},
		Dst:      dst,
		Center:   [2]float64{r[0] + r[2]/2, r[1] + r[3]/2},
		Rotation: l.Rotation * math.Pi / 180,
	}, true
}

// ToCanvas maps a point of the source (x, y in source pixels, as the
// source frame's own coordinates, before the crop) to where the layer
// draws it on the canvas: the same mapping the layer's draw makes, so that
// what a layer's pass finds in its source (a barcode's corners) can be
// told in canvas pixels too.
func (p *Placement) ToCanvas(x, y float64) (float64, float64) {
	if p.Src[2] == 0 || p.Src[3] == 0 {
		return p.Dst[0], p.Dst[1]
	}
	cx := p.Dst[0] + (x-p.Src[0])*p.Dst[2]/p.Src[2] - p.Center[0]
	cy := p.Dst[1] + (y-p.Src[1])*p.Dst[3]/p.Src[3] - p.Center[1]
	s, c := math.Sincos(p.Rotation)
	// y points down: this turns clockwise on the screen, as the layer does.
	return cx*c - cy*s + p.Center[0], cx*s + cy*c + p.Center[1]
}

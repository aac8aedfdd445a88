package barcode

import (
	"math"
	"slices"
)

// Detector turns read-back masks into DetectedBarcodes. It owns every buffer
// it needs, so a frame without candidates allocates nothing (and neither do
// frames whose regions are served from the cache). Not safe for concurrent
// use.
type Detector struct {
	p   Params
	loc locator
	dec decoder

	crop, crop2 []byte    // resampled / inverted crops handed to zxing
	work        []byte    // private copy of a crop being blanked
	line        []byte    // one scan line, twice (see readableBand)
	prof        []float64 // luma profile for the run checks

	// per-call scratch
	hits    []hit
	out     []DetectedBarcode
	corners [][4]Point

	cache cache

	// The frame's luma, fetched from src on first use in a call.
	src      LumaSource
	fixed    fixedLuma
	luma     Gray
	haveLuma bool

	decodes  int // regions decoded (not served by the cache), for tests
	verifies int // cached symbols re-read in place (see cache), for tests
}

// LumaSource provides a frame's full-resolution luma on demand. DetectFrom
// asks for it only when a region has to be decoded, which most video frames
// do not need (no candidates, or all served by the cache): a GPU pipeline
// can skip rendering and reading back luma on those frames.
type LumaSource interface {
	Luma() Gray
}

// LumaRegionSource is a LumaSource that can also provide part of a frame:
// a decode or a re-read needs the luma around one region, and reading back
// only that costs a fraction of the whole frame's readback.
type LumaRegionSource interface {
	LumaSource
	// LumaIn returns the frame's luma (the whole frame's geometry) with
	// at least the pixels of [x0, x1) x [y0, y1), clamped to the frame,
	// valid: it may be called several times in one call of the detector,
	// and the pixels of the earlier calls stay valid.
	LumaIn(x0, y0, x1, y1 int) Gray
}

type fixedLuma struct{ g Gray }

func (f *fixedLuma) Luma() Gray { return f.g }

// lumaAround returns the current call's luma valid at least within rad of
// (cx, cy): only that part where the source can provide parts.
func (d *Detector) lumaAround(cx, cy, rad float64) Gray {
	if rs, ok := d.src.(LumaRegionSource); ok {
		rad += 2 // bilinear taps, rounding
		return rs.LumaIn(int(math.Floor(cx-rad)), int(math.Floor(cy-rad)), int(math.Ceil(cx+rad)), int(math.Ceil(cy+rad)))
	}
	return d.frameLuma()
}

// frameLuma returns the current call's luma, fetching it once.
func (d *Detector) frameLuma() Gray {
	if !d.haveLuma {
		d.luma, d.haveLuma = d.src.Luma(), true
	}
	return d.luma
}

// hit is one decode result, or an undecoded region (unknown), in full-res
// coordinates.
type hit struct {
	format, text string
	quad         [4]Point
	unknown      bool
	// dup: a symbol read again through a later region, already reported
	// through an earlier one. Not emitted (unless that one is gone), but
	// kept with its region in the cache, which can then verify the region
	// with a re-read rather than decode it again.
	dup bool
	// How the symbol was read, so that the cache can re-read it the same
	// way: its format bit, and the view's axis angle (radians, 0 for
	// direct views), scale (view pixels per full-res pixel) and polarity.
	bit      int
	angle    float64
	zoom     float64
	inverted bool
	// Tracking (see place): fresh, the quad was just measured (read or
	// re-read); tracked, the symbol follows a region of its own, which
	// had pose at when the quad was base, and has pose now (turn
	// unwrapped), folded angle regAngle and kind regKind in the last call.
	// turned: carried by a turn or growth since it was read (see place).
	// verify: its region jumped in this call (cut anew, or turned or moved
	// more than a frame's motion: see place), so only a re-read says
	// whether the symbol is still there (see Detector.verified).
	fresh, tracked, turned, verify bool
	base                           [4]Point
	at, now                        pose
	regAngle                       float64
	regKind                        int
	// track identifies the code from call to call (see cache.track).
	track int64
}

// NewDetector returns a Detector using p.
func NewDetector(p Params) *Detector {
	d := &Detector{p: p}
	d.loc.init()
	return d
}

// Close releases the detector's buffers. zxing-cpp keeps no state between
// calls, so nothing is held on the C++ side; Close exists so that callers
// need not know that. The Detector must not be used afterwards.
func (d *Detector) Close() error {
	*d = Detector{}
	return nil
}

// Detect locates candidate regions in m (the read-back of the classify
// stage) and decodes them from luma, the full-resolution frame the mask was
// computed from (same size; a Y plane or a luma readback). Coordinates are
// full-res pixels. For decoded symbols the corners are zxing-cpp's (for 1D
// codes: the span of scan lines that read), for "unknown" ones the located
// rectangle. The returned slice and its CornerPoints are owned by the
// Detector and valid until the next call.
func (d *Detector) Detect(m *Mask, luma Gray) []DetectedBarcode {
	d.fixed.g = luma
	return d.DetectFrom(m, &d.fixed)
}

// DetectFrom is Detect with the luma fetched from src only if needed.
func (d *Detector) DetectFrom(m *Mask, src LumaSource) []DetectedBarcode {
	d.src, d.haveLuma = src, false
	defer func() { d.src, d.luma, d.fixed.g = nil, Gray{}, Gray{} }()
	p := &d.p
	regions := d.loc.locate(m, p)
	d.hits = d.hits[:0]
	if len(regions) > 1 {
		// Largest first so that MaxRegions keeps the most substantial.
		slices.SortFunc(regions, func(a, b region) int { return b.area - a.area })
	}
	if p.MaxRegions > 0 && len(regions) > p.MaxRegions {
		regions = regions[:p.MaxRegions]
	}
	if p.DisableCache {
		for i := range regions {
			d.decodeRegion(&regions[i])
		}
	} else {
		d.cache.run(d, regions)
	}
	d.dropShadowed()
	return d.emit()
}

// dropShadowed removes unknown hits that overlap a decoded one: pieces of a
// code that was read through another region (or a larger crop).
func (d *Detector) dropShadowed() {
	k := 0
	for _, h := range d.hits {
		if h.unknown {
			b := boundsOf(&h.quad)
			shadowed := false
			for _, o := range d.hits {
				if !o.unknown && !o.dup && near(b, boundsOf(&o.quad)) {
					shadowed = true
					break
				}
			}
			if shadowed {
				continue
			}
		}
		d.hits[k] = h
		k++
	}
	d.hits = d.hits[:k]
}

// emit converts hits into the output slice, reusing its storage.
func (d *Detector) emit() []DetectedBarcode {
	if len(d.hits) == 0 {
		return nil
	}
	if cap(d.corners) < len(d.hits) {
		d.corners = make([][4]Point, len(d.hits))
	}
	d.corners = d.corners[:len(d.hits)]
	d.out = d.out[:0]
	for _, h := range d.hits {
		if h.dup && d.readBefore(&h) {
			// Reported through another region. (A dup whose original
			// is gone, the cache serving a region whose symbols were
			// read through another that has since changed, is emitted
			// in its place.)
			continue
		}
		i := len(d.out)
		d.corners[i] = h.quad
		f := h.format
		if h.unknown {
			f = "unknown"
		}
		d.out = append(d.out, DetectedBarcode{
			BoundingBox:  boundsOf(&h.quad),
			CornerPoints: d.corners[i][:],
			Format:       f,
			RawValue:     h.text,
			TrackID:      h.track,
		})
	}
	if len(d.out) == 0 {
		return nil
	}
	return d.out
}

// sameSymbol says whether o and h are reads of one symbol: same format and
// value, near each other.
func (o *hit) sameSymbol(h *hit) bool {
	return o.format == h.format && o.text == h.text && near(boundsOf(&o.quad), boundsOf(&h.quad))
}

// decodeRegion decodes r and appends its hits (an unknown one when nothing
// new decodes but the region is plausible); it reports whether any symbol
// was read, including ones already read through another region (appended
// as dups).
func (d *Detector) decodeRegion(r *region) bool {
	d.decodes++
	// Every crop tryDecode and codeLike take lies within the rectangle
	// grown by the margin and then by GrowRetry (see tryDecode), which
	// lies within the circle of its half diagonal.
	p := &d.p
	m := p.CropMargin*2*min(r.hu, r.hv) + float64(p.CropMarginPx)
	g := max(p.GrowRetry, 0) * max(r.hu+m, r.hv+m)
	luma := d.lumaAround(r.cx, r.cy, math.Hypot(r.hu+m+g, r.hv+m+g))
	before := len(d.hits)
	found := d.tryDecode(r, luma)
	fresh := false
	for _, h := range d.hits[before:] {
		fresh = fresh || !h.dup
	}
	if !fresh && d.p.ReportUndecoded && d.plausibleUndecoded(r) && d.codeLike(r, luma) {
		d.hits = append(d.hits, hit{quad: r.corners(), unknown: true})
	}
	return found
}

// plausibleUndecoded says whether an undecoded region is structured enough
// to be reported as "unknown" rather than dropped as texture.
func (d *Detector) plausibleUndecoded(r *region) bool {
	p := &d.p
	maxAspect, minScore := p.MaxAspect2D, p.MinUndecodedScore2D
	if r.kind == kindBars {
		maxAspect, minScore = p.MaxAspect1D, p.MinUndecodedScore1D
	}
	return r.score*255 >= float64(minScore) && r.fill >= p.MinFill && r.area >= p.MinUndecodedArea &&
		max(r.hu, r.hv)/min(r.hu, r.hv) <= maxAspect
}

// view is how a crop maps back to full-res coordinates: full = o + x·ex + y·ey
// for crop pixel centre (x+0.5, y+0.5) measured from the crop origin.
type view struct {
	g                  Gray
	ox, oy             float64
	exx, exy, eyx, eyy float64
	inverted           bool // g is the negated luma
}

// direct reports whether v's lines are the frame's own rows (a window
// into luma, not resampled or negated).
func (v *view) direct() bool {
	return v.exx == 1 && v.eyy == 1 && v.exy == 0 && v.eyx == 0 && !v.inverted
}

func (v *view) toFull(x, y float64) Point {
	return Point{v.ox + x*v.exx + y*v.eyx, v.oy + x*v.exy + y*v.eyy}
}

// decodeFlags: try harder and all four rotations. Not tryDownscale: in
// zxing-cpp 1.4 merging the reads of several pyramid layers compares 1D
// results in a way that trips an assertion (and aborts the process; zxing-cpp
// issue #740, fixed upstream after 1.4), so downscaling is done here.
const decodeFlags = zxTryHarder | zxTryRotate

// maxDirectTilt is the largest region angle at which a code resampled
// upright and not read there is also read as it lies (see tryDecode).
const maxDirectTilt = 12 * math.Pi / 180

// tryDecode runs the decode attempts for r until one reads something, and
// reports whether one did.
func (d *Detector) tryDecode(r *region, luma Gray) bool {
	p := &d.p
	if luma.Width <= 0 || luma.Height <= 0 {
		return false
	}
	short := 2 * min(r.hu, r.hv)
	margin := p.CropMargin*short + float64(p.CropMarginPx)
	hu, hv := r.hu+margin, r.hv+margin
	// Codes tilted by more than a few degrees are resampled upright: 1D
	// readers scan rows and tolerate little skew.
	rotated := math.Abs(r.angle) > 4*math.Pi/180
	k := 1.0
	if long := 2 * max(hu, hv); p.MaxCropSide > 0 && long > float64(p.MaxCropSide) {
		k = float64(p.MaxCropSide) / long
	}
	var v view
	if !rotated && k == 1 {
		v = d.directView(r, hu, hv, luma)
	} else {
		v = d.resample(r, hu, hv, k, luma, &d.crop)
	}
	if d.read(&v, r, luma) {
		return true
	}
	if rotated && k == 1 && math.Abs(r.angle) < maxDirectTilt {
		// The angle is the region's, which is off for a code cut by the
		// frame's edge or blurred along its bars; rows read codes tilted a
		// few degrees as they are.
		u := d.directView(r, hu, hv, luma)
		if d.read(&u, r, luma) {
			return true
		}
	}
	if 2*min(hu, hv)*k < float64(p.MinCropSide) {
		// Small codes: modules of one or two pixels read better enlarged.
		u := d.resample(r, hu, hv, 2*k, luma, &d.crop2)
		if d.read(&u, r, luma) {
			return true
		}
	} else if 2*max(hu, hv)*k > float64(p.DownscaleAbove) {
		// Large, often blurred codes read better reduced (what zxing's
		// tryDownscale would have done).
		u := d.resample(r, hu, hv, k/2, luma, &d.crop2)
		if d.read(&u, r, luma) {
			return true
		}
	}
	if p.TryInverted {
		iv := d.inverted(&v)
		if d.read(&iv, r, luma) {
			return true
		}
	}
	// A fragment of a code (split by a highlight, a fold or a wide gap)
	// decodes once the crop covers the rest: retry with the rectangle grown
	// by GrowRetry on every side, axis-aligned.
	if p.GrowRetry > 0 {
		g := p.GrowRetry * max(hu, hv)
		v = d.directView(r, hu+g, hv+g, luma)
		if long := max(v.g.Width, v.g.Height); p.MaxCropSide > 0 && long > p.MaxCropSide {
			v = d.resample(r, hu+g, hv+g, float64(p.MaxCropSide)/float64(long), luma, &d.crop)
		}
		return d.read(&v, r, luma)
	}
	return false
}

// directView is the axis-aligned bounding box of the expanded rectangle as a
// window into luma: no copy.
func (d *Detector) directView(r *region, hu, hv float64, luma Gray) view {
	c, s := math.Cos(r.angle), math.Sin(r.angle)
	ex := math.Abs(hu*c) + math.Abs(hv*s)
	ey := math.Abs(hu*s) + math.Abs(hv*c)
	x0 := max(int(math.Floor(r.cx-ex)), 0)
	y0 := max(int(math.Floor(r.cy-ey)), 0)
	x1 := min(int(math.Ceil(r.cx+ex)), luma.Width)
	y1 := min(int(math.Ceil(r.cy+ey)), luma.Height)
	if x1 <= x0 || y1 <= y0 {
		return view{}
	}
	return view{
		g:  Gray{Pix: luma.Pix[y0*luma.Stride+x0:], Stride: luma.Stride, Width: x1 - x0, Height: y1 - y0},
		ox: float64(x0), oy: float64(y0),
		exx: 1, eyy: 1,
	}
}

// resample renders the expanded rectangle axis-aligned at k output pixels per
// full-res pixel with bilinear interpolation into *buf.
func (d *Detector) resample(r *region, hu, hv, k float64, luma Gray, buf *[]byte) view {
	w := max(int(math.Ceil(2*hu*k)), 1)
	h := max(int(math.Ceil(2*hv*k)), 1)
	if cap(*buf) < w*h {
		*buf = make([]byte, w*h)
	}
	out := (*buf)[:w*h]
	c, s := math.Cos(r.angle), math.Sin(r.angle)
	// Crop pixel (x, y) samples full-res o + (x+0.5)/k·e1 + (y+0.5)/k·e2
	// with e1 = (c, s), e2 = (-s, c); pixel centres of luma are at +0.5.
	ox := r.cx - hu*c + hv*s
	oy := r.cy - hu*s - hv*c
	step := 1 / k
	for y := 0; y < h; y++ {
		fy := (float64(y) + 0.5) * step
		for x := 0; x < w; x++ {
			fx := (float64(x) + 0.5) * step
			px := ox + fx*c - fy*s - 0.5
			py := oy + fx*s + fy*c - 0.5
			out[y*w+x] = bilinear(luma, px, py)
		}
	}
	return view{
		g:  Gray{Pix: out, Stride: w, Width: w, Height: h},
		ox: ox, oy: oy,
		exx: c * step, exy: s * step, eyx: -s * step, eyy: c * step,
	}
}

func bilinear(g Gray, x, y float64) byte {
	x = min(max(x, 0), float64(g.Width-1))
	y = min(max(y, 0), float64(g.Height-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.Width-1), min(y0+1, g.Height-1)
	fx, fy := x-float64(x0), y-float64(y0)
	r0 := g.Pix[y0*g.Stride:]
	r1 := g.Pix[y1*g.Stride:]
	top := float64(r0[x0])*(1-fx) + float64(r0[x1])*fx
	bot := float64(r1[x0])*(1-fx) + float64(r1[x1])*fx
	return byte(top*(1-fy) + bot*fy + 0.5)
}

// inverted returns v with negated luma (light codes on dark ground).
func (d *Detector) inverted(v *view) view {
	w, h := v.g.Width, v.g.Height
	if cap(d.crop2) < w*h {
		d.crop2 = make([]byte, w*h)
	}
	out := d.crop2[:w*h]
	for y := 0; y < h; y++ {
		row := v.g.Pix[y*v.g.Stride : y*v.g.Stride+w]
		for x, b := range row {
			out[y*w+x] = 255 - b
		}
	}
	iv := *v
	iv.g = Gray{Pix: out, Stride: w, Width: w, Height: h}
	iv.inverted = !v.inverted
	return iv
}

// read decodes one view and appends a hit per new symbol; it reports
// whether anything was read. zxing-cpp is asked for one symbol at a time
// (its own multi-symbol merging in 1.4 can trip the same assertion as
// tryDownscale); after each new symbol the view is copied, the symbol blanked
// out, and the view read again, up to MaxSymbolsPerRegion.
func (d *Detector) read(v *view, r *region, luma Gray) bool {
	if v.g.Width < 8 || v.g.Height < 8 {
		return false
	}
	g := v.g
	found := false
	for n := 0; n < max(d.p.MaxSymbolsPerRegion, 1); n++ {
		var (
			got   bool
			bit   int
			name  string
			text  string
			local [4]Point
		)
		_, err := d.dec.read(g, zxWebFormats, decodeFlags, 1, func(f int, t []byte, c *[4]Point) {
			nm, ok := webFormats[f]
			if !ok {
				return
			}
			got, bit, name, local = true, f, nm, *c
			text = d.cache.intern(t)
		})
		if err != nil || !got {
			break
		}
		found = true
		h := hit{format: name, text: text, bit: bit, fresh: true,
			angle: math.Atan2(v.exy, v.exx), zoom: 1 / math.Hypot(v.exx, v.exy), inverted: v.inverted}
		// The same symbol read through another region or crop? A 1D read
		// grows into its band below, and near() only grows with a box:
		// a read near an earlier one as it is needs no band.
		h.quad = v.quadToFull(&local)
		dup := d.readBefore(&h)
		span := local
		if !dup && isLinear(bit) {
			// Asked for one symbol, zxing stops after the first two rows
			// that agree: find all the rows that read.
			span, h.quad = d.band(v, luma, &local, bit, text)
			dup = d.readBefore(&h)
		}
		if dup {
			d.takeOwnRead(&h, r)
			h.dup = true
			d.hits = append(d.hits, h)
			break
		}
		d.hits = append(d.hits, h)
		if cap(d.work) == 0 || &g.Pix[0] != &d.work[:1][0] {
			g = d.copyToWork(g)
		}
		blankQuad(g, &span)
	}
	return found
}

// band finds where a 1D symbol read in v at local (view pixel indices)
// lies, as zxing reading the whole frame would place it: on the frame's own
// lines if two or more of them read it, else on the view's (a code turned
// further than its bars allow reads on no frame line). It returns the band
// in view pixel indices and in full-res coordinates.
func (d *Detector) band(v *view, luma Gray, local *[4]Point, format int, text string) (span, quad [4]Point) {
	direct := v.direct()
	var at [4]Point // the read, in frame pixel indices
	if direct {
		// The view's lines are the frame's.
		for i, p := range local {
			at[i] = Point{p.X + v.ox, p.Y + v.oy}
		}
	} else {
		span, _ = d.readableBand(v.g, local, format, text)
		quad = v.quadToFull(&span)
		for i, p := range quad {
			at[i] = Point{p.X - 0.5, p.Y - 0.5}
		}
	}
	if b, ok := d.frameBand(luma, &at, format, text); ok {
		quad = b
		if direct {
			for i, p := range b {
				span[i] = Point{p.X - 0.5 - v.ox, p.Y - 0.5 - v.oy}
			}
		}
		return span, quad
	}
	if direct {
		span, _ = d.readableBand(v.g, local, format, text)
		quad = v.quadToFull(&span)
	}
	return span, quad
}

// frameBand is readableBand on the frame's own lines for a 1D read at at
// (frame pixel indices); it returns the band in full-res coordinates, and
// whether two or more lines read.
func (d *Detector) frameBand(luma Gray, at *[4]Point, format int, text string) ([4]Point, bool) {
	win, ox, oy := d.frameLines(luma, at)
	q := *at
	for i := range q {
		q[i].X -= float64(ox)
		q[i].Y -= float64(oy)
	}
	b, n := d.readableBand(win, &q, format, text)
	for i := range b {
		b[i].X += float64(ox) + 0.5
		b[i].Y += float64(oy) + 0.5
	}
	return b, n >= 2
}

// frameLines returns a window of the frame's luma made of whole lines
// (rows, or columns for a vertical code) around the 1D read at q (frame
// pixel indices): the lines the band can reach, half the code's length
// from its last reading line, and as far again. The window's origin in the
// frame is (ox, oy).
func (d *Detector) frameLines(luma Gray, q *[4]Point) (win Gray, ox, oy int) {
	x0, y0, x1, y1 := bounds(q)
	if x1-x0 >= y1-y0 {
		from, to := max(int(y0-(x1-x0)), 0), min(int(math.Ceil(y1+(x1-x0)))+1, luma.Height)
		if rs, partial := d.src.(LumaRegionSource); partial {
			luma = rs.LumaIn(0, from, luma.Width, to)
		}
		if to <= from {
			return Gray{}, 0, 0
		}
		return Gray{Pix: luma.Pix[from*luma.Stride:], Stride: luma.Stride, Width: luma.Width, Height: to - from}, 0, from
	}
	from, to := max(int(x0-(y1-y0)), 0), min(int(math.Ceil(x1+(y1-y0)))+1, luma.Width)
	if rs, partial := d.src.(LumaRegionSource); partial {
		luma = rs.LumaIn(from, 0, to, luma.Height)
	}
	if to <= from {
		return Gray{}, 0, 0
	}
	return Gray{Pix: luma.Pix[from:], Stride: luma.Stride, Width: to - from, Height: luma.Height}, from, 0
}

// quadToFull maps a quad of view pixel corners to full-res coordinates.
func (v *view) quadToFull(c *[4]Point) [4]Point {
	var q [4]Point
	for i, pt := range c {
		q[i] = v.toFull(pt.X+0.5, pt.Y+0.5)
	}
	return orderCorners(q)
}

// readBefore says whether d.hits holds the symbol of h as read in its own
// right (not as a dup).
func (d *Detector) readBefore(h *hit) bool {
	for i := range d.hits {
		if o := &d.hits[i]; !o.unknown && !o.dup && o.sameSymbol(h) {
			return true
		}
	}
	return false
}

// takeOwnRead gives the earlier hit of h's symbol, if it was carried from
// an earlier call rather than read in this one, the corners of h, read now
// through r, when r is the symbol's own region (its centre inside the
// symbol, its size within ownSize of the symbol's): a symbol first read
// through a neighbour's crop (a caption's, resampled at the caption's
// angle) can come back far off, and this read is the better one.
func (d *Detector) takeOwnRead(h *hit, r *region) {
	size := longSide(&h.quad) / 2
	rs := max(r.hu, r.hv)
	if !inQuad(&h.quad, r.cx, r.cy) || rs > ownSize*size || rs*ownSize < size {
		return
	}
	for i := range d.hits {
		o := &d.hits[i]
		if o.unknown || o.dup || o.fresh || !o.sameSymbol(h) {
			continue
		}
		o.quad, o.fresh = h.quad, true
		o.angle, o.zoom, o.inverted = h.angle, h.zoom, h.inverted
		return
	}
}

// copyToWork copies g into the detector's private work buffer.
func (d *Detector) copyToWork(g Gray) Gray {
	n := g.Width * g.Height
	if cap(d.work) < n {
		d.work = make([]byte, n)
	}
	w := d.work[:n]
	for y := 0; y < g.Height; y++ {
		copy(w[y*g.Width:(y+1)*g.Width], g.Pix[y*g.Stride:y*g.Stride+g.Width])
	}
	return Gray{Pix: w, Stride: g.Width, Width: g.Width, Height: g.Height}
}

// blankQuad paints the quad q (crop pixel coordinates), grown by 10% about
// its centre, white, so that the next read finds the other symbols.
func blankQuad(g Gray, q *[4]Point) {
	var cx, cy float64
	for _, p := range q {
		cx += p.X / 4
		cy += p.Y / 4
	}
	var e [4]Point
	for i, p := range q {
		e[i] = Point{cx + 1.1*(p.X-cx), cy + 1.1*(p.Y-cy)}
	}
	b := boundsOf(&e)
	x0, y0 := max(int(b.X), 0), max(int(b.Y), 0)
	x1, y1 := min(int(b.X+b.Width)+1, g.Width-1), min(int(b.Y+b.Height)+1, g.Height-1)
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			if inQuad(&e, float64(x), float64(y)) {
				g.Pix[y*g.Stride+x] = 255
			}
		}
	}
}

// inQuad reports whether (x, y) lies inside the convex quad q (either
// winding).
func inQuad(q *[4]Point, x, y float64) bool {
	pos, neg := false, false
	for i := 0; i < 4; i++ {
		a, b := q[i], q[(i+1)%4]
		c := (b.X-a.X)*(y-a.Y) - (b.Y-a.Y)*(x-a.X)
		pos = pos || c > 0
		neg = neg || c < 0
	}
	return !(pos && neg)
}

// near says whether two boxes overlap once each is grown by a quarter of its
// long side: two reads of one symbol (1D reads only cover the scan lines that
// agreed, so they need not overlap) rather than two copies of it.
func near(a, b Rect) bool {
	ga := max(a.Width, a.Height) / 4
	gb := max(b.Width, b.Height) / 4
	return overlaps(Rect{a.X - ga, a.Y - ga, a.Width + 2*ga, a.Height + 2*ga},
		Rect{b.X - gb, b.Y - gb, b.Width + 2*gb, b.Height + 2*gb})
}

func overlaps(a, b Rect) bool {
	return a.X < b.X+b.Width && b.X < a.X+a.Width && a.Y < b.Y+b.Height && b.Y < a.Y+a.Height
}

func isLinear(f int) bool {
	return f&(zxCodabar|zxCode39|zxCode93|zxCode128|zxEAN8|zxEAN13|zxITF|zxUPCA|zxUPCE) != 0
}

// reread re-reads the symbol of h, a cached hit moved to where its region
// is now, from a crop of just its quad made the way it was first read (the
// view's axes, scale and polarity, its margin) and reports whether the same
// symbol reads there: one zxing call on a small crop, looking for that
// symbology only.
func (d *Detector) reread(h *hit) bool {
	d.verifies++
	p := &d.p
	if h.zoom <= 0 {
		return false
	}
	// The quad's extents along the view's axes.
	c, s := math.Cos(h.angle), math.Sin(h.angle)
	var ox, oy float64
	for _, pt := range h.quad {
		ox += pt.X / 4
		oy += pt.Y / 4
	}
	u0, u1, v0, v1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, pt := range h.quad {
		dx, dy := pt.X-ox, pt.Y-oy
		u, v := dx*c+dy*s, -dx*s+dy*c
		u0, u1 = min(u0, u), max(u1, u)
		v0, v1 = min(v0, v), max(v1, v)
	}
	mu, mv := (u0+u1)/2, (v0+v1)/2
	r := region{cx: ox + mu*c - mv*s, cy: oy + mu*s + mv*c, angle: h.angle, hu: (u1 - u0) / 2, hv: (v1 - v0) / 2}
	if isLinear(h.bit) {
		// A 1D symbol's quad spans the lines that read, which may be few:
		// give zxing's binarizer the rows it needs (see readableBand).
		r.hu = max(r.hu, bandStrip/2/h.zoom)
		r.hv = max(r.hv, bandStrip/2/h.zoom)
	}
	margin := p.CropMargin*2*min(r.hu, r.hv) + float64(p.CropMarginPx)
	luma := d.lumaAround(r.cx, r.cy, math.Hypot(r.hu+margin, r.hv+margin))
	if luma.Width <= 0 || luma.Height <= 0 {
		return false
	}
	var v view
	if h.zoom == 1 && h.angle == 0 {
		v = d.directView(&r, r.hu+margin, r.hv+margin, luma)
	} else {
		v = d.resample(&r, r.hu+margin, r.hv+margin, h.zoom, luma, &d.crop)
	}
	if h.inverted {
		v = d.inverted(&v)
	}
	if v.g.Width < 8 || v.g.Height < 8 {
		return false
	}
	formats := h.bit
	if formats&upcEAN != 0 {
		// One zxing reader reads the whole EAN/UPC family and names a
		// result by the formats asked for (a UPC-A is an EAN-13 with a
		// leading 0): ask for the family, as the first read did.
		formats |= upcEAN
	}
	same := false
	var local [4]Point
	d.dec.read(v.g, formats, decodeFlags, 1, func(f int, t []byte, c *[4]Point) {
		same, local = f == h.bit && string(t) == h.text, *c
	})
	if same {
		h.quad = rereadQuad(h, &v, &local, c, s)
	}
	return same
}

// rereadQuad is where a re-read puts the symbol of h: zxing's corners for
// a 2D symbol; for a 1D one, which zxing only places along the two lines
// that agreed, the cached band (across the bars) moved to contain those
// lines, with their span along the code. The view's axes are (c, s) and
// (-s, c).
func rereadQuad(h *hit, v *view, local *[4]Point, c, s float64) [4]Point {
	q := v.quadToFull(local)
	if !isLinear(h.bit) {
		return q
	}
	extent := func(q *[4]Point) (u0, u1, v0, v1 float64) {
		u0, u1, v0, v1 = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, pt := range q {
			u, v := pt.X*c+pt.Y*s, -pt.X*s+pt.Y*c
			u0, u1 = min(u0, u), max(u1, u)
			v0, v1 = min(v0, v), max(v1, v)
		}
		return
	}
	bu0, bu1, bv0, bv1 := extent(&h.quad)
	ru0, ru1, rv0, rv1 := extent(&q)
	// contain shifts [a0, a1] to contain [b0, b1] (when it can).
	contain := func(a0, a1, b0, b1 float64) (float64, float64) {
		if b0 < a0 {
			return b0, a1 - a0 + b0
		}
		if b1 > a1 {
			return a0 + b1 - a1, b1
		}
		return a0, a1
	}
	if ru1-ru0 >= rv1-rv0 {
		// Lines along u.
		bu0, bu1 = ru0, ru1
		bv0, bv1 = contain(bv0, bv1, rv0, rv1)
	} else {
		bv0, bv1 = rv0, rv1
		bu0, bu1 = contain(bu0, bu1, ru0, ru1)
	}
	for i, uv := range [4][2]float64{{bu0, bv0}, {bu1, bv0}, {bu1, bv1}, {bu0, bv1}} {
		q[i] = Point{uv[0]*c - uv[1]*s, uv[0]*s + uv[1]*c}
	}
	return orderCorners(q)
}

// upcEAN is the EAN/UPC family, which zxing reads with one reader.
const upcEAN = zxEAN8 | zxEAN13 | zxUPCA | zxUPCE

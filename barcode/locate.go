package barcode

import "math"

// Region kinds.
const (
	kindBars   = 1 // dominated by parallel bars: 1D codes (and PDF417 rows)
	kindMatrix = 2 // perpendicular grid: 2D codes
)

// region is a candidate found in the mask: an oriented rectangle.
type region struct {
	kind  int
	area  int     // mask pixels
	score float64 // mean coherence (bars) or grid score (matrix), 0..1
	fill  float64 // area / rectangle area (before shrinking)
	// Oriented rectangle in full-res pixels: centre, unit axis angle
	// (radians, (-π/4, π/4]) and half extents along the rotated x (hu) and
	// y (hv) axes.
	cx, cy, angle, hu, hv float64
}

// corners returns the rectangle corners in full-res pixels, clockwise from
// the one nearest the image's top-left.
func (r *region) corners() [4]Point {
	c, s := math.Cos(r.angle), math.Sin(r.angle)
	var q [4]Point
	for i, d := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		u, v := d[0]*r.hu, d[1]*r.hv
		q[i] = Point{r.cx + u*c - v*s, r.cy + u*s + v*c}
	}
	return orderCorners(q)
}

// orderCorners rotates a clockwise quad (y down) so that it starts at the
// corner with the smallest x+y, the image-space top-left.
func orderCorners(q [4]Point) [4]Point {
	// Make it clockwise in y-down coordinates (positive shoelace sum).
	area := 0.0
	for i := 0; i < 4; i++ {
		j := (i + 1) % 4
		area += q[i].X*q[j].Y - q[j].X*q[i].Y
	}
	if area < 0 {
		q[1], q[3] = q[3], q[1]
	}
	k := 0
	for i := 1; i < 4; i++ {
		if q[i].X+q[i].Y < q[k].X+q[k].Y {
			k = i
		}
	}
	return [4]Point{q[k], q[(k+1)%4], q[(k+2)%4], q[(k+3)%4]}
}

func boundsOf(q *[4]Point) Rect {
	x0, y0, x1, y1 := q[0].X, q[0].Y, q[0].X, q[0].Y
	for _, p := range q[1:] {
		x0, y0 = min(x0, p.X), min(y0, p.Y)
		x1, y1 = max(x1, p.X), max(y1, p.Y)
	}
	return Rect{x0, y0, x1 - x0, y1 - y0}
}

// angleOfByte converts the mask's B channel to radians in [0, π/2).
func angleOfByte(b byte) float64 { return float64(b) / 255 * (math.Pi / 2) }

// locator labels the mask; its buffers are reused between calls.
type locator struct {
	class   []uint8
	labels  []int32
	queue   []int32
	regions []region
	// lookup tables for the mask's angle byte: cos/sin of 4·angle
	c4, s4 [256]float64
}

func (l *locator) init() {
	for i := 0; i < 256; i++ {
		a := 4 * angleOfByte(byte(i))
		l.c4[i], l.s4[i] = math.Cos(a), math.Sin(a)
	}
}

// angleDiff is the distance of two mask angle bytes modulo 90°, in degrees.
func angleDiff(a, b byte) float64 {
	d := math.Abs(float64(a)-float64(b)) / 255 * 90
	return min(d, 90-d)
}

// locate finds candidate regions in m.
func (l *locator) locate(m *Mask, p *Params) []region {
	w, h := m.Width, m.Height
	n := w * h
	l.regions = l.regions[:0]
	if n == 0 || len(m.Pix) < 4*n {
		return l.regions
	}
	if cap(l.class) < n {
		l.class = make([]uint8, n)
		l.labels = make([]int32, n)
		l.queue = make([]int32, n)
	}
	class := l.class[:n]
	labels := l.labels[:n]
	queue := l.queue[:n]
	found := false
	for i := 0; i < n; i++ {
		px := m.Pix[4*i : 4*i+4 : 4*i+4]
		c := uint8(0)
		if px[3] >= p.MinEnergy && px[0] >= p.MinCoherence1D {
			c = kindBars
		} else if px[3] >= p.MinEnergy2D && px[1] >= p.MinGrid2D {
			c = kindMatrix
		}
		class[i] = c
		labels[i] = 0
		found = found || c != 0
	}
	if !found {
		return l.regions
	}
	var next int32
	lr := max(p.LinkRadius, 1)
	s := float64(max(m.Scale, 1))
	for seed := 0; seed < n; seed++ {
		if class[seed] == 0 || labels[seed] != 0 {
			continue
		}
		next++
		labels[seed] = next
		queue[0] = int32(seed)
		head, tail := 0, 1
		for head < tail {
			i := int(queue[head])
			head++
			x, y := i%w, i/w
			ai := m.Pix[4*i+2]
			// Neighbours within LinkRadius (not just the 4 adjacent
			// pixels) so that a gap of a few pixels, e.g. a wide space
			// wider than the pooling window, does not split a code.
			for dy := -lr; dy <= lr; dy++ {
				ny := y + dy
				if ny < 0 || ny >= h {
					continue
				}
				for dx := -lr; dx <= lr; dx++ {
					nx := x + dx
					if nx < 0 || nx >= w {
						continue
					}
					j := ny*w + nx
					if class[j] == 0 || labels[j] != 0 {
						continue
					}
					// Join only with a similar grid orientation: a code is
					// one rigid pattern, while text and natural texture
					// wander in angle.
					if angleDiff(ai, m.Pix[4*j+2]) > p.MaxAngleStep {
						continue
					}
					labels[j] = next
					queue[tail] = int32(j)
					tail++
				}
			}
		}
		if tail < min(p.MinArea1D, p.MinArea2D) {
			continue
		}
		l.measure(m, p, queue[:tail], s)
	}
	l.mergeFragments(p)
	return l.regions
}

// measure fits the oriented rectangle of one component and keeps it when it
// passes the shape filters.
func (l *locator) measure(m *Mask, p *Params, pix []int32, s float64) {
	w := m.Width
	var sc, ss, sx, sy, coh, grid float64
	nBars := 0
	for _, i := range pix {
		px := m.Pix[4*i : 4*i+4 : 4*i+4]
		sc += l.c4[px[2]]
		ss += l.s4[px[2]]
		sx += float64(int(i) % w)
		sy += float64(int(i) / w)
		coh += float64(px[0])
		grid += float64(px[1])
		if px[0] >= p.MinCoherence1D {
			nBars++
		}
	}
	n := float64(len(pix))
	cx, cy := sx/n, sy/n
	ang := math.Atan2(ss, sc) / 4 // (-π/4, π/4]
	c, sn := math.Cos(ang), math.Sin(ang)
	u0, u1, v0, v1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, i := range pix {
		dx := float64(int(i)%w) - cx
		dy := float64(int(i)/w) - cy
		u := dx*c + dy*sn
		v := -dx*sn + dy*c
		u0, u1 = min(u0, u), max(u1, u)
		v0, v1 = min(v0, v), max(v1, v)
	}
	// Pixel centres -> pixel edges.
	u0, v0 = u0-0.5, v0-0.5
	u1, v1 = u1+0.5, v1+0.5
	r := region{area: len(pix)}
	r.fill = n / ((u1 - u0) * (v1 - v0))
	if 2*nBars >= len(pix) {
		r.kind = kindBars
		r.score = coh / n / 255
	} else {
		r.kind = kindMatrix
		r.score = grid / n / 255
	}
	minArea := p.MinArea2D
	if r.kind == kindBars {
		minArea = p.MinArea1D
	}
	if r.area < minArea {
		return
	}
	// Trim what pooling spread outward, keeping at least one pixel.
	shrink := p.ShrinkWindow * float64(p.WindowRadius)
	hu := max((u1-u0)/2-shrink, 0.5)
	hv := max((v1-v0)/2-shrink, 0.5)
	mu, mv := (u0+u1)/2, (v0+v1)/2
	// Back to full-res: mask pixel x covers [x·s, (x+1)·s).
	r.cx = (cx + mu*c - mv*sn + 0.5) * s
	r.cy = (cy + mu*sn + mv*c + 0.5) * s
	r.angle = ang
	r.hu, r.hv = hu*s, hv*s
	l.regions = append(l.regions, r)
}

// mergeFragments joins regions of one kind that continue each other: nearly
// the same orientation, side by side along one axis with a gap of at most
// MergeGap times their extent across it, and overlapping by at least half
// along the other. A code with modules much wider than the pooling window
// (big on screen) breaks into slabs at its wide spaces; joined, it decodes.
func (l *locator) mergeFragments(p *Params) {
	if p.MergeGap <= 0 {
		return
	}
	rs := l.regions
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(rs); i++ {
			for j := i + 1; j < len(rs); j++ {
				if rs[i].kind != rs[j].kind || !continues(&rs[i], &rs[j], p) {
					continue
				}
				rs[i] = mergeRegions(&rs[i], &rs[j])
				rs[j] = rs[len(rs)-1]
				rs = rs[:len(rs)-1]
				j = i // rescan: rs[i] grew
				changed = true
			}
		}
	}
	l.regions = rs
}

// extentIn returns the range of b's corners along the unit axes (c, s) and
// (-s, c) centred on (ox, oy).
func extentIn(b *region, ox, oy, c, s float64) (u0, u1, v0, v1 float64) {
	u0, v0 = math.Inf(1), math.Inf(1)
	u1, v1 = math.Inf(-1), math.Inf(-1)
	for _, q := range b.corners() {
		dx, dy := q.X-ox, q.Y-oy
		u, v := dx*c+dy*s, -dx*s+dy*c
		u0, u1 = min(u0, u), max(u1, u)
		v0, v1 = min(v0, v), max(v1, v)
	}
	return
}

func continues(a, b *region, p *Params) bool {
	d := math.Abs(a.angle-b.angle) * 180 / math.Pi
	if min(d, 90-d) > p.MaxAngleStep {
		return false
	}
	c, s := math.Cos(a.angle), math.Sin(a.angle)
	u0, u1, v0, v1 := extentIn(b, a.cx, a.cy, c, s)
	side := func(h0, lo0, hi0, h1, lo1, hi1 float64) bool {
		// along axis 0 (a's half extent h0, b's range lo0..hi1), across axis 1
		gap := max(lo0-h0, -h0-hi0)
		across := min(2*h1, hi1-lo1)
		over := min(h1, hi1) - max(-h1, lo1)
		return gap <= p.MergeGap*across && over >= 0.5*across
	}
	return side(a.hu, u0, u1, a.hv, v0, v1) || side(a.hv, v0, v1, a.hu, u0, u1)
}

// mergeRegions returns the rectangle covering a and b in the orientation of
// the larger one.
func mergeRegions(a, b *region) region {
	if b.area > a.area {
		a, b = b, a
	}
	c, s := math.Cos(a.angle), math.Sin(a.angle)
	u0, u1, v0, v1 := extentIn(b, a.cx, a.cy, c, s)
	u0, u1 = min(u0, -a.hu), max(u1, a.hu)
	v0, v1 = min(v0, -a.hv), max(v1, a.hv)
	r := *a
	mu, mv := (u0+u1)/2, (v0+v1)/2
	r.cx = a.cx + mu*c - mv*s
	r.cy = a.cy + mu*s + mv*c
	r.hu, r.hv = (u1-u0)/2, (v1-v0)/2
	r.area = a.area + b.area
	r.score = (a.score*float64(a.area) + b.score*float64(b.area)) / float64(r.area)
	r.fill = (a.fill*a.hu*a.hv + b.fill*b.hu*b.hv) / (r.hu * r.hv)
	return r
}

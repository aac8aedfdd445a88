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
	// Centroid of the component's pixels, full-res: steadier from frame to
	// frame than the rectangle's centre, which rests on extreme pixels
	// (tracking follows it, see place).
	mx, my float64
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
	// The candidate pixels in raster order: column, angle byte and label
	// (provisional while scanning, then a component index + 1). rowAt[y]
	// is the index of row y's first candidate, rowAt[h] their number.
	cx    []int32
	ca    []uint8
	cl    []int32
	rowAt []int32
	// same[k] ends the run of candidates of k's row, from k on, that carry
	// k's label: the index of the first that does not; chainEnd[k] ends
	// k's chain (see linkRow), whose columns are consecutive.
	same, chainEnd []int32
	chains         []chain
	// Union-find over provisional labels; comp maps a root label to its
	// component index + 1 (0: none yet).
	parent []int32
	comp   []int32
	stats  []compStats
	runs   []labelRun
	above  []window

	// Tables for the candidate test: a pixel is one when
	// energy[A] & (coh[R] | grid[G]) != 0; and compat[a][b], whether angle
	// bytes a and b are within MaxAngleStep. Built for the thresholds in
	// tables.
	energy, coh, grid [256]uint8
	compat            [256][256]bool
	tables            tableKey

	regions []region
	// lookup tables for the mask's angle byte: cos/sin of 4·angle
	c4, s4 [256]float64
}

type tableKey struct {
	minE1, minC1, minE2, minG2 uint8
	step                       float64
	built                      bool
}

// window is the stretch [p, q) of a row's candidates (which end at end)
// within LinkRadius of the current column.
type window struct{ p, q, end int32 }

// chain is a stretch [n, e) of a row's candidates with label lab.
type chain struct{ n, e, lab int32 }

// labelRun is the first and last column of one component's candidates in
// row y.
type labelRun struct{ comp, y, x0, x1 int32 }

// compStats accumulates one component for its rectangle fit.
type compStats struct {
	n, nBars                  int
	sc, ss, sx, sy, coh, grid float64
	// set by fitAxes: the centroid and axes; keep is false for components
	// too small to be measured further.
	cx, cy, ang, c, s float64
	u0, u1, v0, v1    float64
	kind              int
	keep              bool
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

// prepare sizes the buffers for n mask pixels and h rows and rebuilds the
// tables when p's thresholds changed.
func (l *locator) prepare(n, h int, p *Params) {
	if len(l.cx) < n {
		l.cx = make([]int32, n)
		l.ca = make([]uint8, n)
		l.cl = make([]int32, n)
		l.same = make([]int32, n)
		l.chainEnd = make([]int32, n)
	}
	if cap(l.rowAt) < h+1 {
		l.rowAt = make([]int32, h+1)
	}
	l.rowAt = l.rowAt[:h+1]
	lr := max(p.LinkRadius, 1)
	if len(l.above) != lr {
		l.above = make([]window, lr)
	}
	key := tableKey{p.MinEnergy, p.MinCoherence1D, p.MinEnergy2D, p.MinGrid2D, p.MaxAngleStep, true}
	if key == l.tables {
		return
	}
	for v := range 256 {
		b := byte(v)
		l.energy[v] = b2u8(b >= p.MinEnergy) | b2u8(b >= p.MinEnergy2D)<<1
		l.coh[v] = b2u8(b >= p.MinCoherence1D)
		l.grid[v] = b2u8(b >= p.MinGrid2D) << 1
		for u := range 256 {
			l.compat[v][u] = angleDiff(b, byte(u)) <= p.MaxAngleStep
		}
	}
	l.tables = key
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// find returns the root of label a in par, halving the path on the way.
func find(par []int32, a int32) int32 {
	for par[a] != a {
		par[a] = par[par[a]]
		a = par[a]
	}
	return a
}

// union joins the sets of labels a and b; the smaller root wins.
func union(par []int32, a, b int32) {
	ra, rb := find(par, a), find(par, b)
	if ra < rb {
		par[rb] = ra
	} else if rb < ra {
		par[ra] = rb
	}
}

// locate finds candidate regions in m.
//
// Candidate pixels (bar or grid, by the mask thresholds) are linked when
// they lie within LinkRadius of each other (Chebyshev) and their grid
// orientations differ by at most MaxAngleStep; regions are the connected
// components of that graph. A flood fill that looks at each candidate's
// whole neighbourhood finds them too, but at (2·LinkRadius+1)² tests per
// candidate it cost several milliseconds per frame on a textured scene.
// Here:
//
//   - each row is reduced to the list of its candidates (branch-free);
//   - the rows are labeled in raster order with union-find, a chain of
//     adjacent compatible candidates at a time, against the already labeled
//     candidates only (to the left in the row, and the LinkRadius rows
//     above, whose windows are found by pointers moving along their lists);
//   - a window above that holds a single label (runs of equal labels are
//     recorded per row, as roots) joins a chain through any one compatible
//     pair and is done, which in the interior of a code or a texture is
//     nearly every window; only mixed windows are looked at pixel by pixel.
//
// Components come out in the raster order of their first pixel, like the
// seeds of flood fills, and are measured in raster order.
func (l *locator) locate(m *Mask, p *Params) []region {
	w, h := m.Width, m.Height
	n := w * h
	l.regions = l.regions[:0]
	if n == 0 || len(m.Pix) < 4*n {
		return l.regions
	}
	l.prepare(n, h, p)
	par := append(l.parent[:0], 0) // label 0 is "none"
	pix := m.Pix[:4*n]
	total := 0
	for y := 0; y < h; y++ {
		r0 := total
		total = l.classifyRow(pix[4*y*w:4*(y+1)*w], total)
		l.rowAt[y] = int32(r0)
		if total == r0 {
			continue
		}
		for k := range l.above {
			l.above[k] = window{}
			if yk := y - k - 1; yk >= 0 {
				l.above[k] = window{l.rowAt[yk], l.rowAt[yk], l.rowAt[yk+1]}
			}
		}
		par = l.linkRow(int32(r0), int32(total), par)
	}
	l.rowAt[h] = int32(total)
	l.parent = par
	if total == 0 {
		return l.regions
	}
	st := l.measure(m, p)
	s := float64(max(m.Scale, 1))
	for k := range st {
		if st[k].keep {
			l.regions = append(l.regions, st[k].rect(p, s))
		}
	}
	l.mergeFragments(p)
	return l.regions
}

// classifyRow appends the candidates of one mask row (RGBA bytes) at index
// at and returns the new count. Every pixel is written, and the count
// advances only over candidates: no branch to mispredict on textures.
func (l *locator) classifyRow(row []byte, at int) int {
	w := len(row) / 4
	cx, ca := l.cx[at:at+w], l.ca[at:at+w]
	e, c, g := &l.energy, &l.coh, &l.grid
	k := 0
	for x := range w {
		px := row[4*x : 4*x+4 : 4*x+4]
		cx[k] = int32(x)
		ca[k] = px[2]
		b := e[px[3]] & (c[px[0]] | g[px[1]])
		k += int((b | b>>1) & 1) // k ≤ x: the writes stay in the row's slots
	}
	return at + k
}

// linkRow labels the candidates [r0, r1) of one row (see locate) and
// returns par, grown by the new labels.
//
// The row is taken a chain at a time: a chain is a stretch of adjacent
// candidates whose neighbours are compatible, so it is one set whatever it
// links to. Only its first LinkRadius pixels can link to candidates left of
// it in the row, and a row above whose window (the chain's span widened by
// LinkRadius) holds a single label links to the chain as a whole, through
// any one compatible pair: in the interior of a code or a texture, a chain
// costs a few steps per row above, not a look at every neighbour of every
// pixel. The windows' ends move along the rows above a chain at a time too.
func (l *locator) linkRow(r0, r1 int32, par []int32) []int32 {
	lr := int32(len(l.above))
	cx, ca, cl := l.cx, l.ca, l.cl
	chains := l.chains[:0]
	for n := r0; n < r1; {
		e := n + 1
		for e < r1 && cx[e] == cx[e-1]+1 && l.compat[ca[e-1]][ca[e]] {
			e++
		}
		xa, xb := cx[n], cx[e-1]
		var lp int32
		// Candidates left of the chain, within reach of its first pixels.
		for k := n; k < e && cx[k]-lr < xa; k++ {
			ok := &l.compat[ca[k]]
			for j := n - 1; j >= r0 && cx[k]-cx[j] <= lr; j-- {
				if lq := cl[j]; lq != lp && ok[ca[j]] {
					lp = link(par, lp, lq)
				}
			}
		}
		for k := range l.above {
			a := &l.above[k]
			p := l.skipTo(a.p, a.end, xa-lr)
			q := l.skipTo(max(a.q, p), a.end, xb+lr+1)
			a.p, a.q = p, q
			switch {
			case p == q:
				// Nothing above.
			case l.same[p] >= q:
				// One label above: a single compatible pair joins it.
				if f := cl[p]; (lp == 0 || f != lp && find(par, f) != find(par, lp)) && l.pairLinks(n, e, p, q) {
					lp = link(par, lp, f)
				}
			default:
				lp = l.linkEach(par, lp, n, e, p, q)
			}
		}
		if lp == 0 {
			lp = int32(len(par))
			par = append(par, lp)
		}
		for k := n; k < e; k++ {
			cl[k] = lp // for the chains to its right
		}
		chains = append(chains, chain{n, e, lp})
		n = e
	}
	// Labels as roots, so that chains of one set read as one label from
	// below, and the runs of equal labels.
	end, next := r1, int32(-1)
	for c := len(chains) - 1; c >= 0; c-- {
		ch := chains[c]
		root := find(par, ch.lab)
		if root != next {
			end = ch.e
		}
		next = root
		if root != ch.lab {
			for k := ch.n; k < ch.e; k++ {
				cl[k] = root
			}
		}
		for k := ch.n; k < ch.e; k++ {
			l.same[k] = end
			l.chainEnd[k] = ch.e
		}
	}
	l.chains = chains
	return par
}

// skipTo returns the first index in [p, end) of a row's candidates whose
// column is at least x (end if none), striding over chains.
func (l *locator) skipTo(p, end, x int32) int32 {
	cx := l.cx
	for p < end && cx[p] < x {
		e := l.chainEnd[p]
		if last := cx[p] + (e - 1 - p); last >= x {
			return p + (x - cx[p])
		}
		p = e
	}
	return p
}

// link joins label lq to the current chain's label lp (0: none yet) and
// returns the chain's label.
func link(par []int32, lp, lq int32) int32 {
	if lp == 0 {
		return lq
	}
	union(par, lp, lq)
	return lp
}

// pairLinks reports whether a candidate of the chain [n, e) and one of
// [p, q) in a row above are within reach and compatible.
func (l *locator) pairLinks(n, e, p, q int32) bool {
	lr := int32(len(l.above))
	cx, ca := l.cx, l.ca
	for k := n; k < e; k++ {
		ok := &l.compat[ca[k]]
		for p < q && cx[p] < cx[k]-lr {
			p++
		}
		for j := p; j < q && cx[j] <= cx[k]+lr; j++ {
			if ok[ca[j]] {
				return true
			}
		}
	}
	return false
}

// linkEach links every pixel of the chain [n, e) with label lp (0: none
// yet) to its window in the candidates [p, q) of a row above, skipping
// windows that hold the chain's set only; it returns the chain's label.
func (l *locator) linkEach(par []int32, lp int32, n, e, p, q int32) int32 {
	lr := int32(len(l.above))
	cx, cl, same := l.cx, l.cl, l.same
	wp, wq := p, p
	for k := n; k < e; k++ {
		x := cx[k]
		wp = l.skipTo(wp, q, x-lr)
		wq = l.skipTo(max(wq, wp), q, x+lr+1)
		if wp == wq {
			continue
		}
		if f := cl[wp]; same[wp] >= wq && lp != 0 && (f == lp || find(par, f) == find(par, lp)) {
			continue
		}
		lp = l.linkWindow(par, lp, &l.compat[l.ca[k]], wp, wq)
	}
	return lp
}

// linkWindow links the candidate with label lp (0: none yet) and angle
// compatibility row ok to the candidates [p, q) of a row above; it returns
// the candidate's label.
func (l *locator) linkWindow(par []int32, lp int32, ok *[256]bool, p, q int32) int32 {
	done := int32(0) // last label joined: runs of it need no second look
	for j := p; j < q; j++ {
		if lq := l.cl[j]; lq != lp && lq != done && ok[l.ca[j]] {
			if lp != 0 {
				done = lq
			}
			lp = link(par, lp, lq)
		}
	}
	return lp
}

// measure resolves the labels into components, numbered in the raster
// order of their first pixel, and fits their axes and extents.
func (l *locator) measure(m *Mask, p *Params) []compStats {
	w, h := m.Width, m.Height
	par := l.parent
	if cap(l.comp) < len(par) {
		l.comp = make([]int32, len(par), max(len(par), 2*cap(l.comp)))
	}
	comp := l.comp[:len(par)]
	clear(comp)
	st := l.stats[:0]
	runs := l.runs[:0]
	cx, ca, cl := l.cx, l.ca, l.cl
	bars := &l.coh // 1 for coherence ≥ MinCoherence1D
	// A row's candidates come in runs of one label (see linkRow): the
	// moments of a run are summed in locals (integer bytes exactly, as
	// integers) and added to its component at the run's end, and its first
	// and last column bound the component's extents in that row.
	lastLab, lastComp := int32(-1), int32(0)
	for y := range h {
		row := m.Pix[4*y*w : 4*(y+1)*w]
		end := l.rowAt[y+1]
		for n := l.rowAt[y]; n < end; {
			li := cl[n]
			if li != lastLab {
				root := find(par, li)
				c := comp[root]
				if c == 0 {
					st = append(st, compStats{})
					c = int32(len(st))
					comp[root] = c
				}
				lastLab, lastComp = li, c
			}
			var (
				rn, rbars, rsx, rcoh, rgrd int
				rsc, rss                   float64
			)
			e := n
			for ; e < end && cl[e] == li; e++ {
				x := cx[e]
				px := row[4*x : 4*x+4 : 4*x+4]
				a := ca[e]
				rn++
				rsx += int(x)
				rsc += l.c4[a]
				rss += l.s4[a]
				rcoh += int(px[0])
				rgrd += int(px[1])
				rbars += int(bars[px[0]])
			}
			cs := &st[lastComp-1]
			cs.n += rn
			cs.nBars += rbars
			cs.sx += float64(rsx)
			cs.sy += float64(y * rn)
			cs.sc += rsc
			cs.ss += rss
			cs.coh += float64(rcoh)
			cs.grid += float64(rgrd)
			runs = append(runs, labelRun{lastComp, int32(y), cx[n], cx[e-1]})
			n = e
		}
	}
	for k := range st {
		st[k].fitAxes(p)
	}
	// u and v are monotonic in x along a row: a component's extremes in a
	// row are at its first and last pixel there.
	for _, r := range runs {
		st[r.comp-1].extend(int(r.x0), int(r.x1), float64(r.y))
	}
	l.stats, l.runs = st, runs
	return st
}

// fitAxes computes the centroid and orientation of a component and whether
// it is large enough (for its kind) to be measured.
func (cs *compStats) fitAxes(p *Params) {
	n := float64(cs.n)
	cs.cx, cs.cy = cs.sx/n, cs.sy/n
	cs.ang = math.Atan2(cs.ss, cs.sc) / 4 // (-π/4, π/4]
	cs.c, cs.s = math.Cos(cs.ang), math.Sin(cs.ang)
	cs.u0, cs.u1, cs.v0, cs.v1 = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	minArea := p.MinArea2D
	cs.kind = kindMatrix
	if 2*cs.nBars >= cs.n {
		cs.kind = kindBars
		minArea = p.MinArea1D
	}
	cs.keep = cs.n >= minArea
}

// extend widens the extents by the pixels x0..x1 of row y.
func (cs *compStats) extend(x0, x1 int, y float64) {
	if !cs.keep {
		return
	}
	dy := y - cs.cy
	for _, x := range [2]int{x0, x1} {
		dx := float64(x) - cs.cx
		u := dx*cs.c + dy*cs.s
		v := -dx*cs.s + dy*cs.c
		cs.u0, cs.u1 = min(cs.u0, u), max(cs.u1, u)
		cs.v0, cs.v1 = min(cs.v0, v), max(cs.v1, v)
	}
}

// rect fits the oriented rectangle of a measured component, in full-res
// pixels (scale s).
func (cs *compStats) rect(p *Params, s float64) region {
	n := float64(cs.n)
	// Pixel centres -> pixel edges.
	u0, v0 := cs.u0-0.5, cs.v0-0.5
	u1, v1 := cs.u1+0.5, cs.v1+0.5
	r := region{kind: cs.kind, area: cs.n}
	r.fill = n / ((u1 - u0) * (v1 - v0))
	if r.kind == kindBars {
		r.score = cs.coh / n / 255
	} else {
		r.score = cs.grid / n / 255
	}
	// Trim what pooling spread outward, keeping at least one pixel.
	shrink := p.ShrinkWindow * float64(p.WindowRadius)
	hu := max((u1-u0)/2-shrink, 0.5)
	hv := max((v1-v0)/2-shrink, 0.5)
	mu, mv := (u0+u1)/2, (v0+v1)/2
	c, sn := cs.c, cs.s
	// Back to full-res: mask pixel x covers [x·s, (x+1)·s).
	r.cx = (cs.cx + mu*c - mv*sn + 0.5) * s
	r.cy = (cs.cy + mu*sn + mv*c + 0.5) * s
	r.angle = cs.ang
	r.hu, r.hv = hu*s, hv*s
	r.mx, r.my = (cs.cx+0.5)*s, (cs.cy+0.5)*s
	return r
}

// mergeFragments joins regions of one kind that continue each other: nearly
// the same orientation, side by side along one axis with a gap of at most
// MergeGap times their extent across it, and overlapping by at least half
// along the other. A code with modules much wider than the pooling window
// (big on screen) breaks into slabs at its wide spaces; joined, it decodes.
// The union must stay compact (see compact).
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
				m := mergeRegions(&rs[i], &rs[j])
				if !compact(&m, &rs[i], &rs[j]) {
					continue
				}
				rs[i] = m
				rs[j] = rs[len(rs)-1]
				rs = rs[:len(rs)-1]
				j = i // rescan: rs[i] grew
				changed = true
			}
		}
	}
	l.regions = rs
}

// compact says whether m, the union of a and b, fills its rectangle
// nearly as well as they fill theirs: at least mergeFill of their mean
// fill, weighted by area. The slabs of one code, split at its wide spaces, leave
// only those spaces empty; two things side by side (two labels on a box,
// a code and the caption above it) leave the space between them, and
// their union would be decoded as one large crop whose symbols have no
// region of their own to follow.
func compact(m, a, b *region) bool {
	mean := (a.fill*float64(a.area) + b.fill*float64(b.area)) / float64(a.area+b.area)
	return m.fill >= mergeFill*mean
}

const mergeFill = 0.8

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
	wa, wb := float64(a.area)/float64(r.area), float64(b.area)/float64(r.area)
	r.mx, r.my = wa*a.mx+wb*b.mx, wa*a.my+wb*b.my
	r.score = (a.score*float64(a.area) + b.score*float64(b.area)) / float64(r.area)
	r.fill = (a.fill*a.hu*a.hv + b.fill*b.hu*b.hv) / (r.hu * r.hv)
	return r
}

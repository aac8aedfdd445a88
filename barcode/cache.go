package barcode

import "math"

// cache remembers recent calls' regions and what they decoded to, so that
// video frames do not decode again what stays put.
//
// A region that overlaps one of them (IoU ≥ CacheIoU; the previous call's,
// or one unseen for up to keepMissing calls) inherits its outcome. Its
// symbols are not reported where they were read but where they are in
// this call: each follows the region located on it in every call (see
// place), and one whose region is gone or jumped is dropped. Each code
// keeps a track id from call to call (see track). A region is refreshed
// when due: a decoded region every VerifyEvery calls, by re-reading its
// symbols in place, one per call (one zxing call on a crop of just the
// symbol, where decoding the region again tries several crops and reads on
// until a read fails: tens of milliseconds on a large region), or every
// FollowEvery calls while a symbol turns or grows, or moves without a
// region of its own (its carried corners drift: see place); an undecoded
// one every RetryEvery calls, backing off while it stays put. At most
// MaxRefreshesPerCall cached regions are refreshed per call, most overdue
// first, and at most MaxDecodesPerCall regions decoded: on a steady scene
// the zxing work is spread thin and even over the frames.
//
// Two generations of entries and hits are swapped each call: no allocation
// in steady state.
type cache struct {
	prev, cur         []cacheEntry
	prevHits, curHits []hit
	plan              []planned
	// recutBy[j]: the region of this call that is a recut taking in entry
	// j of prev, or -1 (see recut).
	recutBy []int
	// Recently read values, so that a value read again (its region lost
	// and found, or a still image read twice) is the same string.
	recent     [16]string
	nextRecent int
	// Track ids: the last one given, and the symbols that stopped being
	// reported lately (see place), so that one found again within a few
	// calls keeps its id.
	lastTrack int64
	ended     [16]hit
	nextEnded int
}

type cacheEntry struct {
	box      Rect    // bounding box of the region's rectangle
	cx, cy   float64 // region centre, to move cached quads along
	first, n int     // its hits in the generation's hit slice
	// decoded: a symbol was read in the region (possibly one reported
	// through another region: a dup hit). pending: never tried, being over
	// the decode budget when it appeared. stale: a cached symbol failed to
	// re-read and no decode was left in the call's budget: decode it in
	// full next time.
	decoded, pending, stale bool
	age                     int  // calls since the region was last decoded or verified in full
	wait                    int  // calls between attempts: due when age+1 ≥ wait
	tried                   Rect // box when it was last decoded
	checked                 int  // symbols re-read so far in the current verification
	missing                 int  // calls since a region last matched it
}

// keepMissing is how many calls an entry outlives its region. Where the
// labeling of a scene hesitates between two cuts (a caption that joins one
// code's region or the next one's, frame by frame), each cut finds its
// entry again instead of being decoded as new every other frame.
const keepMissing = 8

// stableIoU: a region whose box overlaps the one it was last decoded with
// at least this much has not changed. An undecoded region backs off only
// while it stays put (IoU in place): anything that moves or grows is
// retried at the RetryEvery pace. A decoded region is verified symbol by
// symbol only while its shape holds (IoU once centred on each other:
// motion moves the symbols with it); if the shape changed, for instance a
// second code joined it, it is decoded again.
const stableIoU = 0.9

// What the cache does with a region in one call.
type action int

const (
	actServe   action = iota // take over the previous outcome
	actDecode                // decode (new, or a refresh that needs it)
	actDefer                 // new, over the decode budget: next call
	actDue                   // due for a refresh (planning only)
	actRefresh               // refresh this call
	actNew                   // no entry yet (planning only)
	actRecut                 // a recut of known regions (see recut)
)

type planned struct {
	act     action
	prev    int // matched entry in c.prev, or -1
	box     Rect
	overdue int // calls past due
}

// run decodes regions through the cache, appending to d.hits.
func (c *cache) run(d *Detector, regions []region) {
	p := &d.p
	c.cur = c.cur[:0]
	c.curHits = c.curHits[:0]
	// A busy scene spreads its decodes over several calls instead of
	// stalling one. budget < 0: unbounded.
	budget := p.MaxDecodesPerCall
	if budget <= 0 {
		budget = -1
	}
	take := func() bool {
		if budget == 0 {
			return false
		}
		if budget > 0 {
			budget--
		}
		return true
	}
	plan := c.plan[:0]
	for i := range regions {
		q := regions[i].corners()
		a := planned{prev: -1, box: boundsOf(&q)}
		bestIoU := p.CacheIoU
		for j := range c.prev {
			if v := iou(a.box, c.prev[j].box); v >= bestIoU {
				a.prev, bestIoU = j, v
			}
		}
		switch {
		case a.prev < 0 || c.prev[a.prev].pending:
			a.act = actNew
		default:
			pe := &c.prev[a.prev]
			a.act = actServe
			if limit := c.limit(p, pe, a.box); pe.age+1 >= limit {
				a.act, a.overdue = actDue, pe.age+1-limit
			}
		}
		plan = append(plan, a)
	}
	c.recutBy = c.recutBy[:0]
	for range c.prev {
		c.recutBy = append(c.recutBy, -1)
	}
	for i := range plan {
		a := &plan[i]
		switch {
		case a.act != actNew:
		case a.prev < 0 && c.recut(&regions[i], plan, i):
			a.act = actRecut
		case take():
			// New regions come first: a code entering the view
			// should show at once.
			a.act = actDecode
		default:
			a.act = actDefer
		}
	}
	// The most overdue refreshes that fit; the others stay due.
	for n := 0; p.MaxRefreshesPerCall <= 0 || n < p.MaxRefreshesPerCall; n++ {
		best := -1
		for i := range plan {
			a := &plan[i]
			if a.act != actDue || c.needsDecode(&c.prev[a.prev], a.box) && budget == 0 {
				continue
			}
			if best < 0 || a.overdue > plan[best].overdue {
				best = i
			}
		}
		if best < 0 {
			break
		}
		plan[best].act = actRefresh
		if c.needsDecode(&c.prev[plan[best].prev], plan[best].box) {
			take()
		}
	}
	c.plan = plan
	for i := range regions {
		r, a := &regions[i], &plan[i]
		first := len(d.hits)
		e := cacheEntry{box: a.box, cx: r.cx, cy: r.cy}
		var pe *cacheEntry
		if a.prev >= 0 {
			pe = &c.prev[a.prev]
		}
		switch a.act {
		case actServe, actDue:
			c.serve(d, r, pe, &e)
		case actDefer:
			e.pending = true
		case actRecut:
			// The symbols of the regions it took in; their
			// undecoded regions are not where they were.
			for j := range c.prev {
				if c.recutBy[j] != i {
					continue
				}
				for _, h := range c.prevHits[c.prev[j].first : c.prev[j].first+c.prev[j].n] {
					if !h.unknown {
						d.hits = append(d.hits, h)
					}
				}
			}
		case actDecode:
			c.decode(d, r, pe, &e)
		case actRefresh:
			if c.needsDecode(pe, a.box) {
				c.decode(d, r, pe, &e)
				break
			}
			c.serve(d, r, pe, &e)
			k := verifyTarget(d.hits[first:], e.checked)
			if t := turnedTarget(d.hits[first:]); t >= 0 {
				k = t
			}
			switch {
			case k < 0 || d.reread(&d.hits[first+k]):
				if k >= 0 {
					d.hits[first+k].fresh = true
				}
				e.checked++
				if verifyTarget(d.hits[first:], e.checked) < 0 {
					// All re-read: verified.
					e.age, e.checked = 0, 0
				}
			case take():
				// Gone or changed: decode the region again.
				d.hits = d.hits[:first]
				c.decode(d, r, pe, &e)
			default:
				e.stale = true
			}
		}
		if a.act == actRecut {
			c.placeRecut(d, regions, first)
		} else if !c.place(d, regions, first) {
			// A symbol it held is gone (see place): decode the region
			// now if the budget allows, else at the next call.
			switch {
			case a.act != actDecode && take():
				d.hits = d.hits[:first]
				c.decode(d, r, pe, &e)
				c.place(d, regions, first)
			default:
				e.stale = true
			}
		}
		c.track(d, first, pe)
		if a.act == actRecut {
			// No entry: the regions it took in live on (see recut).
			continue
		}
		e.first = len(c.curHits)
		c.curHits = append(c.curHits, d.hits[first:]...)
		e.n = len(c.curHits) - e.first
		c.cur = append(c.cur, e)
	}
	// Entries no region matched live on a while, unseen.
	for j := range c.prev {
		pe := &c.prev[j]
		if pe.missing >= keepMissing || pe.pending || c.matched(j) {
			continue
		}
		e := *pe
		e.missing++
		e.age++
		e.first = len(c.curHits)
		c.curHits = append(c.curHits, c.prevHits[pe.first:pe.first+pe.n]...)
		c.cur = append(c.cur, e)
	}
	c.prev, c.cur = c.cur, c.prev
	c.prevHits, c.curHits = c.curHits, c.prevHits
}

// recut says whether region i, new to the cache, is a recut of regions
// it knows: it takes in the centres of two or more regions seen in the
// last two calls that no region of this call matched (nor an earlier
// recut). If so, it claims them (c.recutBy). The labeling joins neighbours
// through whatever bridges them (a caption between two codes, the corner
// of a turning card) in one frame and not the next; decoding each such
// union as a new region costs tens of zxing calls on a large crop, for
// symbols already followed one by one (see place). A recut shows their
// symbols, each placed by its own region, and gets no entry of its own:
// the regions it took in live on unseen (keepMissing) and are found again
// when the cut reverts. A union that holds for more than two calls is no
// longer a recut, and is decoded as new.
func (c *cache) recut(r *region, plan []planned, i int) bool {
	q := r.corners()
	n := 0
	for j := range c.prev {
		if c.takes(&q, plan, j) {
			n++
		}
	}
	if n < 2 {
		return false
	}
	for j := range c.prev {
		if c.takes(&q, plan, j) {
			c.recutBy[j] = i
		}
	}
	return true
}

// takes says whether a new region with corners q takes in entry j of
// c.prev as a recut would (see recut).
func (c *cache) takes(q *[4]Point, plan []planned, j int) bool {
	pe := &c.prev[j]
	return c.recutBy[j] < 0 && pe.missing <= 1 && !pe.pending && pe.n > 0 &&
		inQuad(q, pe.box.X+pe.box.Width/2, pe.box.Y+pe.box.Height/2) && !matchedIn(plan, j)
}

// matchedIn says whether a region planned in plan matched entry j.
func matchedIn(plan []planned, j int) bool {
	for k := range plan {
		if plan[k].prev == j {
			return true
		}
	}
	return false
}

// matched says whether a region of this call matched entry j of c.prev.
func (c *cache) matched(j int) bool { return matchedIn(c.plan, j) }

// limit is the age at which a cached region falls due.
func (c *cache) limit(p *Params, pe *cacheEntry, box Rect) int {
	switch {
	case pe.stale:
		return 0
	case pe.decoded:
		if p.FollowEvery > 0 && c.turned(pe) >= 0 {
			return min(pe.wait, p.FollowEvery)
		}
		return pe.wait
	case iou(box, pe.tried) < stableIoU:
		// Moved or changed since it was tried: no back-off.
		return min(pe.wait, p.RetryEvery)
	}
	return pe.wait
}

// needsDecode says whether refreshing pe, now at box, takes decoding the
// region rather than re-reading its symbols.
func (c *cache) needsDecode(pe *cacheEntry, box Rect) bool {
	if !pe.decoded || pe.stale || !sameShape(box, pe.tried) {
		return true
	}
	// Re-read its symbols, if it kept any of its own.
	return verifyTarget(c.prevHits[pe.first:pe.first+pe.n], 0) < 0
}

// turned returns the index among pe's hits of one that turned or grew
// since it was read, or -1.
func (c *cache) turned(pe *cacheEntry) int {
	return turnedTarget(c.prevHits[pe.first : pe.first+pe.n])
}

// turnedTarget returns the index in hs of a decoded hit that turned or
// grew since it was read (see place), or -1.
func turnedTarget(hs []hit) int {
	for i := range hs {
		if !hs[i].unknown && hs[i].turned {
			return i
		}
	}
	return -1
}

// verifyTarget returns the index in hs of the k-th decoded hit (dups
// included: their regions are verified through them too), or -1.
func verifyTarget(hs []hit, k int) int {
	for i := range hs {
		if !hs[i].unknown {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return -1
}

// serve appends pe's hits, moved with the region, and carries its state
// over into e, one call older. The move is only a first guess, for symbols
// without a region of their own: place carries the others with theirs.
func (c *cache) serve(d *Detector, r *region, pe *cacheEntry, e *cacheEntry) {
	dx, dy := r.cx-pe.cx, r.cy-pe.cy
	if !sameShape(e.box, pe.box) {
		// Not the same region moved but another cut of the scene (a
		// neighbour joined it or left): its centre's shift says nothing
		// of how its symbols moved. Leave them until it is decoded again.
		dx, dy = 0, 0
	}
	q := r.corners()
	moved := !sameShape(e.box, pe.box) || math.Hypot(dx, dy) > 0.5
	for _, h := range c.prevHits[pe.first : pe.first+pe.n] {
		if h.unknown {
			h.quad = q
		} else {
			for k := range h.quad {
				h.quad[k].X += dx
				h.quad[k].Y += dy
			}
			// Moved by its region's shift alone, which may be
			// another symbol's or its surroundings': re-read it
			// at the FollowEvery pace (place may find it a region
			// of its own first).
			h.turned = h.turned || moved && !h.tracked
		}
		d.hits = append(d.hits, h)
	}
	e.decoded, e.stale = pe.decoded, pe.stale
	e.age, e.wait, e.tried, e.checked = pe.age+1, pe.wait, pe.tried, pe.checked
}

// decode decodes r afresh into e; pe is its previous entry, if any.
func (c *cache) decode(d *Detector, r *region, pe, e *cacheEntry) {
	p := &d.p
	e.decoded = d.decodeRegion(r)
	e.tried, e.age, e.checked, e.stale = e.box, 0, 0, false
	switch {
	case e.decoded:
		e.wait = p.VerifyEvery
	case pe != nil && !pe.decoded && !pe.pending && pe.wait > 0 && iou(e.box, pe.tried) >= stableIoU:
		// Failed again in the same place: back off.
		e.wait = max(min(2*pe.wait, p.MaxRetryEvery), p.RetryEvery)
	default:
		e.wait = p.RetryEvery
	}
}

// sameShape says whether boxes a and b, centred on each other, overlap by
// at least stableIoU.
func sameShape(a, b Rect) bool {
	b.X += (a.X + a.Width/2) - (b.X + b.Width/2)
	b.Y += (a.Y + a.Height/2) - (b.Y + b.Height/2)
	return iou(a, b) >= stableIoU
}

// intern returns text as a string, reusing the string of a previous result
// with the same bytes so that reading a code again allocates nothing.
func (c *cache) intern(text []byte) string {
	for _, hs := range [2][]hit{c.prevHits, c.curHits} {
		for i := range hs {
			if !hs[i].unknown && hs[i].text == string(text) {
				return hs[i].text
			}
		}
	}
	for _, s := range c.recent {
		if s == string(text) {
			return s
		}
	}
	s := string(text)
	c.recent[c.nextRecent] = s
	c.nextRecent = (c.nextRecent + 1) % len(c.recent)
	return s
}

// iou is the intersection over union of two rectangles.
func iou(a, b Rect) float64 {
	w := min(a.X+a.Width, b.X+b.Width) - max(a.X, b.X)
	h := min(a.Y+a.Height, b.Y+b.Height) - max(a.Y, b.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	in := w * h
	return in / (a.Width*a.Height + b.Width*b.Height - in)
}

// pose is where a region lies and how it is turned: its centre, its size
// (geometric mean of its half extents) and its angle, unwrapped across
// calls (a region's own angle is folded into (-π/4, π/4]: its axes have no
// order), in full-res pixels and radians.
type pose struct{ cx, cy, size, turn float64 }

// carry maps quad q, measured at pose a, to where the motion from a to b
// takes it: rotated by the turn and scaled by the growth about the moving
// centre.
func (a pose) carry(q *[4]Point, b pose) [4]Point {
	k := 1.0
	if a.size > 0 && b.size > 0 {
		k = b.size / a.size
	}
	s, c := math.Sincos(b.turn - a.turn)
	s, c = k*s, k*c
	var out [4]Point
	for i, p := range q {
		dx, dy := p.X-a.cx, p.Y-a.cy
		out[i] = Point{b.cx + c*dx - s*dy, b.cy + s*dx + c*dy}
	}
	return orderCorners(out)
}

// foldQuarter folds an angle difference into (-π/4, π/4]: a region's axes
// repeat every quarter turn, so that is all a change between two calls
// can say (codes turn far less than 45° a frame).
func foldQuarter(a float64) float64 {
	a = math.Mod(a+math.Pi/4, math.Pi/2)
	if a <= 0 {
		a += math.Pi / 2
	}
	return a - math.Pi/4
}

// place puts decoded hit h where it is in this call, and reports whether
// it is still there. A region is not a symbol: one region may hold several
// symbols, or a symbol may be read through a region that takes in its
// surroundings (a label, a textured background), whose motion is not the
// symbol's. So each symbol follows a region of its own: the one this call
// located on it (its centre inside the symbol's last quad, its size within
// a factor ownSize of the symbol's; the nearest such), from the pose that
// region had when the symbol was last read (h.base, h.at) to its pose now.
// The quad then describes this frame, not the frame it was read in, and
// carrying it from the read rather than frame to frame keeps the region's
// noise from adding up.
//
// A followed symbol whose region is gone, or has jumped (another kind,
// grown or shrunk or moved by more than a video frame does: the picture
// changed), is not there any more: reporting it would put old corners, or
// another picture's value, on this frame. A symbol never followed (read
// through a region, with none of its own) keeps the move its region's
// cache entry gave it (serve).
func place(h *hit, regions []region) bool {
	if h.unknown {
		return true
	}
	var cx, cy float64
	for _, p := range h.quad {
		cx, cy = cx+p.X/4, cy+p.Y/4
	}
	// Sizes by the long side: a 1D symbol's quad spans only the lines
	// that read, which may be a thin band across its bars.
	size := longSide(&h.quad) / 2
	own, best := -1, math.Inf(1)
	for i := range regions {
		r := &regions[i]
		rs := max(r.hu, r.hv)
		if rs > ownSize*size || rs*ownSize < size {
			continue
		}
		if q := r.corners(); !inQuad(&h.quad, r.cx, r.cy) && !inQuad(&q, cx, cy) {
			continue
		}
		if d := math.Hypot(r.cx-cx, r.cy-cy); d < best {
			own, best = i, d
		}
	}
	follow := h.tracked && !h.fresh
	if own < 0 {
		h.fresh = false
		return !follow
	}
	r := &regions[own]
	now := pose{cx: r.mx, cy: r.my, size: math.Sqrt(float64(r.area)), turn: r.angle}
	if follow && (r.kind != h.regKind || math.Hypot(now.cx-h.now.cx, now.cy-h.now.cy) > maxJumpShift*size) {
		return false
	}
	switch {
	case follow && math.Abs(math.Log(now.size/h.now.size)) > maxRecut:
		// Grown or shrunk by more than a frame's motion: the labeling
		// cut the region differently (a neighbour joined it or left),
		// which says nothing of the symbol's size, nor of its motion:
		// the centroid moves towards the neighbour. Or the picture
		// changed, with another code in about the same place. Leave it
		// where it was and start again from this cut; the caller
		// re-reads it now (verify).
		now.turn = h.now.turn + foldQuarter(r.angle-h.regAngle)
		h.base, h.at, h.turned, h.verify = h.quad, now, true, true
	case follow:
		step := foldQuarter(r.angle - h.regAngle)
		now.turn = h.now.turn + step
		h.quad = h.at.carry(&h.base, now)
		h.turned = math.Abs(now.turn-h.at.turn) > followTurn || math.Abs(math.Log(now.size/h.at.size)) > followGrowth
		// Turned or moved further than a code does in a frame, but
		// not enough to be sure: another code, in about the same
		// place, after a cut? The caller re-reads it now.
		h.verify = math.Abs(step) > maxTurnStep || math.Hypot(now.cx-h.now.cx, now.cy-h.now.cy) > maxStepShift*size
	default:
		// A symbol just read starts from its quad; one found a region
		// of its own only now starts from where its entry moved it,
		// and stays due for a re-read if it was.
		h.turned = h.turned && !h.fresh
		h.base, h.at = h.quad, now
	}
	h.now, h.regAngle, h.regKind, h.tracked, h.fresh = now, r.angle, r.kind, true, false
	return true
}

// How far a symbol's region may move between two calls and still be
// taken for the same symbol moved: its centre by maxJumpShift of the
// symbol's half size. Codes in video move a few pixels a frame; a cut to
// another picture moves its regions by more, or changes their kind. A
// region grown or shrunk by more than a factor e^maxRecut in one call is
// taken for another cut of the same scene (see place).
//
// A region that turned by more than maxTurnStep (radians) or moved by more
// than maxStepShift of the symbol's half size in one call, short of those
// bounds, may hold another code than the one it held: its symbol is
// re-read at once (see Detector.verified).
const (
	maxJumpShift = 0.3
	maxRecut     = 0.1
	maxTurnStep  = 8 * math.Pi / 180
	maxStepShift = 0.15
)

// A symbol carried by a turn or growth of its region beyond these
// (radians; log of the scale) since it was read is re-read at the
// Params.FollowEvery pace: the located region's angle, measured at analysis
// resolution, is biased by a few degrees depending on the angle itself, so
// a carried turn drifts by pixels at the corners where a shift does not.
const (
	followTurn   = 2 * math.Pi / 180
	followGrowth = 0.03
)

// place places the hits of a region from first on (see place), drops
// those that are gone, and reports whether none was.
func (c *cache) place(d *Detector, regions []region, first int) bool {
	k := first
	for _, h := range d.hits[first:] {
		if place(&h, regions) && d.verified(&h) {
			d.hits[k] = h
			k++
		} else {
			c.end(h)
		}
	}
	all := k == len(d.hits)
	d.hits = d.hits[:k]
	return all
}

// placeRecut places the hits of a recut from first on (see recut). A
// symbol whose own region the recut swallowed is re-read in place, one
// zxing call on a crop of just the symbol, for its corners in this frame;
// if that fails it is not shown in this frame. Its tracking reference (the
// pose its region had when it was read) is kept for when its region is
// found again.
func (c *cache) placeRecut(d *Detector, regions []region, first int) {
	k := first
	for _, h := range d.hits[first:] {
		placed := h
		switch {
		case place(&placed, regions):
			h = placed
			if !d.verified(&h) {
				c.end(h)
				continue
			}
		case !d.reread(&h):
			c.end(h)
			continue
		}
		d.hits[k] = h
		k++
	}
	d.hits = d.hits[:k]
}

// verified re-reads h at once if place asked for it (h.verify), and
// reports whether the symbol is still there: a cut to another picture
// would otherwise show this symbol's value on another code for a frame or
// more.
func (d *Detector) verified(h *hit) bool {
	if !h.verify {
		return true
	}
	h.verify = false
	return d.reread(h)
}

// end remembers h, no longer reported, for a few calls (see track).
func (c *cache) end(h hit) {
	c.ended[c.nextEnded] = h
	c.nextEnded = (c.nextEnded + 1) % len(c.ended)
}

// ownSize bounds how much larger or smaller than a symbol the region it
// follows may be (located regions include the quiet zone and what pooling
// spreads; a region several times larger is the symbol's surroundings).
const ownSize = 2

// longSide is the length of the longest side of q.
func longSide(q *[4]Point) float64 {
	l := 0.0
	for i := range 4 {
		j := (i + 1) % 4
		l = max(l, math.Hypot(q[j].X-q[i].X, q[j].Y-q[i].Y))
	}
	return l
}

// track gives the hits of a region, from first on, their track ids: the
// cache is where a code is associated from call to call, so it is where
// its identity lives. A hit served from an earlier call keeps its id. A
// symbol read anew takes the id of the same symbol (format, value, near
// it) read earlier: in this call through another region, in the last
// call, or lately before it stopped being reported; else that of an
// undecoded code its region held (located first, read later: one code);
// else a new one. An undecoded region keeps its entry's id.
func (c *cache) track(d *Detector, first int, pe *cacheEntry) {
	var before []hit
	if pe != nil {
		before = c.prevHits[pe.first : pe.first+pe.n]
	}
	for i := first; i < len(d.hits); i++ {
		h := &d.hits[i]
		if h.track != 0 {
			continue
		}
		if h.unknown {
			for _, o := range before {
				if o.unknown {
					h.track = o.track
				}
			}
		} else {
			h.track = sameTrack(h, d.hits[:i], c.prevHits, c.ended[:])
			for k := 0; h.track == 0 && k < len(before); k++ {
				if o := &before[k]; o.unknown && !claimed(o.track, d.hits[first:i]) {
					h.track = o.track
				}
			}
		}
		if h.track == 0 {
			if ids := d.p.TrackIDs; ids != nil {
				h.track = ids.Next()
			} else {
				c.lastTrack++
				h.track = c.lastTrack
			}
		}
	}
}

// sameTrack returns the track of the first hit in sets that reads the
// same symbol as h, or 0.
func sameTrack(h *hit, sets ...[]hit) int64 {
	for _, hs := range sets {
		for i := range hs {
			if o := &hs[i]; o.track != 0 && !o.unknown && o.sameSymbol(h) {
				return o.track
			}
		}
	}
	return 0
}

// claimed says whether a hit in hs has track t.
func claimed(t int64, hs []hit) bool {
	for i := range hs {
		if hs[i].track == t {
			return true
		}
	}
	return false
}

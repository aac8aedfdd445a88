package barcode

// cache remembers the previous call's regions and what they decoded to, so
// that video frames re-decode a code only every VerifyEvery calls while it
// stays put, and retry an undecodable region only every RetryEvery calls.
// Two generations of entries and hits are swapped each call: no allocation
// in steady state.
type cache struct {
	prev, cur         []cacheEntry
	prevHits, curHits []hit
}

type cacheEntry struct {
	box      Rect    // bounding box of the region's rectangle
	cx, cy   float64 // region centre, to move cached quads along
	first, n int     // its hits in the generation's hit slice
	decoded  bool
	age      int // calls since the region was last decoded
}

// run decodes regions through the cache, appending to d.hits.
func (c *cache) run(d *Detector, regions []region) {
	p := &d.p
	c.cur = c.cur[:0]
	c.curHits = c.curHits[:0]
	// A busy scene spreads its decodes over several calls instead of
	// stalling one.
	budget := p.MaxDecodesPerCall
	for i := range regions {
		r := &regions[i]
		q := r.corners()
		box := boundsOf(&q)
		best, bestIoU := -1, p.CacheIoU
		for j := range c.prev {
			if v := iou(box, c.prev[j].box); v >= bestIoU {
				best, bestIoU = j, v
			}
		}
		first := len(d.hits)
		e := cacheEntry{box: box, cx: r.cx, cy: r.cy}
		var pe *cacheEntry
		due := true
		if best >= 0 {
			pe = &c.prev[best]
			limit := p.RetryEvery
			if pe.decoded {
				limit = p.VerifyEvery
			}
			due = pe.age+1 >= limit
		}
		switch {
		case !due || (budget == 0 && p.MaxDecodesPerCall > 0 && pe != nil):
			// Same place, recently tried (or due, but this call's decode
			// budget is spent: then it stays due and goes first next
			// call): take over its outcome, moved with the region.
			dx, dy := r.cx-pe.cx, r.cy-pe.cy
			for _, h := range c.prevHits[pe.first : pe.first+pe.n] {
				if h.unknown {
					h.quad = q
				} else {
					for k := range h.quad {
						h.quad[k].X += dx
						h.quad[k].Y += dy
					}
				}
				d.hits = append(d.hits, h)
			}
			e.decoded, e.age = pe.decoded, pe.age+1
		case budget == 0 && p.MaxDecodesPerCall > 0:
			// New region over budget: due next call.
			e.age = max(p.RetryEvery, p.VerifyEvery)
		default:
			budget--
			d.decodeRegion(r)
			for _, h := range d.hits[first:] {
				e.decoded = e.decoded || !h.unknown
			}
		}
		e.first = len(c.curHits)
		c.curHits = append(c.curHits, d.hits[first:]...)
		e.n = len(c.curHits) - e.first
		c.cur = append(c.cur, e)
	}
	c.prev, c.cur = c.cur, c.prev
	c.prevHits, c.curHits = c.curHits, c.prevHits
}

// intern returns text as a string, reusing the string of a previous result
// with the same bytes so that re-verifying a code allocates nothing.
func (c *cache) intern(format string, text []byte) string {
	for _, hs := range [2][]hit{c.prevHits, c.curHits} {
		for i := range hs {
			if !hs[i].unknown && hs[i].format == format && hs[i].text == string(text) {
				return hs[i].text
			}
		}
	}
	return string(text)
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

package barcodepass

// Clipping of highlight geometry to the part of a frame a layer shows
// (its crop), before it is mapped onto the canvas: a code cut by the crop
// is highlighted only where the layer shows it.

// maxClipped bounds the vertices of a convex polygon of up to 4 vertices
// clipped by a rectangle (each of the 4 edges adds at most one).
const maxClipped = 8

// clipPolygon clips the convex polygon in (up to 4 vertices) to the
// rectangle r (x, y, width, height; Sutherland-Hodgman, one edge at a
// time) and returns the vertices left, in order, in out's storage. A
// polygon that is not convex (corners a detector gave in a twisted order)
// is taken as its convex hull first: the result then always fits.
func clipPolygon(in [][2]float64, r [4]float64, out *[maxClipped][2]float64) [][2]float64 {
	var a, b [maxClipped][2]float64
	cur := hull(in, a[:0])
	for edge := range 4 {
		next := b[:0]
		for i := range cur {
			p, q := cur[i], cur[(i+1)%len(cur)]
			pin, qin := inside(p, r, edge), inside(q, r, edge)
			if pin && len(next) < maxClipped {
				next = append(next, p)
			}
			if pin != qin && len(next) < maxClipped {
				next = append(next, crossing(p, q, r, edge))
			}
		}
		a = b
		cur = a[:len(next)]
		if len(cur) == 0 {
			break
		}
	}
	return out[:copy(out[:], cur)]
}

// hull appends to dst the convex hull of pts (at most 4), counter-clockwise
// in x-right y-up terms (Andrew's monotone chain).
func hull(pts [][2]float64, dst [][2]float64) [][2]float64 {
	var sorted [4][2]float64
	n := copy(sorted[:], pts)
	p := sorted[:n]
	for i := 1; i < n; i++ { // insertion sort: four points
		for j := i; j > 0 && (p[j][0] < p[j-1][0] || p[j][0] == p[j-1][0] && p[j][1] < p[j-1][1]); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	if n < 3 {
		return append(dst, p...)
	}
	cross := func(o, a, b [2]float64) float64 { return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0]) }
	start := len(dst)
	for _, q := range p { // lower chain
		for len(dst)-start >= 2 && cross(dst[len(dst)-2], dst[len(dst)-1], q) <= 0 {
			dst = dst[:len(dst)-1]
		}
		dst = append(dst, q)
	}
	lower := len(dst) - start
	for i := n - 2; i >= 0; i-- { // upper chain
		q := p[i]
		for len(dst)-start > lower && cross(dst[len(dst)-2], dst[len(dst)-1], q) <= 0 {
			dst = dst[:len(dst)-1]
		}
		dst = append(dst, q)
	}
	return dst[:len(dst)-1] // the first point again
}

// inside reports whether p is on the inner side of r's edge (0 left, 1
// right, 2 top, 3 bottom).
func inside(p [2]float64, r [4]float64, edge int) bool {
	switch edge {
	case 0:
		return p[0] >= r[0]
	case 1:
		return p[0] <= r[0]+r[2]
	case 2:
		return p[1] >= r[1]
	}
	return p[1] <= r[1]+r[3]
}

// crossing is where segment pq crosses the line of r's edge.
func crossing(p, q [2]float64, r [4]float64, edge int) [2]float64 {
	var t float64
	switch edge {
	case 0:
		t = (r[0] - p[0]) / (q[0] - p[0])
	case 1:
		t = (r[0] + r[2] - p[0]) / (q[0] - p[0])
	case 2:
		t = (r[1] - p[1]) / (q[1] - p[1])
	default:
		t = (r[1] + r[3] - p[1]) / (q[1] - p[1])
	}
	return [2]float64{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}
}

// clipSegment clips segment pq to r (Liang-Barsky); ok is false when
// nothing of it is inside. a is p when p is inside, b is q when q is.
func clipSegment(p, q [2]float64, r [4]float64) (a, b [2]float64, ok bool) {
	t0, t1 := 0.0, 1.0
	d := [2]float64{q[0] - p[0], q[1] - p[1]}
	for _, c := range [4][2]float64{
		{-d[0], p[0] - r[0]}, {d[0], r[0] + r[2] - p[0]},
		{-d[1], p[1] - r[1]}, {d[1], r[1] + r[3] - p[1]},
	} {
		pk, qk := c[0], c[1]
		switch {
		case pk == 0:
			if qk < 0 {
				return a, b, false
			}
		case pk < 0:
			t0 = max(t0, qk/pk)
		default:
			t1 = min(t1, qk/pk)
		}
	}
	if t0 > t1 {
		return a, b, false
	}
	return [2]float64{p[0] + t0*d[0], p[1] + t0*d[1]}, [2]float64{p[0] + t1*d[0], p[1] + t1*d[1]}, true
}

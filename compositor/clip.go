package compositor

// Clipping of highlight geometry to the part of a frame a layer shows
// (its crop), before it is mapped onto the canvas: a code cut by the crop
// is highlighted only where the layer shows it.

// maxClipped bounds the vertices of a convex polygon of up to 4 vertices
// clipped by a rectangle (each of the 4 edges adds at most one).
const maxClipped = 8

// clipPolygon clips the convex polygon in (up to 4 vertices) to the
// rectangle r (x, y, width, height; Sutherland-Hodgman, one edge at a
// time) and returns the vertices left, in order, in out's storage.
func clipPolygon(in [][2]float64, r [4]float64, out *[maxClipped][2]float64) [][2]float64 {
	var a, b [maxClipped][2]float64
	cur := a[:copy(a[:], in)]
	for edge := range 4 {
		next := b[:0]
		for i := range cur {
			p, q := cur[i], cur[(i+1)%len(cur)]
			pin, qin := inside(p, r, edge), inside(q, r, edge)
			if pin {
				next = append(next, p)
			}
			if pin != qin {
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

package barcode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shadercast/shadercast/internal/barcodetest"
)

// locateFlood is the original labeling: a flood fill from every unlabeled
// candidate over its whole LinkRadius neighbourhood. locate must find the
// same components.
func locateFlood(l *locator, m *Mask, p *Params) []region {
	w, h := m.Width, m.Height
	n := w * h
	l.regions = l.regions[:0]
	class := make([]uint8, n)
	labels := make([]int32, n)
	queue := make([]int32, n)
	for i := 0; i < n; i++ {
		px := m.Pix[4*i : 4*i+4 : 4*i+4]
		c := uint8(0)
		if px[3] >= p.MinEnergy && px[0] >= p.MinCoherence1D {
			c = kindBars
		} else if px[3] >= p.MinEnergy2D && px[1] >= p.MinGrid2D {
			c = kindMatrix
		}
		class[i] = c
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
		// Raster order within the component, as locate hands it over.
		pix := queue[:tail]
		slices.Sort(pix)
		l.measureRef(m, p, pix, s)
	}
	l.mergeFragments(p)
	return l.regions
}

func sameRegions(t *testing.T, name string, got, want []region) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d regions, want %d", name, len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.kind != w.kind || g.area != w.area ||
			math.Abs(g.cx-w.cx) > 1e-6 || math.Abs(g.cy-w.cy) > 1e-6 || math.Abs(g.angle-w.angle) > 1e-9 ||
			math.Abs(g.hu-w.hu) > 1e-6 || math.Abs(g.hv-w.hv) > 1e-6 ||
			math.Abs(g.score-w.score) > 1e-9 || math.Abs(g.fill-w.fill) > 1e-9 {
			t.Errorf("%s: region %d = %+v, want %+v", name, i, g, w)
		}
	}
}

// TestLocateMatchesFlood: the chain and union-find labeling finds exactly
// the components of the flood fill, on photos and on random masks (dense
// and sparse candidates, random and near-uniform orientations), for several
// link radii and angle steps, one locator reused across masks and sizes.
func TestLocateMatchesFlood(t *testing.T) {
	var l, ref locator
	l.init()
	ref.init()
	variants := []struct {
		lr   int
		step float64
	}{{3, 15}, {1, 15}, {5, 8}, {2, 40}}
	check := func(name string, m *Mask) {
		t.Helper()
		p := DefaultParams()
		for _, v := range variants {
			p.LinkRadius, p.MaxAngleStep = v.lr, v.step
			want := append([]region(nil), locateFlood(&ref, m, &p)...)
			sameRegions(t, fmt.Sprintf("%s lr=%d step=%g", name, v.lr, v.step), l.locate(m, &p), want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		w, h := 16+rng.IntN(200), 16+rng.IntN(150)
		m := Mask{Width: w, Height: h, Scale: 1 + rng.IntN(3), Pix: make([]byte, 4*w*h)}
		density := rng.Float64()
		spread := 1 + rng.IntN(256) // angle noise around a drifting base
		base := rng.IntN(256)
		for k := 0; k < w*h; k++ {
			px := m.Pix[4*k : 4*k+4]
			if rng.Float64() < density {
				px[0], px[1], px[3] = byte(150+rng.IntN(106)), byte(100+rng.IntN(156)), byte(rng.IntN(256))
			}
			if k%97 == 0 {
				base = rng.IntN(256)
			}
			px[2] = byte(base + rng.IntN(spread))
		}
		check(fmt.Sprintf("random %d (%dx%d, density %.2f, spread %d)", i, w, h, density, spread), &m)
	}
	cases := barcodetest.Load(t)
	every := 6
	if testing.Short() {
		every = 30
	}
	var m Mask
	for k, c := range cases {
		if k%every != 0 {
			continue
		}
		img, err := barcodetest.LoadRGBA(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		ReferenceMask(img, DefaultParams(), &m)
		check(c.Name, &m)
	}
}

// measureRef (the original measure) fits the oriented rectangle of one component and keeps it when it
// passes the shape filters.
func (l *locator) measureRef(m *Mask, p *Params, pix []int32, s float64) {
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

package compositor

import (
	"image"
	"math"
	"testing"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/scene"
)

// TestLayersMatchReference: layers drawn on the GPU (placement, fit,
// crop, opacity, rotation, z-order) against the same scene composed in Go
// from the definitions: each canvas pixel's centre mapped back through
// each layer, the source sampled bilinearly with its edge clamped, and
// blended over what is below, in list order. Pixels within a pixel of a
// layer's edge may differ (coverage of a pixel cut by an edge).
func TestLayersMatchReference(t *testing.T) {
	const W, H = 320, 180
	wide := gltest.Gradient(200, 100, 255) // 2:1, opaque
	square := gltest.Checker(64, 64)       // with translucent squares
	strip := gltest.Gradient(90, 30, 200)  // translucent everywhere
	srcs := []*image.RGBA{wide, square, strip}
	layers := []struct {
		src int
		l   scene.Layer
	}{
		{0, scene.Layer{Rect: scene.Rect{0, 0, W, H}, Fit: scene.FitCover, Opacity: 1}},
		{1, scene.Layer{Rect: scene.Rect{20, 20, 100, 100}, Fit: scene.FitContain, Opacity: 0.6, Crop: scene.Crop{8, 0, 0, 8}}},
		{2, scene.Layer{Rect: scene.Rect{150, 40, 120, 60}, Fit: scene.FitStretch, Opacity: 1, Rotation: 30}},
		// The first source again, over the third: z-order by list position.
		{0, scene.Layer{Rect: scene.Rect{200, 100, 100, 70}, Fit: scene.FitContain, Opacity: 0.9, Rotation: -15, Crop: scene.Crop{0.1, 0.1, 0.1, 0.1}}},
	}
	bg := [4]uint8{40, 60, 80, 255}

	var got []byte
	err := testDevice.call(func() error {
		var ld layerDrawer
		if err := ld.setup(testDevice); err != nil {
			return err
		}
		defer ld.release(testDevice)
		texs := make([]Texture, len(srcs))
		for i, s := range srcs {
			texs[i] = testDevice.newTexture(s.Rect.Dx(), s.Rect.Dy(), gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
			gl.BindTexture(gl.TEXTURE_2D, texs[i].id)
			gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, int32(s.Rect.Dx()), int32(s.Rect.Dy()), gl.RGBA, gl.UNSIGNED_BYTE, bytesPtr(s.Pix))
		}
		defer func() {
			for i := range texs {
				testDevice.deleteTexture(&texs[i])
			}
		}()
		canvas, err := testDevice.newTarget(W, H, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
		if err != nil {
			return err
		}
		defer testDevice.deleteTarget(&canvas)
		gl.BindFramebuffer(gl.FRAMEBUFFER, canvas.fbo)
		gl.ClearColor(float32(bg[0])/255, float32(bg[1])/255, float32(bg[2])/255, float32(bg[3])/255)
		gl.Clear(gl.COLOR_BUFFER_BIT)
		for _, ly := range layers {
			s := srcs[ly.src]
			p, ok := scene.Place(&ly.l, s.Rect.Dx(), s.Rect.Dy())
			if !ok {
				t.Fatalf("layer %+v placed nothing", ly.l)
			}
			src := Picture{tex: texs[ly.src], w: s.Rect.Dx(), h: s.Rect.Dy()}
			if err := ld.draw(testDevice, &canvas, &src, p, ly.l.Opacity); err != nil {
				return err
			}
		}
		got = make([]byte, 4*W*H)
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, canvas.fbo)
		gl.ReadPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, bytesPtr(got))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	refs := make([]refLayer, len(layers))
	for i, ly := range layers {
		refs[i] = refLayer{srcs[ly.src], ly.l}
	}
	want, edge := composeReference(W, H, bg, refs)
	checkComposed(t, W, H, got, want, edge, 4)
}

// checkComposed compares RGBA pixels (the first channels of each) with a
// reference, off the layers' edges: at most 3 levels apart.
func checkComposed(t *testing.T, W, H int, got []byte, want [][4]float64, edge []bool, channels int) {
	t.Helper()
	bad, worst := 0, 0.0
	for i := range want {
		if edge[i] {
			continue
		}
		for k := 0; k < channels; k++ {
			d := math.Abs(float64(got[4*i+k]) - want[i][k])
			worst = math.Max(worst, d)
			if d > 3 {
				bad++
				if bad <= 5 {
					t.Errorf("pixel (%d, %d) channel %d: got %d, want %.0f", i%W, i/W, k, got[4*i+k], want[i][k])
				}
			}
		}
	}
	t.Logf("worst difference %.0f levels off the edges; %d values more than 3 off", worst, bad)
}

// refLayer is a layer of the Go reference: its source image and spec.
type refLayer struct {
	src *image.RGBA
	l   scene.Layer
}

// composeReference composes layers over bg in Go, from the definitions
// alone: each canvas pixel's centre is mapped back through each layer's
// turn and fit, the source sampled bilinearly with its edge clamped, and
// blended over what is below, in list order. edge marks the pixels within
// a pixel and a half of a layer's edge, whose coverage may differ.
func composeReference(W, H int, bg [4]uint8, layers []refLayer) (want [][4]float64, edge []bool) {
	want = make([][4]float64, W*H)
	edge = make([]bool, W*H)
	for i := range want {
		want[i] = [4]float64{float64(bg[0]), float64(bg[1]), float64(bg[2]), float64(bg[3])}
	}
	for _, ly := range layers {
		s := ly.src
		sw, sh := float64(s.Rect.Dx()), float64(s.Rect.Dy())
		l := ly.l
		// Crop, then fit, written out again rather than through Place.
		cl, ct, cr, cb := l.Crop[0], l.Crop[1], l.Crop[2], l.Crop[3]
		if cl <= 1 && ct <= 1 && cr <= 1 && cb <= 1 {
			cl, ct, cr, cb = cl*sw, ct*sh, cr*sw, cb*sh
		}
		sx, sy, vw, vh := cl, ct, sw-cl-cr, sh-ct-cb
		r := l.Rect
		dx, dy, dw, dh := r[0], r[1], r[2], r[3]
		switch l.Fit {
		case scene.FitContain:
			k := math.Min(r[2]/vw, r[3]/vh)
			dw, dh = vw*k, vh*k
			dx, dy = r[0]+(r[2]-dw)/2, r[1]+(r[3]-dh)/2
		case scene.FitCover:
			k := math.Max(r[2]/vw, r[3]/vh)
			sx, sy = sx+(vw-r[2]/k)/2, sy+(vh-r[3]/k)/2
			vw, vh = r[2]/k, r[3]/k
		}
		cx, cy := r[0]+r[2]/2, r[1]+r[3]/2
		c, sn := math.Cos(l.Rotation*math.Pi/180), math.Sin(l.Rotation*math.Pi/180)
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				// Back through the turn (clockwise on screen, y down).
				px, py := float64(x)+0.5-cx, float64(y)+0.5-cy
				qx, qy := px*c+py*sn+cx, -px*sn+py*c+cy
				fx, fy := (qx-dx)/dw, (qy-dy)/dh
				near := 1 / math.Min(dw, dh) * 1.5
				if fx > -near && fx < 1+near && fy > -near && fy < 1+near &&
					(fx < near || fx > 1-near || fy < near || fy > 1-near) {
					edge[y*W+x] = true
				}
				if fx < 0 || fx >= 1 || fy < 0 || fy >= 1 {
					continue
				}
				sc := sampleBilinear(s, sx+fx*vw-0.5, sy+fy*vh-0.5)
				a := sc[3] / 255 * l.Opacity
				o := &want[y*W+x]
				for k := 0; k < 3; k++ {
					o[k] = math.Round(sc[k]*a + o[k]*(1-a))
				}
				o[3] = math.Round(255*a + o[3]*(1-a))
			}
		}
	}
	return want, edge
}

// sampleBilinear samples img at (x, y) in pixel-centre coordinates
// (pixel i's centre at i), clamped to the edge, as GL's LINEAR filter
// with CLAMP_TO_EDGE does.
func sampleBilinear(img *image.RGBA, x, y float64) [4]float64 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	at := func(i, j int) [4]float64 {
		i, j = min(max(i, 0), w-1), min(max(j, 0), h-1)
		o := img.PixOffset(i, j)
		p := img.Pix[o : o+4]
		return [4]float64{float64(p[0]), float64(p[1]), float64(p[2]), float64(p[3])}
	}
	a, b := at(int(x0), int(y0)), at(int(x0)+1, int(y0))
	c, d := at(int(x0), int(y0)+1), at(int(x0)+1, int(y0)+1)
	var out [4]float64
	for k := range out {
		out[k] = (a[k]*(1-fx)+b[k]*fx)*(1-fy) + (c[k]*(1-fx)+d[k]*fx)*fy
	}
	return out
}

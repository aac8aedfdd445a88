package barcodetest

import (
	"bytes"
	"math"
	"testing"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/y4m"
)

// clipOf builds a clip of the first few coded photos and one false positive.
func clipOf(t *testing.T, hold int) (*Clip, []Case) {
	t.Helper()
	var cs []Case
	nfp := 0
	for _, c := range Load(t) {
		switch {
		case c.FalsePositive && nfp == 0:
			nfp++
		case !c.FalsePositive && len(cs)-nfp < 3:
		default:
			continue
		}
		cs = append(cs, c)
	}
	clip, err := NewClip(cs, ClipOptions{Hold: hold})
	if err != nil {
		t.Fatal(err)
	}
	return clip, cs
}

// TestClipWarpMatchesTransform: the rendered canvas shows each photo pixel
// where Transform says, so the corners Truth reports are where the code is.
func TestClipWarpMatchesTransform(t *testing.T) {
	clip, _ := clipOf(t, 7)
	f := clip.NewFrame()
	py, _, _ := f.Planes()
	for n := 0; n < clip.Frames; n += 3 {
		clip.Render(n, f)
		s := clip.Segments[clip.Segment(n)]
		img, err := LoadRGBA(s.Case.Path)
		if err != nil {
			t.Fatal(err)
		}
		m := clip.Transform(n)
		// Mean luma difference between photo pixels and the canvas pixels
		// Transform puts them on, and with the canvas shifted by a pixel or
		// two: the true map must fit best, and well.
		shifts := [][2]float64{{0, 0}, {-2, 0}, {2, 0}, {0, -2}, {0, 2}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}}
		var diff [9]float64
		cnt := 0
		for y := 0; y < s.Case.Height; y += 3 {
			for x := 0; x < s.Case.Width; x += 3 {
				o := y*img.Stride + 4*x
				l, _, _ := rgbToYUV709(float64(img.Pix[o]), float64(img.Pix[o+1]), float64(img.Pix[o+2]))
				cx, cy := m.Apply(float64(x)+0.5, float64(y)+0.5)
				for k, d := range shifts {
					diff[k] += math.Abs(float64(py[int(cy+d[1])*clip.Width+int(cx+d[0])]) - l)
				}
				cnt++
			}
		}
		for k := range shifts {
			diff[k] /= float64(cnt)
		}
		for k := 1; k < len(shifts); k++ {
			if diff[k] <= diff[0] {
				t.Errorf("frame %d (%s): the canvas fits the photo better shifted by %v (%.2f levels) than through Transform (%.2f)", n, s.Case.Name, shifts[k], diff[k], diff[0])
			}
		}
		if s.base >= 1 && diff[0] > 12 {
			t.Errorf("frame %d (%s): canvas differs from the photo through Transform by %.1f levels on average", n, s.Case.Name, diff[0])
		}
		for _, iv := range clip.Truth(n) {
			for _, p := range iv.Corners {
				if p[0] < canvasMargin-1 || p[1] < canvasMargin-1 || p[0] > float64(clip.Width-canvasMargin+1) || p[1] > float64(clip.Height-canvasMargin+1) {
					t.Errorf("frame %d: corner %v outside the margin", n, p)
				}
			}
		}
	}
}

// TestClipY4MRoundTrip: the written stream reads back through the service's
// reader as BT.709 limited 1280x720 at 30 fps with the same pixels and
// timestamps, and every frame's marker reads back through RGB.
func TestClipY4MRoundTrip(t *testing.T) {
	clip, _ := clipOf(t, 3)
	// From the second photo on, padded: stream frame k is clip frame
	// from-lead+k, blank outside [from, Frames).
	const lead, tail = 2, 3
	from := clip.Segments[1].Start
	var buf bytes.Buffer
	if err := clip.WriteY4MPadded(&buf, from, clip.Frames, lead, tail); err != nil {
		t.Fatal(err)
	}
	r, err := y4m.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Header(); h.Width != 1280 || h.Height != 720 || h.FrameRate != (y4m.Ratio{Num: 30, Den: 1}) || h.ColorSpace() != media.ColorSpaceBT709Limited {
		t.Fatalf("header %+v", h)
	}
	want := clip.NewFrame()
	for k := 0; k < lead+clip.Frames-from+tail; k++ {
		n := from - lead + k
		vf, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if n < from || n >= clip.Frames {
			clip.RenderBlank(n, want)
		} else {
			clip.Render(n, want)
		}
		got := make([]byte, len(want.Pix))
		if _, err := vf.CopyTo(got, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Pix) || vf.Timestamp() != clip.Timestamp(k) {
			t.Fatalf("frame %d differs (ts %d, want %d)", n, vf.Timestamp(), clip.Timestamp(k))
		}
		vf.Close()
	}
	if _, err := r.ReadFrame(); err == nil {
		t.Error("more frames than written")
	}
	for n := 0; n < 256; n++ {
		u, v := FrameMarker(n)
		r, g, b := YUV709ToRGB(backgroundY, u, v)
		if got := MarkerFromRGB(float64(r), float64(g), float64(b)); got != n {
			t.Fatalf("marker %d read back as %d", n, got)
		}
	}
}

// TestScoreVideo: the scorer's figures on detections made up from the
// truth, shifted, late, stale and spurious, where every figure is known.
func TestScoreVideo(t *testing.T) {
	clip, _ := clipOf(t, 10)
	dets := map[int][]Seen{}
	ref := map[int][]Seen{}
	for i, s := range clip.Segments {
		for n := s.Start; n < s.End; n++ {
			if s.Case.FalsePositive {
				if n == s.Start+5 {
					dets[n] = []Seen{{Format: "unknown"}}
				}
				continue
			}
			for _, iv := range clip.Truth(n) {
				var d Seen
				d.Format, d.RawValue = iv.Format, iv.Text
				// Rotated order, 3 px off to the right: error 3.
				for k := range 4 {
					d.Corners[k] = [2]float64{iv.Corners[(k+1)%4][0] + 3, iv.Corners[(k+1)%4][1]}
				}
				// Segment 1 is read from its 4th frame on; segment 2 never.
				if i == 0 || i == 1 && n >= s.Start+3 {
					dets[n] = append(dets[n], d)
				}
				if n == s.Start {
					ref[n] = append(ref[n], d)
				}
			}
			if i == 1 && n < s.Start+2 { // the first photo's code, stale
				dets[n] = append(dets[n], Seen{Format: clip.Segments[0].Case.Truth[0].Format, RawValue: clip.Segments[0].Case.Truth[0].Text})
			}
		}
	}
	r := ScoreVideo(clip, dets, ref)
	t.Log(r.String())
	if clip.Segments[2].Case.FalsePositive || !clip.Segments[3].Case.FalsePositive {
		t.Fatalf("clip order: %v %v", clip.Segments[2].Case.Name, clip.Segments[3].Case.Name)
	}
	n0, n1, n2 := len(clip.Segments[0].Case.Truth), len(clip.Segments[1].Case.Truth), len(clip.Segments[2].Case.Truth)
	if r.Codes != n0+n1+n2 || r.Read != n0+n1 || r.RefRead != r.Codes || r.ReadOfRef != n0+n1 {
		t.Errorf("codes %d read %d ref %d of ref %d; want %d %d %d %d", r.Codes, r.Read, r.RefRead, r.ReadOfRef, n0+n1+n2, n0+n1, n0+n1+n2, n0+n1)
	}
	if got := Percentile(r.FramesToRead, 1); got != 3 || Percentile(r.FramesToRead, 0) != 0 {
		t.Errorf("frames to read %v", r.FramesToRead)
	}
	if m, hi := Percentile(r.CornerErr, 0.5), Percentile(r.CornerErr, 1); math.Abs(m-3) > 1e-9 || math.Abs(hi-3) > 1e-9 {
		t.Errorf("corner error median %v max %v, want 3", m, hi)
	}
	if r.CodeFrames != 10*(n0+n1+n2) || r.CodeFramesBoxed != 10*n0+7*n1 {
		t.Errorf("code-frames %d boxed %d", r.CodeFrames, r.CodeFramesBoxed)
	}
	if r.Matched != 10*n0+7*n1 || r.FalsePosPhotos != 1 || r.FalsePosFrames != 1 || r.NotInView != 2 || r.StaleDetections != 2 || r.NotInViewFrames != 2 {
		t.Errorf("matched %d fp %d/%d not in view %d stale %d frames %d", r.Matched, r.FalsePosPhotos, r.FalsePosFrames, r.NotInView, r.StaleDetections, r.NotInViewFrames)
	}
}

package barcodepass

import (
	"context"
	"image"
	"slices"
	"testing"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/barcodetest"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
)

// TestBarcodeCornersFollowMotion plays the test scene as video through the
// barcode pass at the service's software defaults (analysis at 427 px) and
// checks every frame's QR corners against the scene's exact corners of
// that frame: a box served from an earlier frame lags a moving, rotating
// code. The scene is rendered at a low nominal rate so that it moves ten
// times as far per frame as at 30 fps (5° and up to 5 px per frame).
func TestBarcodeCornersFollowMotion(t *testing.T) {
	const w, h, frames = 1280, 720, 120
	pat, err := testsrc.New(w, h, 3)
	if err != nil {
		t.Fatal(err)
	}
	p := softwareBarcodePipeline(t)
	defer p.Close()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var out compositor.Output
	var errs []float64
	missed := 0
	tracks := map[string]int64{} // value -> its track id
	for i := range frames {
		pat.Render(i, img)
		fr := gltest.RGBAFrame(t, img, int64(i))
		if err := p.Process(context.Background(), fr, &out); err != nil {
			t.Fatal(err)
		}
		fr.Close()
		out.Frame.Close()
		for _, want := range pat.Barcodes(i) {
			if want.Format != "qr_code" {
				continue // 1D corners span only the scan lines that read
			}
			got := -1.0
			for _, d := range Barcodes(out.Results) {
				if d.Format == want.Format && d.RawValue == want.Value && len(d.CornerPoints) == 4 {
					got = barcodetest.CornerError(quadOf(d.CornerPoints), quadOf(want.Corners[:]))
				}
			}
			if got < 0 {
				missed++
				continue
			}
			errs = append(errs, got)
		}
		// Each code keeps one track id, its own, in every frame.
		for _, d := range Barcodes(out.Results) {
			if d.TrackID <= 0 {
				t.Errorf("frame %d: %s without a track id", i, d.RawValue)
			}
			if id, ok := tracks[d.RawValue]; ok && id != d.TrackID {
				t.Errorf("frame %d: %s changed track id %d -> %d", i, d.RawValue, id, d.TrackID)
			}
			tracks[d.RawValue] = d.TrackID
		}
	}
	if len(tracks) != 3 || tracks[testsrc.QRValue] == tracks[testsrc.EAN13Value] || tracks[testsrc.QRValue] == tracks[testsrc.Code128Value] || tracks[testsrc.EAN13Value] == tracks[testsrc.Code128Value] {
		t.Errorf("track ids %v: want three distinct ones", tracks)
	}
	if len(errs) == 0 {
		t.Fatal("the QR code was never read")
	}
	med, p95 := barcodetest.Percentile(errs, 0.5), barcodetest.Percentile(errs, 0.95)
	t.Logf("QR corner error over %d frames (worst corner): median %.1f px, p95 %.1f px, max %.1f px; not reported in %d frames",
		len(errs), med, p95, slices.Max(errs), missed)
	if med > 3 || p95 > 8 {
		t.Errorf("corner error median %.1f px (want ≤ 3), p95 %.1f px (want ≤ 8)", med, p95)
	}
	if missed > frames/20 {
		t.Errorf("QR code not reported in %d of %d frames", missed, frames)
	}
}

// TestBarcodeVideoCorners plays photos of 2D codes (QR, DataMatrix: the
// corners zxing reports are the symbol's own; for 1D codes they span the
// lines that read) as moving 720p30 video (barcodetest.Clip: rocking,
// panning, zooming, each held 30 frames, then cut to the next) through the
// barcode pass at the service's software defaults, and scores every
// frame's detections against that frame's true corners. Every third such
// photo and two without codes keep the run short.
func TestBarcodeVideoCorners(t *testing.T) {
	var cs []barcodetest.Case
	n2D, fp := 0, 0
	for _, c := range barcodetest.Load(t) {
		switch {
		case c.FalsePositive:
			if fp++; fp > 2 {
				continue
			}
		case !only2D(c):
			continue
		default:
			if n2D++; n2D%3 != 1 {
				continue
			}
		}
		cs = append(cs, c)
	}
	r := playClip(t, cs, 30)
	med, p95 := barcodetest.Percentile(r.CornerErr, 0.5), barcodetest.Percentile(r.CornerErr, 0.95)
	t.Logf("%d photos, %d frames:\n%s", len(cs), r.Matched, r)
	if med > 3 || p95 > 8 {
		t.Errorf("corner error median %.1f px (want ≤ 3), p95 %.1f px (want ≤ 8)", med, p95)
	}
	if r.StaleDetections > 0 || r.NotInView > 0 {
		t.Errorf("%d detections of values not in view (%d of the previous photo)", r.NotInView, r.StaleDetections)
	}
}

// playClip renders a clip of cases, each held for hold frames, plays it
// through a barcode pass at the service's software defaults (analysis at
// 427 px) and scores what each frame reported.
func playClip(t *testing.T, cs []barcodetest.Case, hold int) barcodetest.VideoReport {
	clip, err := barcodetest.NewClip(cs, barcodetest.ClipOptions{Hold: hold})
	if err != nil {
		t.Fatal(err)
	}
	p := softwareBarcodePipeline(t)
	defer p.Close()
	src := clip.NewFrame()
	fr, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: clip.Width, CodedHeight: clip.Height})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	dets := map[int][]barcodetest.Seen{}
	values := map[int64]string{} // track id -> the value read under it
	var out compositor.Output
	for n := range clip.Frames {
		clip.Render(n, src)
		py, pu, pv := src.Planes()
		for i, pl := range [3][]byte{py, pu, pv} {
			dst, _ := fr.Plane(i)
			w := clip.Width >> min(i, 1)
			for y := range len(pl) / w {
				copy(dst.Data[y*dst.Stride:][:w], pl[y*w:][:w])
			}
		}
		if err := p.Process(context.Background(), fr, &out); err != nil {
			t.Fatal(err)
		}
		out.Frame.Close()
		for _, d := range Barcodes(out.Results) {
			dets[n] = append(dets[n], barcodetest.Seen{Format: d.Format, RawValue: d.RawValue, Corners: quadOf(d.CornerPoints)})
			// A track is one code: it never changes value.
			if v, ok := values[d.TrackID]; ok && d.RawValue != "" && v != "" && v != d.RawValue {
				t.Errorf("frame %d: track %d read %q, earlier %q", n, d.TrackID, d.RawValue, v)
			}
			if d.RawValue != "" {
				values[d.TrackID] = d.RawValue
			}
		}
	}
	return barcodetest.ScoreVideo(clip, dets, nil)
}

func quadOf(pts []barcode.Point) [4][2]float64 {
	var q [4][2]float64
	for i, p := range pts[:4] {
		q[i] = [2]float64{p.X, p.Y}
	}
	return q
}

// only2D says whether all of c's codes are QR or DataMatrix.
func only2D(c barcodetest.Case) bool {
	for _, tr := range c.Truth {
		if tr.Format != "qr_code" && tr.Format != "data_matrix" {
			return false
		}
	}
	return len(c.Truth) > 0
}

// softwareBarcodePipeline is an RGBA pipeline with only the barcode pass,
// analysing at the service's software-renderer default (427 px, see
// service.New), where the video figures are set.
func softwareBarcodePipeline(t testing.TB) *compositor.Pipeline {
	t.Helper()
	params := barcode.DefaultParams()
	params.MaxAnalysisSide = 427
	p, err := compositor.NewPipeline(testDevice, compositor.Config{Output: compositor.OutputRGBA}, New(params))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/codetest"
)

// layerDetections is a detections event as a scenes programme sends it.
type layerDetections struct {
	Barcodes []struct {
		Format       string `json:"format"`
		RawValue     string `json:"rawValue"`
		TrackID      int64  `json:"trackId"`
		CornerPoints []struct{ X, Y float64 }
		Source       string `json:"source"`
		InSource     *struct {
			Width, Height int
			BoundingBox   struct{ X, Y, Width, Height float64 }
			CornerPoints  []struct{ X, Y float64 }
		} `json:"inSource"`
	} `json:"barcodes"`
}

// TestScenesLayerBarcode: the barcode pass in a layer's own chain (issue
// 11's example: "cam" with "passes": ["barcode"]) finds the code in the
// source at the source's size, reports it with the source's name, in
// source pixels and in canvas pixels where the layer shows it (the
// layer's mapping of the source ones), highlights it there, and logs it
// under the source; another layer of the same source without the pass
// reports nothing. A reload naming a pass that does not exist is refused
// with its place in the file, and the last good version stays.
func TestScenesLayerBarcode(t *testing.T) {
	dir := t.TempDir()
	// 480x320, light grey, the code at (260, 100).
	const ox, oy = 260, 100
	img := codetest.QROnGrey(t, "dock 4", 160, 480, 320, ox, oy, 190)
	pic := filepath.Join(dir, "cam.png")
	writePNG(t, pic, img)
	file := filepath.Join(dir, "scenes.json")
	version := func(pass string) string {
		// cam at 0.75 size at (200, 80), and again small without passes.
		return fmt.Sprintf(`{"canvas": {"width": 640, "height": 360, "fps": 15},
 "sources": {"bg": {"type": "color", "color": "#203040"}, "cam": {"type": "image", "path": %q}},
 "scenes": {"main": {"layers": [{"source": "bg"},
   {"source": "cam", "rect": [10, 10, 120, 80]},
   {"source": "cam", "rect": [200, 80, 360, 240], "passes": [%q]},
   {"source": "bg", "rect": [580, 300, 60, 60], "passes": ["invert"]}]}},
 "program": "main"}`, pic, pass)
	}
	if err := os.WriteFile(file, []byte(version("barcode")), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file)
	sse := subscribe(t, s, "")
	var ev layerDetections
	eventually(t, 20*time.Second, "a detections event", func() bool {
		e := sse.last("detections")
		return e != "" && json.Unmarshal([]byte(e), &ev) == nil && len(ev.Barcodes) > 0
	})
	if len(ev.Barcodes) != 1 {
		t.Fatalf("%d barcodes, want the one the layer with the pass shows: %+v", len(ev.Barcodes), ev.Barcodes)
	}
	b := ev.Barcodes[0]
	if b.Source != "cam" || b.RawValue != "dock 4" || b.Format != "qr_code" || b.InSource == nil || b.TrackID == 0 {
		t.Fatalf("barcode %+v", b)
	}
	in := b.InSource
	if in.Width != 480 || in.Height != 320 || len(in.CornerPoints) != 4 || len(b.CornerPoints) != 4 {
		t.Fatalf("in source: %+v", in)
	}
	bb := in.BoundingBox
	if bb.X < ox-3 || bb.Y < oy-3 || bb.X+bb.Width > ox+163 || bb.Y+bb.Height > oy+163 || bb.Width < 100 {
		t.Errorf("box in source pixels %+v, want within the code at (%d, %d)+160", bb, ox, oy)
	}
	// The layer shows the source at 0.75 from (200, 80).
	for i, c := range in.CornerPoints {
		x, y := 200+0.75*c.X, 80+0.75*c.Y
		if got := b.CornerPoints[i]; math.Abs(got.X-x) > 0.01 || math.Abs(got.Y-y) > 0.01 {
			t.Errorf("corner %d on the canvas (%.2f, %.2f), want the layer's (%.2f, %.2f)", i, got.X, got.Y, x, y)
		}
	}
	// Highlighted where the layer shows it: green over the light grey.
	cx, cy := int(200+0.75*(ox+80)), int(80+0.75*(oy+80))
	eventually(t, 5*time.Second, "the highlight on the canvas", func() bool {
		got := patch(s.snapshot(t, ""), cx, cy)
		return got[1] > got[0]+20 && got[1] > got[2]+20
	})
	// A filter in a layer's chain: the background inverted there.
	eventually(t, 5*time.Second, "the inverted layer", colourIs(t, s, 610, 330, [3]float64{255 - 0x20, 255 - 0x30, 255 - 0x40}))
	var scans struct {
		Barcodes []struct{ Source, RawValue string }
	}
	s.getJSON(t, "api/barcodes", "", &scans)
	if len(scans.Barcodes) != 1 || scans.Barcodes[0].Source != "cam" || scans.Barcodes[0].RawValue != "dock 4" {
		t.Errorf("scan log %+v", scans.Barcodes)
	}

	// A pass that does not exist: refused, with its place.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(version("nosuchpass")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the bad version's error", func() bool { return sse.count("scenes-error") > 0 })
	if e := sse.last("scenes-error"); !strings.Contains(e, "scenes.main.layers[2].passes") || !strings.Contains(e, "nosuchpass") {
		t.Errorf("scenes-error event: %s", e)
	}
	n := sse.count("detections")
	eventually(t, 5*time.Second, "detections after the refused version", func() bool { return sse.count("detections") > n+3 })
	if err := json.Unmarshal([]byte(sse.last("detections")), &ev); err != nil || len(ev.Barcodes) != 1 || ev.Barcodes[0].TrackID != b.TrackID {
		t.Errorf("after the refused version: %+v (track %d before)", ev.Barcodes, b.TrackID)
	}
}

// TestScenesISFSource: an isf source renders its ISF generator on the GPU
// at its own size with the inputs the file gives, and is placed like any
// source (here twice, once through a layer pass); editing the shader file
// reloads it in place, a broken edit keeps the last good one and says
// why, and a bad input value refuses the scenes version by its place.
func TestScenesISFSource(t *testing.T) {
	dir := t.TempDir()
	shader := filepath.Join(dir, "ramp.fs")
	writeShader := func(blue string) {
		t.Helper()
		src := `/*{"DESCRIPTION": "a ramp", "INPUTS": [{"NAME": "level", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0, "MAX": 1}]}*/
void main() {
	gl_FragColor = vec4(level, isf_FragNormCoord.x, ` + blue + `, 1.0);
}
`
		tmp := shader + ".tmp"
		if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, shader); err != nil {
			t.Fatal(err)
		}
	}
	writeShader("0.2")
	file := filepath.Join(dir, "scenes.json")
	version := func(level string) string {
		return fmt.Sprintf(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"gen": {"type": "isf", "path": %q, "width": 160, "height": 90, "inputs": {"level": %s}}},
 "scenes": {"main": {"layers": [{"source": "gen", "fit": "stretch"},
   {"source": "gen", "rect": [0, 0, 80, 45], "fit": "stretch", "passes": ["invert"]}]}},
 "program": "main"}`, shader, level)
	}
	if err := os.WriteFile(file, []byte(version("0.8")), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file)
	sse := subscribe(t, s, "")
	// At x 240 of 320 the ramp is 0.75 across.
	eventually(t, 20*time.Second, "the generator's picture", colourIs(t, s, 240, 120, [3]float64{0.8 * 255, 0.75 * 255, 0.2 * 255}))
	// The inverted copy: at x 60 of its 80 the ramp is 0.75 too.
	eventually(t, 5*time.Second, "the inverted copy", colourIs(t, s, 60, 30, [3]float64{255 - 0.8*255, 255 - 0.75*255, 255 - 0.2*255}))
	var v struct {
		SourceStates map[string]struct{ State string } `json:"sourceStates"`
	}
	s.getJSON(t, "api/scenes", "", &v)
	if v.SourceStates["gen"].State != "live" {
		t.Errorf("source states %+v", v.SourceStates)
	}

	// Edited: blue goes up.
	writeShader("0.9")
	eventually(t, 10*time.Second, "the edited shader", colourIs(t, s, 240, 120, [3]float64{0.8 * 255, 0.75 * 255, 0.9 * 255}))
	// Broken: the last good one stays, and the error is said.
	writeShader("nonsense(")
	eventually(t, 10*time.Second, "the broken shader's error", func() bool { return sse.count("scenes-error") > 0 })
	if e := sse.last("scenes-error"); !strings.Contains(e, "sources.gen") || !strings.Contains(e, "ramp.fs") {
		t.Errorf("scenes-error event: %s", e)
	}
	time.Sleep(500 * time.Millisecond)
	if !colourIs(t, s, 240, 120, [3]float64{0.8 * 255, 0.75 * 255, 0.9 * 255})() {
		t.Error("a broken shader changed the picture")
	}
	writeShader("0.2")
	eventually(t, 10*time.Second, "the fixed shader", colourIs(t, s, 240, 120, [3]float64{0.8 * 255, 0.75 * 255, 0.2 * 255}))

	// An input of the wrong type: the version is refused by its place.
	n := sse.count("scenes-error")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(version(`"loud"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the bad input's error", func() bool { return sse.count("scenes-error") > n })
	if e := sse.last("scenes-error"); !strings.Contains(e, "sources.gen") || !strings.Contains(e, "level") {
		t.Errorf("scenes-error event: %s", e)
	}
	if !colourIs(t, s, 240, 120, [3]float64{0.8 * 255, 0.75 * 255, 0.2 * 255})() {
		t.Error("a refused version changed the picture")
	}
}

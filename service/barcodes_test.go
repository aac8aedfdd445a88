package service

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shadercast/shadercast/barcode"
)

// The scan log keeps a code's value through frames whose read failed, marks
// it out of view once it is gone, and the events carry the track.
func TestScanLog(t *testing.T) {
	s := &Service{scans: newScanLog(), hub: newHub()}
	s.inputs.active = "testsrc"
	sub := s.hub.subscribe()
	box := barcode.Rect{X: 100, Y: 100, Width: 80, Height: 80}
	s.trackDetections(0, []Detection{{DetectedBarcode: barcode.DetectedBarcode{TrackID: 5, BoundingBox: box, Format: "qr_code", RawValue: "v"}}})
	// A failed read in another box (the value is not carried to it).
	s.trackDetections(33_333, []Detection{{DetectedBarcode: barcode.DetectedBarcode{TrackID: 5, BoundingBox: barcode.Rect{X: 300, Y: 100, Width: 40, Height: 40}, Format: "unknown"}}})
	v := s.scans.view(time.Now())
	if len(v.Barcodes) != 1 || v.Barcodes[0].RawValue != "v" || v.Barcodes[0].Frames != 2 || !v.Barcodes[0].InView || v.InView != 1 {
		t.Fatalf("scan log %+v", v)
	}
	s.trackDetections(33_333+barcode.DefaultGoneAfter+1, nil)
	v = s.scans.view(time.Now())
	if len(v.Barcodes) != 1 || v.Barcodes[0].InView || v.InView != 0 || v.Barcodes[0].RawValue != "v" {
		t.Fatalf("scan log after the code went %+v", v)
	}
	var names []string
	for sub.q.Len() > 0 {
		e := <-sub.q.C()
		var te TrackEvent
		if err := json.Unmarshal(e.data, &te); err != nil || te.ID != 5 || te.Source != "testsrc" || te.RawValue != "v" {
			t.Fatalf("%s event %s", e.name, e.data)
		}
		names = append(names, e.name)
	}
	if len(names) != 2 || names[0] != "barcode-appeared" || names[1] != "barcode-gone" {
		t.Fatalf("events %v, want appeared then gone", names)
	}
}

// A code a layer's pass found is logged with the layer's source, not the
// input on air; a failed read in its box gets the value read before.
func TestScanLogSource(t *testing.T) {
	s := &Service{scans: newScanLog(), hub: newHub()}
	s.inputs.active = "scenes"
	box := barcode.Rect{X: 10, Y: 10, Width: 50, Height: 50}
	s.trackDetections(0, []Detection{{DetectedBarcode: barcode.DetectedBarcode{TrackID: 9, BoundingBox: box, Format: "qr_code", RawValue: "dock"}, Source: "cam"}})
	d := []Detection{{DetectedBarcode: barcode.DetectedBarcode{TrackID: 9, BoundingBox: box, Format: "unknown"}, Source: "cam"}}
	s.trackDetections(33_333, d)
	if d[0].RawValue != "dock" || d[0].Format != "qr_code" {
		t.Errorf("carried value: %+v", d[0].DetectedBarcode)
	}
	if v := s.scans.view(time.Now()); len(v.Barcodes) != 1 || v.Barcodes[0].Source != "cam" {
		t.Fatalf("scan log %+v", v)
	}
}

package barcode

import (
	"fmt"
	"testing"
)

func det(x, y, w, h float64, format, value string) DetectedBarcode {
	return DetectedBarcode{BoundingBox: Rect{X: x, Y: y, Width: w, Height: h}, Format: format, RawValue: value}
}

func kinds(evs []TrackEvent) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("%s:%d:%s ", e.Kind, e.Track.ID, e.Track.RawValue)
	}
	return s
}

const frame = 33_333 // µs at 30 fps

// A code moving across the frame, read in some frames only, keeps one id;
// its value reaches the frames whose read failed; it is reported once
// appearing, once read, once gone.
func TestTrackerFollowsAMovingCode(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	var id uint64
	var ts int64
	for i := 0; i < 60; i++ {
		ts = int64(i) * frame
		d := det(100+float64(i)*12, 200+float64(i)*3, 120, 120, "unknown", "")
		if i >= 3 && i%4 != 0 { // read from frame 3 on, failing every 4th
			d.Format, d.RawValue = "qr_code", "hello"
		}
		ds := []DetectedBarcode{d}
		evs := tr.Update(ts, ds)
		switch {
		case i == 0:
			if len(evs) != 1 || evs[0].Kind != TrackAppeared || evs[0].Track.RawValue != "" {
				t.Fatalf("frame 0: %s, want one unread appearance", kinds(evs))
			}
			id = ds[0].TrackID
		case i == 3:
			if len(evs) != 1 || evs[0].Kind != TrackRead || evs[0].Track.RawValue != "hello" || evs[0].Track.ID != id {
				t.Fatalf("frame 3: %s, want the read of track %d", kinds(evs), id)
			}
		default:
			if len(evs) != 0 {
				t.Fatalf("frame %d: %s, want nothing new", i, kinds(evs))
			}
		}
		if ds[0].TrackID != id || id == 0 {
			t.Fatalf("frame %d: track %d, want %d", i, ds[0].TrackID, id)
		}
		if i > 3 && (ds[0].RawValue != "hello" || ds[0].Format != "qr_code") {
			t.Fatalf("frame %d: %q %q, want the value carried over", i, ds[0].Format, ds[0].RawValue)
		}
	}
	// Out of view: gone after GoneAfter, not before.
	for i := 1; ; i++ {
		evs := tr.Update(ts+int64(i)*frame, nil)
		if int64(i)*frame <= DefaultGoneAfter {
			if len(evs) != 0 {
				t.Fatalf("%d frames unseen: %s, want the track kept", i, kinds(evs))
			}
			continue
		}
		if len(evs) != 1 || evs[0].Kind != TrackGone || evs[0].Track.ID != id || evs[0].Track.Frames != 60 {
			t.Fatalf("%d frames unseen: %s, want track %d gone after its 60 frames", i, kinds(evs), id)
		}
		break
	}
	if tr.Live() != 0 {
		t.Fatalf("%d live tracks after the code left", tr.Live())
	}
}

// A cut to another picture with an unread code in about the same place
// keeps the track (by position) but not the value: the old value is not
// shown on a code nobody has read.
func TestTrackerCutDoesNotCarryValue(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	ds := []DetectedBarcode{det(500, 300, 200, 200, "qr_code", "first picture")}
	tr.Update(0, ds)
	ds = []DetectedBarcode{det(540, 330, 150, 120, "unknown", "")} // another code, another size
	tr.Update(frame, ds)
	if ds[0].RawValue != "" {
		t.Fatalf("a different box after a cut took the value %q", ds[0].RawValue)
	}
	ds = []DetectedBarcode{det(500, 300, 200, 200, "qr_code", "first picture")}
	tr.Update(2*frame, ds)
	ds = []DetectedBarcode{det(500, 300, 200, 200, "unknown", "")}
	tr.Update(7*frame, ds) // 5 frames unseen
	if ds[0].RawValue != "" {
		t.Fatalf("the value was carried over a %d µs gap", 5*frame)
	}
}

// Two codes side by side, one the same value as the other, swapped order
// in the list each frame: each keeps its id. A different value where a
// track was is a new code, not the old one misread.
func TestTrackerKeepsCodesApart(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	a := det(100, 100, 80, 80, "qr_code", "same")
	b := det(400, 100, 80, 80, "qr_code", "same")
	ds := []DetectedBarcode{a, b}
	tr.Update(0, ds)
	ida, idb := ds[0].TrackID, ds[1].TrackID
	if ida == idb {
		t.Fatal("two codes share a track")
	}
	for i := 1; i < 10; i++ {
		a.BoundingBox.X += 5
		b.BoundingBox.X -= 5
		ds = []DetectedBarcode{b, a}
		if evs := tr.Update(int64(i)*frame, ds); len(evs) != 0 {
			t.Fatalf("frame %d: %s", i, kinds(evs))
		}
		if ds[0].TrackID != idb || ds[1].TrackID != ida {
			t.Fatalf("frame %d: ids %d %d, want %d %d", i, ds[0].TrackID, ds[1].TrackID, idb, ida)
		}
	}
	// In a's place, another value: a new track; a is gone later.
	c := a
	c.RawValue = "other"
	ds = []DetectedBarcode{c, b}
	evs := tr.Update(10*frame, ds)
	if len(evs) != 1 || evs[0].Kind != TrackAppeared || ds[0].TrackID == ida {
		t.Fatalf("a new value in place: %s (track %d)", kinds(evs), ds[0].TrackID)
	}
}

// A read code that jumps (a cut to another picture of it) keeps its id by
// its value; an unread box far away is another code.
func TestTrackerJumps(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	ds := []DetectedBarcode{det(50, 50, 60, 60, "ean_13", "4006381333931")}
	tr.Update(0, ds)
	id := ds[0].TrackID
	ds = []DetectedBarcode{det(900, 500, 90, 40, "ean_13", "4006381333931")}
	if evs := tr.Update(frame, ds); len(evs) != 0 || ds[0].TrackID != id {
		t.Fatalf("jump: %s, track %d want %d", kinds(evs), ds[0].TrackID, id)
	}
	ds = []DetectedBarcode{det(100, 600, 60, 60, "unknown", "")}
	if evs := tr.Update(2*frame, ds); len(evs) != 1 || ds[0].TrackID == id || ds[0].RawValue != "" {
		t.Fatalf("far unread box: %s, track %d value %q", kinds(evs), ds[0].TrackID, ds[0].RawValue)
	}
}

// Live tracks are bounded: the one unseen longest goes to make room.
func TestTrackerBounded(t *testing.T) {
	tr := NewTracker(TrackerConfig{MaxTracks: 4})
	for i := 0; i < 10; i++ {
		ds := []DetectedBarcode{det(float64(i)*200, 0, 50, 50, "code_128", fmt.Sprint(i))}
		evs := tr.Update(int64(i), ds)
		if i >= 4 && (len(evs) != 2 || evs[0].Kind != TrackGone || evs[0].Track.RawValue != fmt.Sprint(i-4)) {
			t.Fatalf("code %d: %s, want code %d gone to make room", i, kinds(evs), i-4)
		}
		if tr.Live() > 4 {
			t.Fatalf("%d live tracks, max 4", tr.Live())
		}
	}
}

func TestTrackerAllocatesNothing(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	ds := []DetectedBarcode{det(100, 100, 80, 80, "qr_code", "a"), det(400, 100, 80, 80, "unknown", ""), det(700, 300, 200, 60, "code_128", "b")}
	var ts int64
	step := func() {
		ts += frame
		for i := range ds {
			ds[i].BoundingBox.X += 1
		}
		tr.Update(ts, ds)
	}
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

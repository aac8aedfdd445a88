package barcode

import (
	"fmt"
	"testing"
)

func det(id int64, x, y, w, h float64, format, value string) DetectedBarcode {
	return DetectedBarcode{TrackID: id, BoundingBox: Rect{X: x, Y: y, Width: w, Height: h}, Format: format, RawValue: value}
}

func kinds(evs []TrackEvent) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("%s:%d:%s ", e.Kind, e.Track.ID, e.Track.RawValue)
	}
	return s
}

const frame = 33_333 // µs at 30 fps

// A code moving across the frame, read in some frames only: it appears
// once, is read once, its value reaches the frames whose read failed, and
// it goes once, GoneAfter after its last frame.
func TestTrackerLifeOfACode(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	var ts int64
	for i := 0; i < 60; i++ {
		ts = int64(i) * frame
		d := det(7, 100+float64(i)*12, 200+float64(i)*3, 120, 120, "unknown", "")
		if i >= 3 && i%4 != 0 { // read from frame 3 on, failing every 4th
			d.Format, d.RawValue = "qr_code", "hello"
		}
		ds := []DetectedBarcode{d, det(0, 0, 0, 10, 10, "qr_code", "untracked")}
		evs := tr.Update(ts, ds)
		switch {
		case i == 0:
			if len(evs) != 1 || evs[0].Kind != TrackAppeared || evs[0].Track.ID != 7 || evs[0].Track.RawValue != "" {
				t.Fatalf("frame 0: %s, want one unread appearance of track 7", kinds(evs))
			}
		case i == 3:
			if len(evs) != 1 || evs[0].Kind != TrackRead || evs[0].Track.RawValue != "hello" || evs[0].Track.ID != 7 {
				t.Fatalf("frame 3: %s, want the read of track 7", kinds(evs))
			}
		default:
			if len(evs) != 0 {
				t.Fatalf("frame %d: %s, want nothing new", i, kinds(evs))
			}
		}
		if i > 3 && (ds[0].RawValue != "hello" || ds[0].Format != "qr_code") {
			t.Fatalf("frame %d: %q %q, want the value carried over", i, ds[0].Format, ds[0].RawValue)
		}
	}
	for i := 1; ; i++ {
		evs := tr.Update(ts+int64(i)*frame, nil)
		if int64(i)*frame <= DefaultGoneAfter {
			if len(evs) != 0 {
				t.Fatalf("%d frames unseen: %s, want the track kept", i, kinds(evs))
			}
			continue
		}
		if len(evs) != 1 || evs[0].Kind != TrackGone || evs[0].Track.ID != 7 || evs[0].Track.Frames != 60 {
			t.Fatalf("%d frames unseen: %s, want track 7 gone after its 60 frames", i, kinds(evs))
		}
		break
	}
	if tr.Live() != 0 {
		t.Fatalf("%d live tracks after the code left", tr.Live())
	}
}

// A value is carried only to the same box a moment later: not to another
// box the detector kept in the track, not over a gap.
func TestTrackerCarriesValuesCautiously(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	ds := []DetectedBarcode{det(1, 500, 300, 200, 200, "qr_code", "first picture")}
	tr.Update(0, ds)
	ds = []DetectedBarcode{det(1, 540, 330, 150, 120, "unknown", "")}
	tr.Update(frame, ds)
	if ds[0].RawValue != "" {
		t.Fatalf("a different box took the value %q", ds[0].RawValue)
	}
	ds = []DetectedBarcode{det(1, 500, 300, 200, 200, "qr_code", "first picture")}
	tr.Update(2*frame, ds)
	ds = []DetectedBarcode{det(1, 500, 300, 200, 200, "unknown", "")}
	tr.Update(7*frame, ds) // 5 frames unseen
	if ds[0].RawValue != "" {
		t.Fatalf("the value was carried over a %d µs gap", 5*frame)
	}
}

// Live tracks are bounded: the one unseen longest goes to make room.
func TestTrackerBounded(t *testing.T) {
	tr := NewTracker(TrackerConfig{MaxTracks: 4})
	for i := 0; i < 10; i++ {
		ds := []DetectedBarcode{det(int64(i+1), float64(i)*200, 0, 50, 50, "code_128", fmt.Sprint(i))}
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
	ds := []DetectedBarcode{det(1, 100, 100, 80, 80, "qr_code", "a"), det(2, 400, 100, 80, 80, "unknown", ""), det(3, 700, 300, 200, 60, "code_128", "b")}
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

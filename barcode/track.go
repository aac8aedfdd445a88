package barcode

import "slices"

// Tracker turns a video's per-frame detections into the lives of its
// codes: when each code (DetectedBarcode.TrackID, given by the Detector's
// cache, where codes are associated from frame to frame) appears, is read,
// and goes. It keeps what is known of each live code across frames: the
// value once read (carried to a frame whose read failed, for the same box a
// moment later), first and last seen, frames seen.
//
// Detections without a TrackID (a Detector without its cache) are not
// tracked. Not safe for concurrent use: one Tracker per video, fed its
// frames in order. Update allocates nothing in steady state.
type Tracker struct {
	cfg    TrackerConfig
	live   []Track
	events []TrackEvent
	seen   []bool
}

// TrackerConfig configures a Tracker; the zero value uses the defaults.
type TrackerConfig struct {
	// GoneAfter is how long (media time, µs) a track survives unseen:
	// short gaps (a frame whose detection failed, a hand passing over the
	// code) keep it alive. 0 means DefaultGoneAfter.
	GoneAfter int64
	// MaxTracks bounds the live tracks; past it the longest unseen goes.
	// 0 means DefaultMaxTracks.
	MaxTracks int
}

// Tracker defaults.
const (
	DefaultGoneAfter = 500_000 // µs: 15 frames at 30 fps
	DefaultMaxTracks = 64
)

// Track is what is known of one code followed across frames.
type Track struct {
	ID int64 `json:"trackId"`
	// Format and RawValue are the code's read ("unknown" and "" until
	// one frame read it).
	Format   string `json:"format"`
	RawValue string `json:"rawValue"`
	// FirstSeen and LastSeen are media timestamps (µs) of the first and
	// last frames it was detected in; Frames counts those frames.
	FirstSeen int64 `json:"firstSeen"`
	LastSeen  int64 `json:"lastSeen"`
	Frames    int   `json:"frames"`
	// BoundingBox is where it was last seen, in frame pixels.
	BoundingBox Rect `json:"boundingBox"`
}

// TrackEventKind says what happened to a track.
type TrackEventKind uint8

const (
	// TrackAppeared: a new code came into view (with its value when that
	// frame read it).
	TrackAppeared TrackEventKind = iota
	// TrackRead: a code that appeared unread was read in a later frame.
	TrackRead
	// TrackGone: the code has not been seen for GoneAfter.
	TrackGone
)

func (k TrackEventKind) String() string {
	switch k {
	case TrackAppeared:
		return "appeared"
	case TrackRead:
		return "read"
	case TrackGone:
		return "gone"
	}
	return "unknown"
}

// TrackEvent is one change of a track, with the track as it is after it.
type TrackEvent struct {
	Kind  TrackEventKind
	Track Track
}

// NewTracker returns a Tracker.
func NewTracker(cfg TrackerConfig) *Tracker {
	if cfg.GoneAfter <= 0 {
		cfg.GoneAfter = DefaultGoneAfter
	}
	if cfg.MaxTracks <= 0 {
		cfg.MaxTracks = DefaultMaxTracks
	}
	return &Tracker{cfg: cfg}
}

// Update takes one frame's detections at media timestamp ts (µs, not
// decreasing from one call to the next), fills in the value of an unread
// detection of a code read before (the same box a moment later), and
// returns what changed. The returned slice is reused by the next call.
func (t *Tracker) Update(ts int64, dets []DetectedBarcode) []TrackEvent {
	t.events = t.events[:0]
	t.seen = slices.Grow(t.seen[:0], len(t.live))[:len(t.live)]
	clear(t.seen)
	for i := range dets {
		d := &dets[i]
		if d.TrackID == 0 {
			continue
		}
		if k := t.find(d.TrackID); k >= 0 {
			t.seen[k] = true
			t.continueTrack(&t.live[k], ts, d)
			continue
		}
		if len(t.live) >= t.cfg.MaxTracks {
			t.dropStalest()
		}
		nt := Track{ID: d.TrackID, Format: d.Format, RawValue: d.RawValue, FirstSeen: ts, LastSeen: ts, Frames: 1, BoundingBox: d.BoundingBox}
		if !read(d) {
			nt.Format, nt.RawValue = "unknown", ""
		}
		t.live = append(t.live, nt)
		t.seen = append(t.seen, true)
		t.events = append(t.events, TrackEvent{Kind: TrackAppeared, Track: nt})
	}
	// Unseen tracks age out.
	n := 0
	for i := range t.live {
		tr := &t.live[i]
		if !t.seen[i] && ts-tr.LastSeen > t.cfg.GoneAfter {
			t.events = append(t.events, TrackEvent{Kind: TrackGone, Track: *tr})
			continue
		}
		t.live[n] = *tr
		n++
	}
	clear(t.live[n:])
	t.live = t.live[:n]
	return t.events
}

// Live is the number of tracks in view (seen within GoneAfter).
func (t *Tracker) Live() int { return len(t.live) }

func (t *Tracker) find(id int64) int {
	for i := range t.live {
		if t.live[i].ID == id {
			return i
		}
	}
	return -1
}

func (t *Tracker) continueTrack(tr *Track, ts int64, d *DetectedBarcode) {
	carries := carryValue(tr, ts, d)
	tr.LastSeen, tr.BoundingBox = ts, d.BoundingBox
	tr.Frames++
	switch {
	case read(d) && tr.RawValue == "":
		// Read at last.
		tr.Format, tr.RawValue = d.Format, d.RawValue
		t.events = append(t.events, TrackEvent{Kind: TrackRead, Track: *tr})
	case !read(d) && tr.RawValue != "" && carries:
		// This frame's read failed; the code is the one read before.
		d.Format, d.RawValue = tr.Format, tr.RawValue
	}
}

// carryValue says whether an unread detection d may take the value of its
// track: only when it is plainly the same picture of the same code a
// moment later (seen within carryGap, nearly the same box). A wrong value
// shown is worse than a code shown unread for a frame.
func carryValue(tr *Track, ts int64, d *DetectedBarcode) bool {
	if ts-tr.LastSeen > carryGap {
		return false
	}
	a, b := tr.BoundingBox.Width*tr.BoundingBox.Height, d.BoundingBox.Width*d.BoundingBox.Height
	if a <= 0 || b <= 0 || b/a > 1.25 || a/b > 1.25 {
		return false
	}
	return iou(tr.BoundingBox, d.BoundingBox) >= 0.5
}

// carryGap is the longest gap (media time, µs) over which a value is
// carried: a few frames at 30 fps.
const carryGap = 120_000

// dropStalest ends the live track seen longest ago, to make room.
func (t *Tracker) dropStalest() {
	k := 0
	for i := range t.live {
		if t.live[i].LastSeen < t.live[k].LastSeen {
			k = i
		}
	}
	t.events = append(t.events, TrackEvent{Kind: TrackGone, Track: t.live[k]})
	t.live = slices.Delete(t.live, k, k+1)
	t.seen = slices.Delete(t.seen, k, k+1)
}

func read(d *DetectedBarcode) bool {
	return d.RawValue != "" && d.Format != "unknown" && d.Format != ""
}

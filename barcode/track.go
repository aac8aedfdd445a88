package barcode

import (
	"cmp"
	"math"
	"slices"
)

// Tracker follows the codes of one video across its frames: it gives each
// code in view a stable id (DetectedBarcode.TrackID), carries a value read
// in an earlier frame to the frames where the read failed, and reports when
// a code appears, is read, and goes. It is the one place where a code's
// identity over time is decided; the Detector's cache only decides what to
// decode again.
//
// A detection continues a live track when they overlap or are close (by
// position, relative to the track's size) and do not disagree on the value;
// a read value also finds its track when the code jumped (a cut, a fast
// move). Association is greedy on a score that puts position first, so two
// identical codes side by side keep two tracks. A track is gone once it has
// not been seen for TrackerConfig.GoneAfter of media time.
//
// Not safe for concurrent use: one Tracker per video, fed its frames in
// order. Update allocates nothing in steady state.
type Tracker struct {
	cfg    TrackerConfig
	live   []track
	nextID uint64
	events []TrackEvent
	pairs  []trackPair
	usedT  []bool
	usedD  []bool
}

// TrackerConfig configures a Tracker; the zero value uses the defaults.
type TrackerConfig struct {
	// GoneAfter is how long (media time, µs) a track survives unseen:
	// short gaps (a frame whose detection failed, a hand passing over the
	// code) keep the id. 0 means DefaultGoneAfter.
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
	ID uint64 `json:"trackId"`
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

type track struct {
	Track
	cx, cy float64 // centre of the last box
}

type trackPair struct {
	t, d  int
	score float64
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
// decreasing from one call to the next): it sets each detection's TrackID,
// fills in the value of an unread detection whose track was read before,
// and returns what changed. The returned slice is reused by the next call.
func (t *Tracker) Update(ts int64, dets []DetectedBarcode) []TrackEvent {
	t.events = t.events[:0]
	t.usedT = slices.Grow(t.usedT[:0], len(t.live))[:len(t.live)]
	clear(t.usedT)
	t.usedD = slices.Grow(t.usedD[:0], len(dets))[:len(dets)]
	clear(t.usedD)

	// Candidate pairs, best first.
	t.pairs = t.pairs[:0]
	for ti := range t.live {
		for di := range dets {
			if s, ok := matchScore(&t.live[ti], &dets[di]); ok {
				t.pairs = append(t.pairs, trackPair{t: ti, d: di, score: s})
			}
		}
	}
	slices.SortFunc(t.pairs, func(a, b trackPair) int { return cmp.Compare(b.score, a.score) })
	for _, p := range t.pairs {
		if t.usedT[p.t] || t.usedD[p.d] {
			continue
		}
		t.usedT[p.t], t.usedD[p.d] = true, true
		t.continueTrack(&t.live[p.t], ts, &dets[p.d])
	}

	// Unseen tracks age out; new detections start tracks.
	n := 0
	for i := range t.live {
		tr := &t.live[i]
		if !t.usedT[i] && ts-tr.LastSeen > t.cfg.GoneAfter {
			t.events = append(t.events, TrackEvent{Kind: TrackGone, Track: tr.Track})
			continue
		}
		t.live[n] = *tr
		n++
	}
	clear(t.live[n:])
	t.live = t.live[:n]
	for di := range dets {
		if t.usedD[di] {
			continue
		}
		if len(t.live) >= t.cfg.MaxTracks {
			t.dropStalest()
		}
		t.nextID++
		d := &dets[di]
		nt := track{Track: Track{ID: t.nextID, Format: d.Format, RawValue: d.RawValue, FirstSeen: ts, LastSeen: ts, Frames: 1, BoundingBox: d.BoundingBox}}
		nt.cx, nt.cy = center(d.BoundingBox)
		d.TrackID = nt.ID
		t.live = append(t.live, nt)
		t.events = append(t.events, TrackEvent{Kind: TrackAppeared, Track: nt.Track})
	}
	return t.events
}

// Live is the number of tracks in view (seen within GoneAfter).
func (t *Tracker) Live() int { return len(t.live) }

func (t *Tracker) continueTrack(tr *track, ts int64, d *DetectedBarcode) {
	carries := carryValue(tr, ts, d)
	d.TrackID = tr.ID
	tr.LastSeen, tr.BoundingBox = ts, d.BoundingBox
	tr.cx, tr.cy = center(d.BoundingBox)
	tr.Frames++
	switch {
	case read(d) && tr.RawValue == "":
		// Read at last.
		tr.Format, tr.RawValue = d.Format, d.RawValue
		t.events = append(t.events, TrackEvent{Kind: TrackRead, Track: tr.Track})
	case !read(d) && tr.RawValue != "" && carries:
		// This frame's read failed; the code is the one read before.
		d.Format, d.RawValue = tr.Format, tr.RawValue
	}
}

// carryValue says whether an unread detection d may take the value of the
// track it continues: only when it is plainly the same picture of the
// same code a moment later (seen within carryGap, nearly the same box). A
// cut to another picture with a code in about the same place continues
// the track by position but does not inherit its value: a wrong value
// shown is worse than a code shown unread for a few frames.
func carryValue(tr *track, ts int64, d *DetectedBarcode) bool {
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
	t.events = append(t.events, TrackEvent{Kind: TrackGone, Track: t.live[k].Track})
	t.live = slices.Delete(t.live, k, k+1)
}

// matchScore says whether detection d may continue track tr, and how well:
// position first (overlap, then closeness relative to the track's size),
// a read value agreeing adds to it; values that disagree never match.
func matchScore(tr *track, d *DetectedBarcode) (float64, bool) {
	dRead, tRead := read(d), tr.RawValue != ""
	same := dRead && tRead && d.Format == tr.Format && d.RawValue == tr.RawValue
	if dRead && tRead && !same {
		return 0, false
	}
	cx, cy := center(d.BoundingBox)
	size := math.Max(math.Hypot(tr.BoundingBox.Width, tr.BoundingBox.Height), 1)
	dist := math.Hypot(cx-tr.cx, cy-tr.cy) / size
	ov := iou(tr.BoundingBox, d.BoundingBox)
	near := ov > 0.1 || dist < 0.75
	switch {
	case near && same:
		return 3 + ov - dist, true
	case near:
		return 2 + ov - dist, true
	case same:
		// The same value elsewhere: the code jumped (a cut, a fast
		// move). Position matches go first, so a second identical code
		// in view keeps its own track.
		return 1 - math.Min(dist, 100)/100, true
	}
	return 0, false
}

func read(d *DetectedBarcode) bool {
	return d.RawValue != "" && d.Format != "unknown" && d.Format != ""
}

func center(r Rect) (float64, float64) { return r.X + r.Width/2, r.Y + r.Height/2 }

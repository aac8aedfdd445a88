package service

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/shadercast/shadercast/barcode"
)

// Codes as tracked objects: the compositor goroutine runs every output
// frame's detections through one barcode.Tracker (ids, values carried over
// failed reads), publishes "barcode-appeared" (once per track, and again
// when a track that appeared unread is read) and "barcode-gone" events,
// and keeps the scan log that GET /api/barcodes lists.

// maxScanLog bounds the scan log: the most recent tracks, by appearance.
const maxScanLog = 100

// ScanEntry is one code of the scan log (GET /api/barcodes).
type ScanEntry struct {
	barcode.Track
	// Source is the input that was on air when the code appeared or,
	// with --scenes, the source a layer's barcode pass found it in.
	Source string `json:"source"`
	// FirstSeenAt and LastSeenAt are wall-clock times (RFC 3339).
	FirstSeenAt string `json:"firstSeenAt"`
	LastSeenAt  string `json:"lastSeenAt"`
	// InView is true while the track is live.
	InView bool `json:"inView"`
}

// BarcodesView is GET /api/barcodes: newest first.
type BarcodesView struct {
	Barcodes []ScanEntry `json:"barcodes"`
	// InView counts the codes in view now.
	InView int `json:"inView"`
}

// TrackEvent is the data of the "barcode-appeared" and "barcode-gone"
// events, on /api/events and on each WHEP session's data channel.
type TrackEvent struct {
	Type string `json:"type"` // "barcode-appeared" or "barcode-gone"
	// Timestamp is the media timestamp (µs) of the frame it happened in.
	Timestamp int64 `json:"timestamp"`
	barcode.Track
	Source string `json:"source"`
}

// scanLog is written by the compositor goroutine and read by the API.
type scanLog struct {
	tracker *barcode.Tracker          // compositor goroutine only
	flat    []barcode.DetectedBarcode // the frame's, for tracker; same

	mu      sync.Mutex
	entries []ScanEntry // oldest appearance first, at most maxScanLog
	inView  int
}

func newScanLog() *scanLog { return &scanLog{tracker: barcode.NewTracker(barcode.TrackerConfig{})} }

// trackDetections runs on the compositor goroutine for every output frame:
// carried values into d, the scan log, the events.
func (s *Service) trackDetections(ts int64, d []Detection) {
	l := s.scans
	l.flat = l.flat[:0]
	for i := range d {
		l.flat = append(l.flat, d[i].DetectedBarcode)
	}
	evs := l.tracker.Update(ts, l.flat)
	for i := range d {
		// Values carried over from earlier reads.
		d[i].Format, d[i].RawValue = l.flat[i].Format, l.flat[i].RawValue
	}
	if len(evs) == 0 && len(d) == 0 {
		return
	}
	now := time.Now()
	l.mu.Lock()
	for i := range d {
		if e := l.find(d[i].TrackID); e != nil {
			e.LastSeen, e.Frames, e.BoundingBox = ts, e.Frames+1, d[i].BoundingBox
			e.LastSeenAt = "" // formatted when listed: no per-frame string
			if d[i].RawValue != "" && d[i].Format != "unknown" {
				// A frame whose read failed keeps what was read.
				e.Format, e.RawValue = d[i].Format, d[i].RawValue
			}
		}
	}
	active := ""
	if len(evs) > 0 {
		s.inputs.mu.Lock()
		active = s.inputs.active
		s.inputs.mu.Unlock()
	}
	listening := len(evs) > 0 && s.hub.subscribers() > 0
	for _, ev := range evs {
		source := active
		switch ev.Kind {
		case barcode.TrackAppeared:
			for i := range d {
				if d[i].TrackID == ev.Track.ID && d[i].Source != "" {
					source = d[i].Source
				}
			}
			if len(l.entries) == maxScanLog {
				l.entries = slices.Delete(l.entries, 0, 1)
			}
			at := now.UTC().Format(time.RFC3339Nano)
			l.entries = append(l.entries, ScanEntry{Track: ev.Track, Source: source, FirstSeenAt: at, LastSeenAt: at, InView: true})
		case barcode.TrackRead:
			if e := l.find(ev.Track.ID); e != nil {
				e.Format, e.RawValue = ev.Track.Format, ev.Track.RawValue
				source = e.Source
			}
		case barcode.TrackGone:
			if e := l.find(ev.Track.ID); e != nil {
				e.Track, e.InView = ev.Track, false
				// Last seen GoneAfter ago, in media time.
				e.LastSeenAt = now.Add(-time.Duration(ts-ev.Track.LastSeen) * time.Microsecond).UTC().Format(time.RFC3339Nano)
				source = e.Source
			}
		}
		if !listening {
			continue
		}
		name := "barcode-appeared"
		if ev.Kind == barcode.TrackGone {
			name = "barcode-gone"
		}
		if b, err := json.Marshal(TrackEvent{Type: name, Timestamp: ts, Track: ev.Track, Source: source}); err == nil {
			s.hub.publish(event{name: name, data: b})
		}
	}
	l.inView = l.tracker.Live()
	l.mu.Unlock()
}

// find is the entry of track id, or nil (dropped from the log); under mu.
func (l *scanLog) find(id int64) *ScanEntry {
	for i := len(l.entries) - 1; i >= 0; i-- {
		if l.entries[i].ID == id {
			return &l.entries[i]
		}
	}
	return nil
}

func (l *scanLog) view(now time.Time) BarcodesView {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := BarcodesView{Barcodes: make([]ScanEntry, 0, len(l.entries)), InView: l.inView}
	for i := len(l.entries) - 1; i >= 0; i-- {
		e := l.entries[i]
		if e.InView && e.LastSeenAt == "" {
			e.LastSeenAt = now.UTC().Format(time.RFC3339Nano)
		}
		v.Barcodes = append(v.Barcodes, e)
	}
	return v
}

func (s *Service) apiBarcodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.scans.view(time.Now()))
}

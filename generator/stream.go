package generator

import (
	"slices"
	"sync"
)

// MediaStream groups tracks, typically the audio and video generators of
// one source, under one stream ID, as a browser MediaStream does (the ID
// is what peers use to keep audio and video in sync). Safe for concurrent
// use.
type MediaStream struct {
	id     string
	mu     sync.Mutex
	tracks []*Track
}

// NewMediaStream returns a stream with a random ID holding tracks.
func NewMediaStream(tracks ...*Track) *MediaStream {
	m := &MediaStream{id: newID()}
	for _, t := range tracks {
		m.AddTrack(t)
	}
	return m
}

// ID is the stream's random UUID.
func (m *MediaStream) ID() string { return m.id }

// AddTrack adds t; adding a track already present (or nil) does nothing.
func (m *MediaStream) AddTrack(t *Track) {
	if t == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.tracks, t) {
		m.tracks = append(m.tracks, t)
	}
}

// RemoveTrack removes t; the track itself is not stopped.
func (m *MediaStream) RemoveTrack(t *Track) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tracks = slices.DeleteFunc(m.tracks, func(x *Track) bool { return x == t })
}

// Tracks returns the tracks in the order they were added.
func (m *MediaStream) Tracks() []*Track { return m.filter("") }

// VideoTracks returns the video tracks in the order they were added.
func (m *MediaStream) VideoTracks() []*Track { return m.filter(KindVideo) }

// AudioTracks returns the audio tracks in the order they were added.
func (m *MediaStream) AudioTracks() []*Track { return m.filter(KindAudio) }

func (m *MediaStream) filter(kind string) []*Track {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Track
	for _, t := range m.tracks {
		if kind == "" || t.Kind() == kind {
			out = append(out, t)
		}
	}
	return out
}

package generator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shadercast/shadercast/media"
)

// Track kinds, as in MediaStreamTrack.kind.
const (
	KindAudio = "audio"
	KindVideo = "video"
)

// ReadyState is MediaStreamTrack.readyState.
type ReadyState string

const (
	ReadyStateLive  ReadyState = "live"
	ReadyStateEnded ReadyState = "ended"
)

var (
	// ErrUnknownKind is returned by New for a kind other than "audio" or
	// "video".
	ErrUnknownKind = errors.New("generator: kind must be \"audio\" or \"video\"")
	// ErrWrongKind is returned by Write for a frame that does not match the
	// track's kind (or is neither media.VideoFrame nor media.AudioData).
	ErrWrongKind = errors.New("generator: frame does not match track kind")
	// ErrEnded is returned by Write and Sink.Next once the track has
	// ended. When the writable was aborted with a reason, the returned
	// error wraps both ErrEnded and the reason (test with errors.Is).
	ErrEnded = errors.New("generator: track ended")
	// ErrAborted is the end reason reported when Abort is called with nil,
	// so that an abort can always be told apart from a normal Close.
	ErrAborted = errors.New("generator: aborted")
	// ErrSinkClosed is returned by Sink.Next after the sink's own Close.
	ErrSinkClosed = errors.New("generator: sink closed")
)

func endedErr(reason error) error {
	if reason == nil {
		return ErrEnded
	}
	return fmt.Errorf("%w: %w", ErrEnded, reason)
}

// Frame is what flows through a track: a media.VideoFrame or a
// media.AudioData (both satisfy it). An interface rather than two write
// methods keeps one code path for ownership and errors; the kind check is a
// type switch. Consumers type-switch on frames returned by Sink.Next.
type Frame interface {
	Close() error
	Closed() bool
	Timestamp() int64 // microseconds
	Duration() int64  // microseconds
}

// Options tune a generator.
type Options struct {
	// QueueSize is the number of frames each sink may hold before a write
	// drops the oldest one. Values < 1 mean 1: a live track should never
	// let a consumer fall behind by more than a frame.
	QueueSize int
}

// Stats counts what happened to written frames; all counters are
// cumulative over the source, shared by all clones.
type Stats struct {
	Written         uint64 // frames accepted by Write (not muted, track live)
	Delivered       uint64 // frames returned by Sink.Next, over all sinks
	DroppedOverflow uint64 // queued frames discarded because a sink was full
	DroppedMuted    uint64 // frames written while muted, discarded
}

// Settings mirrors MediaTrackSettings, observed from the written frames
// (a generator has no device to ask). Zero means not observed yet.
type Settings struct {
	Width, Height int     // video: coded size of the last frame
	FrameRate     float64 // video: frames/s, smoothed from timestamp deltas
	SampleRate    float64 // audio: Hz of the last data
	ChannelCount  int     // audio: channels of the last data
}

// source is the state shared by a generator and all its clones: the
// writable side, the live tracks, the last frame and the counters. One
// mutex guards everything except the counters; it is never held while
// user callbacks run. Lock order: source.mu, then Sink.mu.
type source struct {
	kind      string
	queueSize int
	writable  *Writable

	mu       sync.Mutex
	tracks   []*Track // live tracks, in creation order
	muted    bool
	ended    bool
	reason   error
	last     Frame // owned; the most recent accepted frame
	settings Settings
	lastTS   int64
	haveTS   bool
	avgDelta float64 // smoothed µs between video timestamps

	black   media.VideoFrame // owned; cached black picture, retimed per use
	silence []byte           // cached silent samples for disabled audio

	written, delivered, overflow, mutedDrops atomic.Uint64
}

// Track is the MediaStreamTrack side of a generator. Create one with New;
// the methods are safe for concurrent use.
type Track struct {
	src *source
	id  string

	// guarded by src.mu
	label   string
	enabled bool
	ended   bool
	reason  error
	sinks   []*Sink
	onEnded func(error)
	fired   bool
}

// Writable is the writer of a generator's frames, shared by all clones of
// the track (a source has exactly one). Methods are safe for concurrent
// use; concurrent writes are delivered in the order they take the lock.
type Writable struct {
	src *source
}

// New creates a live generator track of kind "audio" or "video" with
// default Options.
func New(kind string) (*Track, error) {
	return NewWithOptions(kind, Options{})
}

// NewWithOptions is New with explicit options.
func NewWithOptions(kind string, opts Options) (*Track, error) {
	if kind != KindAudio && kind != KindVideo {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	if opts.QueueSize < 1 {
		opts.QueueSize = 1
	}
	s := &source{kind: kind, queueSize: opts.QueueSize}
	s.writable = &Writable{src: s}
	t := &Track{src: s, id: newID(), enabled: true}
	s.tracks = []*Track{t}
	return t, nil
}

// ID is a random UUID, unique per track object (clones get their own).
func (t *Track) ID() string { return t.id }

// Kind is "audio" or "video".
func (t *Track) Kind() string { return t.src.kind }

// Label returns the label set by SetLabel ("" by default).
func (t *Track) Label() string {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	return t.label
}

// SetLabel sets the label. Browsers derive it from the device; a
// generator has none, so the application names it.
func (t *Track) SetLabel(label string) {
	t.src.mu.Lock()
	t.label = label
	t.src.mu.Unlock()
}

// Enabled reports whether this track object delivers content.
func (t *Track) Enabled() bool {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	return t.enabled
}

// SetEnabled switches this track object (not its clones) between real
// content and black frames / silence. Frames already queued are kept as
// they are.
func (t *Track) SetEnabled(enabled bool) {
	t.src.mu.Lock()
	t.enabled = enabled
	t.src.mu.Unlock()
}

// Muted reports whether the source is muted.
func (t *Track) Muted() bool {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	return t.src.muted
}

// SetMuted mutes or unmutes the source, i.e. all clones: while muted,
// written frames are dropped (and counted in Stats.DroppedMuted) so that
// consumers see a gap, as with a muted browser source.
func (t *Track) SetMuted(muted bool) {
	t.src.mu.Lock()
	t.src.muted = muted
	t.src.mu.Unlock()
}

// ReadyState is "live" or "ended".
func (t *Track) ReadyState() ReadyState {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	if t.ended {
		return ReadyStateEnded
	}
	return ReadyStateLive
}

// Writable returns the writer shared by this track and all its clones.
func (t *Track) Writable() *Writable { return t.src.writable }

// Stats returns the source's counters (shared by all clones).
func (t *Track) Stats() Stats { return t.src.stats() }

// Settings returns what has been observed from written frames.
func (t *Track) Settings() Settings {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	return t.src.settings
}

// OnEnded sets the handler called when this track object ends, with the
// reason: nil for Stop and Writable.Close, the Abort reason (ErrAborted
// for Abort(nil)) otherwise. The end is reported exactly once per track
// object: to the handler set at that moment or, if none was, to the first
// handler set afterwards, which is then called at once. That way a handler
// registered just after a concurrent end is not lost. Handlers run
// synchronously on the goroutine that ended the track, without locks held,
// so they may call back into the track but should not block.
func (t *Track) OnEnded(handler func(reason error)) {
	s := t.src
	s.mu.Lock()
	if t.ended && !t.fired && handler != nil {
		t.fired = true
		reason := t.reason
		s.mu.Unlock()
		handler(reason)
		return
	}
	t.onEnded = handler
	s.mu.Unlock()
}

// Clone returns a new track object on the same source with a new ID and
// the same label and enabled state, like MediaStreamTrack.clone. The clone
// of an ended track is ended. The source (and its Writable) stays open
// until the last live clone is stopped.
func (t *Track) Clone() *Track {
	s := t.src
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Track{src: s, id: newID(), label: t.label, enabled: t.enabled}
	if t.ended {
		c.ended, c.reason = true, t.reason
	} else {
		s.tracks = append(s.tracks, c)
	}
	return c
}

// Stop ends this track object only; its sinks drain and then report
// ErrEnded and its OnEnded handler runs with a nil reason. Stopping the
// last live clone also closes the Writable, since nobody can observe the
// source any more. Stopping an ended track does nothing.
func (t *Track) Stop() {
	s := t.src
	s.mu.Lock()
	if t.ended {
		s.mu.Unlock()
		return
	}
	fire := t.endLocked(nil)
	s.tracks = slices.DeleteFunc(s.tracks, func(x *Track) bool { return x == t })
	if len(s.tracks) == 0 {
		s.endLocked(nil)
	}
	s.mu.Unlock()
	fire()
}

// endLocked marks t ended and ends its sinks. It returns the OnEnded call
// to make once s.mu is released.
func (t *Track) endLocked(reason error) func() {
	t.ended, t.reason = true, reason
	for _, k := range t.sinks {
		k.end(reason)
	}
	t.sinks = nil
	if h := t.onEnded; h != nil && !t.fired {
		t.fired = true
		return func() { h(reason) }
	}
	return func() {}
}

// endLocked ends the source and every live track; it returns the OnEnded
// calls to make once s.mu is released.
func (s *source) endLocked(reason error) []func() {
	if s.ended {
		return nil
	}
	s.ended, s.reason = true, reason
	var fire []func()
	for _, t := range s.tracks {
		fire = append(fire, t.endLocked(reason))
	}
	s.tracks = nil
	// Nobody can attach a sink any more, so the retained frames go back to
	// the pool now rather than when the garbage collector finds them.
	if s.last != nil {
		s.last.Close()
		s.last = nil
	}
	s.black.Close()
	s.black = media.VideoFrame{}
	return fire
}

func (s *source) end(reason error) {
	s.mu.Lock()
	fire := s.endLocked(reason)
	s.mu.Unlock()
	for _, f := range fire {
		f()
	}
}

func (s *source) stats() Stats {
	return Stats{
		Written:         s.written.Load(),
		Delivered:       s.delivered.Load(),
		DroppedOverflow: s.overflow.Load(),
		DroppedMuted:    s.mutedDrops.Load(),
	}
}

// Kind returns the kind of frames the writable accepts.
func (w *Writable) Kind() string { return w.src.kind }

// Stats returns the source's counters.
func (w *Writable) Stats() Stats { return w.src.stats() }

// Write hands frame to every live track of the source. It TAKES OWNERSHIP:
// the frame is always closed by the time Write returns or later by the
// generator, also on error, so the caller must not use it afterwards.
//
// Errors: ErrWrongKind for a frame of the other kind (or an unknown Frame
// implementation); media.ErrClosed (wrapped) for a closed frame;
// ErrEnded (wrapping the Abort reason, if any) once the track has ended;
// ctx.Err() if ctx is already done. A write while muted returns nil: the
// frame was written, the source just discarded it, as a muted device would.
//
// Write never waits for consumers: full sink queues drop their oldest
// frame. It only contends briefly for the source lock.
func (w *Writable) Write(ctx context.Context, frame Frame) (err error) {
	if frame == nil {
		return fmt.Errorf("generator: write nil frame: %w", ErrWrongKind)
	}
	s := w.src
	keep := false
	defer func() {
		if !keep {
			frame.Close()
		}
	}()
	var kind string
	switch frame.(type) {
	case media.VideoFrame:
		kind = KindVideo
	case media.AudioData:
		kind = KindAudio
	default:
		return fmt.Errorf("generator: write %T: %w", frame, ErrWrongKind)
	}
	if kind != s.kind {
		return fmt.Errorf("generator: write %s frame to %s track: %w", kind, s.kind, ErrWrongKind)
	}
	if frame.Closed() {
		return fmt.Errorf("generator: write: %w", media.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return endedErr(s.reason)
	}
	if s.muted {
		s.mutedDrops.Add(1)
		return nil
	}
	s.observe(frame)
	s.written.Add(1)
	var blank Frame // made at most once per write, then cloned per sink
	for _, t := range s.tracks {
		for _, k := range t.sinks {
			var out Frame
			var err error
			if t.enabled {
				out, err = cloneFrame(frame)
			} else {
				if blank == nil {
					if blank, err = s.blank(frame); err != nil {
						return err
					}
					defer blank.Close()
				}
				out, err = cloneFrame(blank)
			}
			if err != nil {
				// Only possible if the caller closed the frame behind
				// our back, which breaks the ownership contract.
				return fmt.Errorf("generator: write: %w", err)
			}
			k.push(out)
		}
	}
	if s.last != nil {
		s.last.Close()
	}
	s.last, keep = frame, true
	return nil
}

// Close ends the track normally: every clone ends, OnEnded handlers run
// with a nil reason and sinks report ErrEnded once drained. Only the first
// Close or Abort has an effect; Close always returns nil.
func (w *Writable) Close() error {
	w.src.end(nil)
	return nil
}

// Abort ends the track with reason (ErrAborted if nil), which OnEnded
// handlers receive and which later errors from Write and Sink.Next wrap.
func (w *Writable) Abort(reason error) {
	if reason == nil {
		reason = ErrAborted
	}
	w.src.end(reason)
}

// observe updates Settings from an accepted frame. s.mu is held.
func (s *source) observe(f Frame) {
	switch f := f.(type) {
	case media.VideoFrame:
		s.settings.Width, s.settings.Height = f.CodedWidth(), f.CodedHeight()
		ts := f.Timestamp()
		if s.haveTS {
			// An exponential average follows rate changes within a second
			// or so while smoothing capture jitter; non-increasing
			// timestamps (a reset or reordering) carry no rate information.
			if d := float64(ts - s.lastTS); d > 0 {
				if s.avgDelta == 0 {
					s.avgDelta = d
				} else {
					s.avgDelta += (d - s.avgDelta) / 8
				}
				s.settings.FrameRate = 1e6 / s.avgDelta
			}
		}
		s.lastTS, s.haveTS = ts, true
	case media.AudioData:
		s.settings.SampleRate = f.SampleRate()
		s.settings.ChannelCount = f.NumberOfChannels()
	}
}

func cloneFrame(f Frame) (Frame, error) {
	switch f := f.(type) {
	case media.VideoFrame:
		return f.Clone()
	case media.AudioData:
		return f.Clone()
	}
	return nil, ErrWrongKind
}

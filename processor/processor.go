// Package processor is the server-side twin of the web's
// MediaStreamTrackProcessor (W3C mediacapture-transform): it turns frames
// that arrive on their own schedule (decoded from the network by the WHIP
// ingest) into a stream that a consumer reads at its own pace.
//
// Like the web's processor, it keeps at most MaxBufferSize frames; when a
// producer pushes into a full queue, the OLDEST queued frame is closed and
// counted as dropped, so a slow reader always gets the freshest frames and
// memory stays bounded. Push never blocks: the producer is a network
// receive loop that must keep draining its socket.
//
// Video and Audio adapt a Processor to the source.Video and source.Audio
// interfaces, so the service reads an ingest like any other input.
package processor

import (
	"context"
	"errors"
	"io"

	"github.com/shadercast/shadercast/internal/dropq"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source"
)

// Frame is what a Processor carries: media.VideoFrame or media.AudioData
// (anything with WebCodecs' Close ownership rule).
type Frame interface {
	Close() error
}

// ErrClosed is returned by Push after the processor was closed (the frame
// is closed, not queued).
var ErrClosed = errors.New("processor: closed")

// ErrCanceled ends the stream when the consumer closes a Video or Audio
// adapter (the readable side was cancelled, as ReadableStream.cancel does).
var ErrCanceled = errors.New("processor: reader closed the stream")

// Options configure a Processor.
type Options struct {
	// MaxBufferSize is how many frames may wait for the reader; 0 means 1,
	// the web's default: a reader that falls behind sees only the newest
	// frame.
	MaxBufferSize int
}

// Stats counts what went through a Processor.
type Stats struct {
	Pushed  uint64 // frames handed to Push, including refused ones
	Read    uint64 // frames returned by Read
	Dropped uint64 // frames closed unread: evicted as oldest, pushed after Close, or queued at Close
	Queued  int    // frames waiting now
}

// Processor is a bounded, drop-oldest queue of frames with one or more
// producers and readers (dropq.Ring, the project's one such queue). Safe
// for concurrent use.
type Processor[T Frame] struct {
	r *dropq.Ring[T]
}

// New makes a processor.
func New[T Frame](opts Options) *Processor[T] {
	return &Processor[T]{r: dropq.NewRing[T](max(opts.MaxBufferSize, 1))}
}

// Push queues f, which the processor now owns. It never blocks: when the
// queue is full the oldest frame is closed and counted as dropped. After
// Close, f is closed and ErrClosed returned.
func (p *Processor[T]) Push(f T) error {
	if _, err := p.r.Push(f); err != nil {
		return ErrClosed
	}
	return nil
}

// Read returns the oldest queued frame, waiting for one if the queue is
// empty; the caller owns it. When the processor is closed and empty it
// returns io.EOF (Close(nil)) or Close's reason; when ctx ends first,
// ctx.Err().
func (p *Processor[T]) Read(ctx context.Context) (T, error) { return p.r.Read(ctx) }

// Close ends the stream: queued frames are closed (counted as dropped),
// later Pushes are refused, and readers get io.EOF when reason is nil, else
// reason. Only the first call's reason counts; Close is idempotent.
func (p *Processor[T]) Close(reason error) {
	if reason == nil {
		reason = io.EOF
	}
	p.r.Close(reason)
}

// Done is closed when Close was called.
func (p *Processor[T]) Done() <-chan struct{} { return p.r.Done() }

// Err is the reason readers get once the queue is drained (io.EOF for a
// clean end), or nil while the processor is open.
func (p *Processor[T]) Err() error { return p.r.Err() }

// Stats returns the counters.
func (p *Processor[T]) Stats() Stats {
	st := p.r.Stats()
	return Stats{Pushed: st.Pushed, Read: st.Read, Dropped: st.Dropped, Queued: st.Queued}
}

// Video reads a video processor as a source.Video.
type Video struct{ P *Processor[media.VideoFrame] }

// Audio reads an audio processor as a source.Audio (and an io.Closer).
type Audio struct{ P *Processor[media.AudioData] }

var (
	_ source.Video = (*Video)(nil)
	_ source.Audio = (*Audio)(nil)
)

// NewVideo makes a video processor and its source adapter.
func NewVideo(opts Options) *Video { return &Video{P: New[media.VideoFrame](opts)} }

// NewAudio makes an audio processor and its source adapter.
func NewAudio(opts Options) *Audio { return &Audio{P: New[media.AudioData](opts)} }

// ReadVideo implements source.Video.
func (v *Video) ReadVideo(ctx context.Context) (media.VideoFrame, error) { return v.P.Read(ctx) }

// Close implements source.Video: the reader is done, so the stream ends
// with ErrCanceled and queued frames are released. Producers' later
// Pushes are refused (and their frames closed).
func (v *Video) Close() error {
	v.P.Close(ErrCanceled)
	return nil
}

// ReadAudio implements source.Audio.
func (a *Audio) ReadAudio(ctx context.Context) (media.AudioData, error) { return a.P.Read(ctx) }

// Close ends the audio stream from the reader's side, like Video.Close.
func (a *Audio) Close() error {
	a.P.Close(ErrCanceled)
	return nil
}

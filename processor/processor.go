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
	"sync"

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
// producers and readers. Safe for concurrent use.
type Processor[T Frame] struct {
	max int

	mu     sync.Mutex
	q      []T // ring of len max
	head   int
	n      int
	closed bool
	err    error         // what readers get once the queue is empty and closed
	wake   chan struct{} // closed on the next Push or Close, when a reader waits on it
	done   chan struct{}
	st     Stats
}

// New makes a processor.
func New[T Frame](opts Options) *Processor[T] {
	if opts.MaxBufferSize <= 0 {
		opts.MaxBufferSize = 1
	}
	return &Processor[T]{max: opts.MaxBufferSize, q: make([]T, opts.MaxBufferSize), done: make(chan struct{})}
}

// Push queues f, which the processor now owns. It never blocks: when the
// queue is full the oldest frame is closed and counted as dropped. After
// Close, f is closed and ErrClosed returned.
func (p *Processor[T]) Push(f T) error {
	var evicted T
	var evict bool
	p.mu.Lock()
	p.st.Pushed++
	if p.closed {
		p.st.Dropped++
		p.mu.Unlock()
		f.Close()
		return ErrClosed
	}
	if p.n == p.max {
		evicted, evict = p.q[p.head], true
		var zero T
		p.q[p.head] = zero
		p.head = (p.head + 1) % p.max
		p.n--
		p.st.Dropped++
	}
	p.q[(p.head+p.n)%p.max] = f
	p.n++
	p.signalLocked()
	p.mu.Unlock()
	if evict {
		// Outside the lock: closing returns a buffer to the pool, which
		// has its own locking.
		evicted.Close()
	}
	return nil
}

func (p *Processor[T]) signalLocked() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// Read returns the oldest queued frame, waiting for one if the queue is
// empty; the caller owns it. When the processor is closed and empty it
// returns io.EOF (Close(nil)) or Close's reason; when ctx ends first,
// ctx.Err().
func (p *Processor[T]) Read(ctx context.Context) (T, error) {
	var zero T
	for {
		p.mu.Lock()
		if p.n > 0 {
			f := p.q[p.head]
			p.q[p.head] = zero
			p.head = (p.head + 1) % p.max
			p.n--
			p.st.Read++
			p.mu.Unlock()
			return f, nil
		}
		if p.closed {
			err := p.err
			p.mu.Unlock()
			return zero, err
		}
		if p.wake == nil {
			p.wake = make(chan struct{})
		}
		w := p.wake
		p.mu.Unlock()
		// A done context wins over a frame that arrives at the same time:
		// the caller asked to stop.
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		select {
		case <-w:
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
}

// Close ends the stream: queued frames are closed (counted as dropped),
// later Pushes are refused, and readers get io.EOF when reason is nil, else
// reason. Only the first call's reason counts; Close is idempotent.
func (p *Processor[T]) Close(reason error) {
	if reason == nil {
		reason = io.EOF
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed, p.err = true, reason
	var zero T
	out := make([]T, 0, p.n)
	for ; p.n > 0; p.n-- {
		out = append(out, p.q[p.head])
		p.q[p.head] = zero
		p.head = (p.head + 1) % p.max
	}
	p.st.Dropped += uint64(len(out))
	p.signalLocked()
	close(p.done)
	p.mu.Unlock()
	for _, f := range out {
		f.Close()
	}
}

// Done is closed when Close was called.
func (p *Processor[T]) Done() <-chan struct{} { return p.done }

// Err is the reason readers get once the queue is drained (io.EOF for a
// clean end), or nil while the processor is open.
func (p *Processor[T]) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stats returns the counters.
func (p *Processor[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Queued = p.n
	return st
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

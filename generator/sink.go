package generator

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/shadercast/shadercast/internal/dropq"
)

// Sink is one consumer of a track, such as an encoder. Every sink receives
// every frame as its own clone, through its own bounded queue (a
// dropq.Ring: the oldest frame goes when it is full), so one slow consumer
// only loses its own frames. Methods are safe for concurrent use.
type Sink struct {
	track  *Track
	ring   *dropq.Ring[Frame]
	closed atomic.Bool
}

// NewSink attaches a consumer to this track object. If the source has
// written a frame already, the sink starts with (a clone of) the last one,
// so a late consumer can produce output at once; browsers do not do this,
// it is our choice. On a disabled track that frame is blanked like any
// other. The sink of an ended track reports ErrEnded at once.
func (t *Track) NewSink() *Sink {
	s := t.src
	k := &Sink{track: t, ring: dropq.NewRing[Frame](s.queueSize)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ended {
		k.end(t.reason)
		return k
	}
	t.sinks = append(t.sinks, k)
	if s.last != nil {
		var f Frame
		var err error
		if t.enabled {
			f, err = cloneFrame(s.last)
		} else {
			f, err = s.blank(s.last)
		}
		if err == nil {
			k.push(f)
		}
	}
	return k
}

// push queues f, dropping the oldest frame when full. Called with the
// source lock held, which orders pushes.
func (k *Sink) push(f Frame) {
	if evicted, _ := k.ring.Push(f); evicted {
		k.track.src.overflow.Add(1)
	}
}

// end marks the sink ended; queued frames stay readable.
func (k *Sink) end(reason error) { k.ring.End(endedErr(reason)) }

// Next returns the next frame in write order, waiting until one is written,
// the track ends or ctx is done. The caller owns the frame and must Close
// it. After the track has ended and the queue is drained it returns an
// error matching ErrEnded (and the Abort reason, if any); after Close,
// ErrSinkClosed. A done ctx wins over queued frames: a consumer slower
// than its producer always has one waiting, and must still be able to stop.
func (k *Sink) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if k.closed.Load() {
		return nil, ErrSinkClosed
	}
	f, err := k.ring.Read(ctx)
	if err != nil {
		if k.closed.Load() {
			return nil, ErrSinkClosed
		}
		return nil, err
	}
	k.track.src.delivered.Add(1)
	return f, nil
}

// Close detaches the sink and closes the frames still queued. It is
// idempotent and always returns nil.
func (k *Sink) Close() error {
	s := k.track.src
	s.mu.Lock()
	k.track.sinks = slices.DeleteFunc(k.track.sinks, func(x *Sink) bool { return x == k })
	s.mu.Unlock()
	k.closed.Store(true)
	k.ring.Close(ErrSinkClosed)
	return nil
}

package generator

import (
	"context"
	"slices"
	"sync"
)

// Sink is one consumer of a track, such as an encoder. Every sink receives
// every frame as its own clone, through its own bounded queue, so one slow
// consumer only loses its own frames. Methods are safe for concurrent use.
type Sink struct {
	track *Track

	mu      sync.Mutex
	ring    []Frame // len == queue size
	head, n int
	ended   bool
	reason  error
	closed  bool
	notify  chan struct{} // cap 1: a frame may be waiting
	done    chan struct{} // closed when ended or closed
}

// NewSink attaches a consumer to this track object. If the source has
// written a frame already, the sink starts with (a clone of) the last one,
// so a late consumer can produce output at once; browsers do not do this,
// it is our choice. On a disabled track that frame is blanked like any
// other. The sink of an ended track reports ErrEnded at once.
func (t *Track) NewSink() *Sink {
	s := t.src
	k := &Sink{
		track:  t,
		ring:   make([]Frame, s.queueSize),
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
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
	k.mu.Lock()
	if k.ended || k.closed {
		k.mu.Unlock()
		f.Close()
		return
	}
	var dropped Frame
	if k.n == len(k.ring) {
		dropped = k.ring[k.head]
		k.ring[k.head] = nil
		k.head = (k.head + 1) % len(k.ring)
		k.n--
		k.track.src.overflow.Add(1)
	}
	k.ring[(k.head+k.n)%len(k.ring)] = f
	k.n++
	k.mu.Unlock()
	if dropped != nil {
		dropped.Close()
	}
	k.signal()
}

func (k *Sink) signal() {
	select {
	case k.notify <- struct{}{}:
	default:
	}
}

// end marks the sink ended; queued frames stay readable.
func (k *Sink) end(reason error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ended || k.closed {
		return
	}
	k.ended, k.reason = true, reason
	close(k.done)
}

// Next returns the next frame in write order, waiting until one is written,
// the track ends or ctx is done. The caller owns the frame and must Close
// it. After the track has ended and the queue is drained it returns an
// error matching ErrEnded (and the Abort reason, if any); after Close,
// ErrSinkClosed. A done ctx wins over queued frames: a consumer slower
// than its producer always has one waiting, and must still be able to stop.
func (k *Sink) Next(ctx context.Context) (Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			return nil, ErrSinkClosed
		}
		if k.n > 0 {
			f := k.ring[k.head]
			k.ring[k.head] = nil
			k.head = (k.head + 1) % len(k.ring)
			k.n--
			more := k.n > 0
			k.mu.Unlock()
			// One token wakes one waiter; pass it on so a second
			// concurrent Next is not left sleeping on a queued frame.
			if more {
				k.signal()
			}
			k.track.src.delivered.Add(1)
			return f, nil
		}
		if k.ended {
			err := endedErr(k.reason)
			k.mu.Unlock()
			return nil, err
		}
		k.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-k.notify:
		case <-k.done:
		}
	}
}

// Close detaches the sink and closes the frames still queued. It is
// idempotent and always returns nil.
func (k *Sink) Close() error {
	s := k.track.src
	s.mu.Lock()
	k.track.sinks = slices.DeleteFunc(k.track.sinks, func(x *Sink) bool { return x == k })
	s.mu.Unlock()

	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	if !k.ended {
		close(k.done)
	}
	var queued []Frame
	for k.n > 0 {
		queued = append(queued, k.ring[k.head])
		k.ring[k.head] = nil
		k.head = (k.head + 1) % len(k.ring)
		k.n--
	}
	k.mu.Unlock()
	for _, f := range queued {
		f.Close()
	}
	return nil
}

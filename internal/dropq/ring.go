package dropq

import (
	"context"
	"errors"
	"sync"
)

// Closer is what a Ring holds: frames with WebCodecs' ownership rule (the
// holder closes them).
type Closer interface{ Close() error }

// ErrEnded is Push's error once the ring has ended or closed (the entry
// was closed, not queued).
var ErrEnded = errors.New("dropq: ring has ended")

// Ring is the same policy as Queue for frames with readers that wait: at
// most its capacity of entries; Push never blocks and, when full, closes
// the oldest entry and counts it dropped; Read waits for one. Its end has
// two forms: End (the producer is done: what is queued stays readable,
// then readers get the reason) and Close (the reader is done, or the
// stream is torn down: what is queued is closed at once). Safe for
// concurrent use. processor.Processor and generator.Sink are built on it.
type Ring[T Closer] struct {
	mu    sync.Mutex
	q     []T // len == capacity
	head  int
	n     int
	ended bool  // no more pushes; queued entries still readable
	err   error // what readers get once the ring is ended and empty
	wake  chan struct{}
	done  chan struct{} // closed by End or Close
	st    RingStats
}

// RingStats counts what went through a Ring.
type RingStats struct {
	Pushed  uint64 // entries handed to Push, refused ones included
	Read    uint64 // entries returned by Read
	Dropped uint64 // entries closed unread: evicted as oldest, pushed after the end, or queued at Close
	Queued  int    // entries waiting now
}

// NewRing makes a ring of capacity entries (at least 1).
func NewRing[T Closer](capacity int) *Ring[T] {
	return &Ring[T]{q: make([]T, max(capacity, 1)), done: make(chan struct{})}
}

// Push queues v, which the ring now owns, and reports whether the oldest
// entry was closed to make room. After End or Close, v is closed and
// ErrEnded returned.
func (r *Ring[T]) Push(v T) (evicted bool, err error) {
	var old T
	r.mu.Lock()
	r.st.Pushed++
	if r.ended {
		r.st.Dropped++
		r.mu.Unlock()
		v.Close()
		return false, ErrEnded
	}
	if r.n == len(r.q) {
		var zero T
		old, evicted = r.q[r.head], true
		r.q[r.head] = zero
		r.head = (r.head + 1) % len(r.q)
		r.n--
		r.st.Dropped++
	}
	r.q[(r.head+r.n)%len(r.q)] = v
	r.n++
	r.signalLocked()
	r.mu.Unlock()
	if evicted {
		// Outside the lock: closing returns a buffer to a pool, which
		// has its own locking.
		old.Close()
	}
	return evicted, nil
}

func (r *Ring[T]) signalLocked() {
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
}

// Read returns the oldest entry, waiting for one; the caller owns it.
// Once the ring has ended and is empty it returns the end's reason; when
// ctx ends first, ctx.Err() (a done ctx wins over an entry that arrives
// at the same time: the caller asked to stop).
func (r *Ring[T]) Read(ctx context.Context) (T, error) {
	var zero T
	for {
		r.mu.Lock()
		if r.n > 0 {
			v := r.q[r.head]
			r.q[r.head] = zero
			r.head = (r.head + 1) % len(r.q)
			r.n--
			r.st.Read++
			r.mu.Unlock()
			return v, nil
		}
		if r.ended {
			err := r.err
			r.mu.Unlock()
			return zero, err
		}
		if r.wake == nil {
			r.wake = make(chan struct{})
		}
		w := r.wake
		r.mu.Unlock()
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

// End refuses later pushes; what is queued stays readable, then readers
// get reason. Only the first End or Close counts.
func (r *Ring[T]) End(reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	r.ended, r.err = true, reason
	r.signalLocked()
	close(r.done)
}

// Close closes what is queued (counted as dropped) and refuses later
// pushes; readers get reason, or the reason of an earlier End. Idempotent.
func (r *Ring[T]) Close(reason error) {
	r.mu.Lock()
	if !r.ended {
		r.ended, r.err = true, reason
		close(r.done)
	}
	var zero T
	out := make([]T, 0, r.n)
	for ; r.n > 0; r.n-- {
		out = append(out, r.q[r.head])
		r.q[r.head] = zero
		r.head = (r.head + 1) % len(r.q)
	}
	r.st.Dropped += uint64(len(out))
	r.signalLocked()
	r.mu.Unlock()
	for _, v := range out {
		v.Close()
	}
}

// Done is closed by the first End or Close.
func (r *Ring[T]) Done() <-chan struct{} { return r.done }

// Err is the end's reason, nil while the ring is open.
func (r *Ring[T]) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Stats returns the counters.
func (r *Ring[T]) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Queued = r.n
	return st
}

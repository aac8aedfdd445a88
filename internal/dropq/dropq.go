// Package dropq is the bounded queue with a drop-oldest policy that
// shadercast uses wherever a producer must never wait for its consumer
// (frames from inputs, sound, events to slow clients, key presses, the
// WHIP ingest's frames, each consumer of a generator track): the newest
// entry matters most, so when the queue is full the oldest one goes. It
// comes in two forms: Queue, over a channel, for a consumer that selects
// on it with other channels; Ring, for frames with readers that wait and
// an end (processor.Processor and generator.Sink are built on it).
package dropq

import (
	"sync"
	"sync/atomic"
)

// Queue holds at most its capacity of entries. Push never blocks: when
// the queue is full it removes the oldest entry, hands it to the drop
// function (to close it and count it) and queues the new one. Any number
// of goroutines may Push; the consumer receives from C.
type Queue[T any] struct {
	ch      chan T
	drop    func(T)
	mu      sync.Mutex // serialises pushes: a drop and the send it makes room for
	closed  bool
	dropped atomic.Uint64
}

// New makes a queue of capacity entries (at least 1); drop, when not nil,
// is given each entry the queue drops (Push) or empties (Drain), outside
// of any lock the consumer could hold.
func New[T any](capacity int, drop func(T)) *Queue[T] {
	return &Queue[T]{ch: make(chan T, max(capacity, 1)), drop: drop}
}

// Push queues v and reports whether an older entry was dropped for it.
// After Close, v itself goes to the drop function (not counted).
func (q *Queue[T]) Push(v T) (dropped bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		if q.drop != nil {
			q.drop(v)
		}
		return false
	}
	for {
		select {
		case q.ch <- v:
			return dropped
		default:
		}
		// Full. The consumer may take one meanwhile: then nothing is
		// dropped and the send above succeeds next time.
		select {
		case old := <-q.ch:
			dropped = true
			q.dropped.Add(1)
			if q.drop != nil {
				q.drop(old)
			}
		default:
		}
	}
}

// C is where the consumer receives the entries, oldest first.
func (q *Queue[T]) C() <-chan T { return q.ch }

// Len is the number of entries queued now.
func (q *Queue[T]) Len() int { return len(q.ch) }

// Dropped counts the entries Push dropped so far.
func (q *Queue[T]) Dropped() uint64 { return q.dropped.Load() }

// Close ends the queue: the consumer receives what is queued, then finds
// C closed. Close is idempotent.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}

// Drain empties the queue, giving each entry to the drop function (not
// counted as dropped): a consumer that stops calls it so that what was
// queued is released.
func (q *Queue[T]) Drain() {
	for {
		select {
		case v, ok := <-q.ch:
			if !ok {
				return // closed and empty
			}
			if q.drop != nil {
				q.drop(v)
			}
		default:
			return
		}
	}
}

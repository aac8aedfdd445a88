package media

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Pool design: sync.Pool is not used because it drops items at random under
// the race detector and empties on every GC, which would make the zero
// allocation guarantee untestable and frame-rate dependent. Instead handles
// and buffers live on small mutex-protected LIFO free lists whose backing
// slices stop growing after warm-up. Idle memory is bounded (see release)
// and can be dropped with TrimPool.
//
// Idle buffers are also trimmed as they age: a buffer that has waited in
// the pool for idleTTL is dropped. A running pipeline reuses its buffers
// every frame, so only leftovers age: the frames of a resolution that is no
// longer used (a WHIP publisher at 1080p left, the input changed size) or
// the extra buffers of a burst (a queue that filled once). The free lists
// are LIFO, so within a class the bottom entries are the least recently
// used and the ones that age. The sweep needs no goroutine: release runs it
// at most once per sweepEvery, and a service keeps releasing frames while
// it runs (the compositor repeats the last frame even without input).

const (
	// Buffers are pooled by capacity class: four classes per power of two
	// keep the worst-case slack under 25% (1080p I420 wastes ~1%), and a
	// fixed array of classes needs no map or lock to find one.
	minClassShift  = 6  // smallest class: 64 bytes
	maxPooledShift = 28 // largest class: 256 MiB, an RGBA frame at MaxPixels
	numClasses     = 1 + (maxPooledShift-minClassShift)*4

	maxIdlePerClass = 32
	maxIdleBytes    = 1 << 30 // idle memory kept for reuse, all classes together
	maxIdleHandles  = 4096

	// idleTTL: far longer than any frame interval (a buffer in use comes
	// back within one), short enough that a 1080p publisher's ~100 MB of
	// pooled frames do not outlive it by much.
	idleTTL    = 10 * time.Second
	sweepEvery = time.Second
)

// buffer is a pooled slab shared by a frame and all of its clones.
type buffer struct {
	refs  atomic.Int32
	class int    // index into classes, or -1 when too large to pool
	data  []byte // never reassigned once created, so reading it needs no sync
	// idleSince is when the buffer was put on its free list (under the
	// class lock).
	idleSince time.Time
}

type bufClass struct {
	mu   sync.Mutex
	free []*buffer
}

var classes [numClasses]bufClass

var stats struct {
	liveVideo, liveAudio   atomic.Int64
	liveBuffers            atomic.Int64
	idleBuffers, idleBytes atomic.Int64
	allocs, reuses         atomic.Uint64
	// sweptAt is the wall time (UnixNano) of the last idle sweep; it only
	// paces sweeps, so a clock step costs at most one early or late one.
	sweptAt atomic.Int64
	trimmed atomic.Uint64
}

// classOf returns the size class holding n bytes, or -1 if n is too large.
func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	k := bits.Len(uint(n - 1)) // 2^(k-1) < n <= 2^k
	if k > maxPooledShift {
		return -1
	}
	step := 1 << (k - 3)
	j := (n - 1<<(k-1) + step - 1) / step // 1..4
	return (k-minClassShift-1)*4 + j
}

func classSize(c int) int {
	if c == 0 {
		return 1 << minClassShift
	}
	k := (c-1)/4 + minClassShift + 1
	j := (c-1)%4 + 1
	return 1<<(k-1) + j<<(k-3)
}

// getBuffer returns a buffer of at least n bytes holding one reference.
// Its contents are whatever the previous user left.
func getBuffer(n int) *buffer {
	c := classOf(n)
	size := n
	if c >= 0 {
		bc := &classes[c]
		bc.mu.Lock()
		if k := len(bc.free); k > 0 {
			b := bc.free[k-1]
			bc.free[k-1] = nil
			bc.free = bc.free[:k-1]
			bc.mu.Unlock()
			stats.idleBuffers.Add(-1)
			stats.idleBytes.Add(-int64(len(b.data)))
			stats.reuses.Add(1)
			stats.liveBuffers.Add(1)
			b.refs.Store(1)
			return b
		}
		bc.mu.Unlock()
		size = classSize(c)
	}
	b := &buffer{class: c, data: make([]byte, size)}
	b.refs.Store(1)
	stats.allocs.Add(1)
	stats.liveBuffers.Add(1)
	return b
}

// tryRetain adds a reference unless the buffer has already been released;
// a plain Add would resurrect a buffer sitting in (or taken from) the pool.
func (b *buffer) tryRetain() bool {
	for {
		n := b.refs.Load()
		if n <= 0 {
			return false
		}
		if b.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (b *buffer) release() {
	n := b.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		// Unreachable through the public API (Close uses CAS); continuing
		// would hand one buffer to two frames.
		panic("media: internal error: buffer released too often")
	}
	stats.liveBuffers.Add(-1)
	if b.class < 0 {
		return
	}
	size := int64(len(b.data))
	if stats.idleBytes.Load()+size > maxIdleBytes {
		return // let the GC have it; approximate bound is good enough
	}
	now := time.Now()
	bc := &classes[b.class]
	bc.mu.Lock()
	if len(bc.free) >= maxIdlePerClass {
		bc.mu.Unlock()
		return
	}
	b.idleSince = now
	bc.free = append(bc.free, b)
	bc.mu.Unlock()
	stats.idleBuffers.Add(1)
	stats.idleBytes.Add(size)
	if last := stats.sweptAt.Load(); now.UnixNano()-last >= int64(sweepEvery) && stats.sweptAt.CompareAndSwap(last, now.UnixNano()) {
		trimIdle(now, idleTTL)
	}
}

// trimIdle drops the pooled buffers that have been idle for ttl or longer
// at now. Each free list is ordered by idleSince (pushed and popped at the
// end), so the aged ones are a prefix.
func trimIdle(now time.Time, ttl time.Duration) {
	for i := range classes {
		bc := &classes[i]
		bc.mu.Lock()
		k := 0
		for k < len(bc.free) && now.Sub(bc.free[k].idleSince) >= ttl {
			stats.idleBuffers.Add(-1)
			stats.idleBytes.Add(-int64(len(bc.free[k].data)))
			k++
		}
		if k > 0 {
			n := copy(bc.free, bc.free[k:])
			clear(bc.free[n:])
			bc.free = bc.free[:n]
			stats.trimmed.Add(uint64(k))
		}
		bc.mu.Unlock()
	}
}

// TrimIdle drops the pooled buffers that nobody has taken for olderThan
// or longer. The pool does this by itself for buffers idle 10 s; call it to
// give memory back sooner (after a resolution change, say).
func TrimIdle(olderThan time.Duration) { trimIdle(time.Now(), olderThan) }

// freeList recycles frame handles. Handles are never freed to the GC while
// a stale frame value might point at them, which is fine: the generation
// check, not the pointer, decides whether a frame is open.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

func (l *freeList[T]) get() *T {
	l.mu.Lock()
	if k := len(l.items); k > 0 {
		x := l.items[k-1]
		l.items[k-1] = nil
		l.items = l.items[:k-1]
		l.mu.Unlock()
		return x
	}
	l.mu.Unlock()
	return new(T)
}

func (l *freeList[T]) put(x *T) {
	l.mu.Lock()
	if len(l.items) < maxIdleHandles {
		l.items = append(l.items, x)
	}
	l.mu.Unlock()
}

func (l *freeList[T]) trim() {
	l.mu.Lock()
	clear(l.items)
	l.items = nil
	l.mu.Unlock()
}

// core is the part of a handle shared by video and audio. gen is odd while
// the handle backs an open frame and even while it is closed or pooled, so
// no frame value (whose gen is always odd) can match a pooled handle.
type core struct {
	gen atomic.Uint64
	buf atomic.Pointer[buffer]
}

// close ends generation gen. Only the caller that wins the CAS gets the
// buffer back to release, which makes double and stale Close harmless.
func (c *core) close(gen uint64) (*buffer, bool) {
	if gen&1 == 0 || !c.gen.CompareAndSwap(gen, gen+1) {
		return nil, false
	}
	return c.buf.Swap(nil), true
}

// Stats is a snapshot of the frame pools.
type Stats struct {
	LiveVideoFrames int64 // open VideoFrames; every clone counts
	LiveAudioData   int64 // open AudioData; every clone counts
	LiveBuffers     int64 // buffers referenced by at least one open frame
	IdleBuffers     int64 // buffers waiting in the pool
	IdleBytes       int64
	BufferAllocs    uint64 // buffers allocated because the pool had none
	BufferReuses    uint64 // buffers taken from the pool
	// BuffersTrimmed are idle buffers dropped for having aged in the pool
	// (not those of TrimPool).
	BuffersTrimmed uint64
}

// PoolStats returns the current pool counters. Live counts returning to
// their earlier values is the intended leak check for code that handles
// frames; the counters are updated atomically but not as one snapshot.
func PoolStats() Stats {
	return Stats{
		LiveVideoFrames: stats.liveVideo.Load(),
		LiveAudioData:   stats.liveAudio.Load(),
		LiveBuffers:     stats.liveBuffers.Load(),
		IdleBuffers:     stats.idleBuffers.Load(),
		IdleBytes:       stats.idleBytes.Load(),
		BufferAllocs:    stats.allocs.Load(),
		BufferReuses:    stats.reuses.Load(),
		BuffersTrimmed:  stats.trimmed.Load(),
	}
}

// TrimPool drops all idle buffers and handles so the GC can reclaim them,
// e.g. after a resolution change or under memory pressure. Open frames are
// unaffected.
func TrimPool() {
	for i := range classes {
		bc := &classes[i]
		bc.mu.Lock()
		for _, b := range bc.free {
			stats.idleBuffers.Add(-1)
			stats.idleBytes.Add(-int64(len(b.data)))
		}
		clear(bc.free)
		bc.free = nil
		bc.mu.Unlock()
	}
	videoHandles.trim()
	audioHandles.trim()
}

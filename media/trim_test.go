package media

import (
	"testing"
	"time"
)

// idleIn returns how many buffers wait in n's class.
func idleIn(n int) int {
	bc := &classes[classOf(n)]
	bc.mu.Lock()
	defer bc.mu.Unlock()
	return len(bc.free)
}

// backdate makes the bottom k buffers of n's class look idle since d ago.
func backdate(n, k int, d time.Duration) []*buffer {
	bc := &classes[classOf(n)]
	bc.mu.Lock()
	defer bc.mu.Unlock()
	for _, b := range bc.free[:k] {
		b.idleSince = b.idleSince.Add(-d)
	}
	return append([]*buffer(nil), bc.free[k:]...)
}

func frames(t *testing.T, w, h, n int) []VideoFrame {
	t.Helper()
	var out []VideoFrame
	for range n {
		f, err := AllocVideoFrame(VideoFrameInit{Format: I420, CodedWidth: w, CodedHeight: h})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func closeAll(fs []VideoFrame) {
	for _, f := range fs {
		f.Close()
	}
}

// Buffers idle for idleTTL are dropped, the least recently used first;
// those used since are kept (the steady state still allocates nothing).
func TestTrimIdleAged(t *testing.T) {
	checkLeaks(t)
	TrimPool()
	const w, h = 1920, 1080
	n := w * h * 3 / 2
	closeAll(frames(t, w, h, 6))
	if got := idleIn(n); got != 6 {
		t.Fatalf("%d idle after closing 6 frames", got)
	}
	st := PoolStats()
	// Fresh buffers survive a sweep.
	trimIdle(time.Now(), idleTTL)
	if got := idleIn(n); got != 6 {
		t.Fatalf("sweep dropped fresh buffers: %d idle of 6", got)
	}
	// The bottom four have aged: exactly they go, the top two stay.
	keep := backdate(n, 4, idleTTL+time.Second)
	trimIdle(time.Now(), idleTTL)
	if got := idleIn(n); got != 2 {
		t.Fatalf("%d idle after the sweep, want the 2 recent ones", got)
	}
	bc := &classes[classOf(n)]
	bc.mu.Lock()
	if bc.free[0] != keep[0] || bc.free[1] != keep[1] {
		t.Error("the sweep kept the wrong buffers")
	}
	bc.mu.Unlock()
	after := PoolStats()
	if d := st.IdleBytes - after.IdleBytes; d != int64(4*classSize(classOf(n))) {
		t.Errorf("idle bytes fell by %d, want %d", d, 4*classSize(classOf(n)))
	}
	if after.BuffersTrimmed-st.BuffersTrimmed != 4 || st.IdleBuffers-after.IdleBuffers != 4 {
		t.Errorf("stats: trimmed %d, idle %d -> %d", after.BuffersTrimmed-st.BuffersTrimmed, st.IdleBuffers, after.IdleBuffers)
	}
	// The two left are reused without allocating.
	fs := frames(t, w, h, 2)
	if PoolStats().BufferAllocs != after.BufferAllocs {
		t.Error("the kept buffers were not reused")
	}
	closeAll(fs)
	TrimPool()
}

// The pool trims by itself: a release sweeps (at most once per
// sweepEvery), so a resolution that is no longer used gives its memory
// back while frames of another size keep flowing.
func TestReleaseSweeps(t *testing.T) {
	checkLeaks(t)
	TrimPool()
	big := 1920 * 1080 * 3 / 2
	closeAll(frames(t, 1920, 1080, 4)) // a 1080p publisher left
	backdate(big, 4, idleTTL+time.Second)
	stats.sweptAt.Store(time.Now().Add(-2 * sweepEvery).UnixNano())
	before := PoolStats().IdleBytes
	closeAll(frames(t, 640, 360, 1)) // the programme goes on at 360p
	if got := idleIn(big); got != 0 {
		t.Fatalf("%d aged 1080p buffers still pooled after a release", got)
	}
	if d := before - PoolStats().IdleBytes; d < int64(4*big-640*360*3/2) {
		t.Errorf("idle bytes fell by %d only", d)
	}
	// Paced: within sweepEvery of the last sweep (pinned here, so that a
	// slow machine cannot let a second pass), a release does not sweep.
	stats.sweptAt.Store(time.Now().Add(time.Hour).UnixNano())
	defer stats.sweptAt.Store(0)
	closeAll(frames(t, 1920, 1080, 2))
	backdate(big, 2, idleTTL+time.Second)
	closeAll(frames(t, 640, 360, 1))
	if got := idleIn(big); got != 2 {
		t.Fatalf("%d 1080p buffers pooled, want 2 (no second sweep within %v)", got, sweepEvery)
	}
	TrimIdle(idleTTL)
	if got := idleIn(big); got != 0 {
		t.Fatalf("TrimIdle left %d aged buffers", got)
	}
	TrimPool()
}

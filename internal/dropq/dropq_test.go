package dropq

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestDropsOldest: a full queue keeps the newest entries in order, hands
// each dropped one to the drop function once and counts it.
func TestDropsOldest(t *testing.T) {
	var dropped []int
	q := New(3, func(v int) { dropped = append(dropped, v) })
	for i := range 5 {
		if got, want := q.Push(i), i >= 3; got != want {
			t.Errorf("Push(%d) dropped %v, want %v", i, got, want)
		}
	}
	if q.Len() != 3 || q.Dropped() != 2 || len(dropped) != 2 || dropped[0] != 0 || dropped[1] != 1 {
		t.Fatalf("len %d dropped %d %v", q.Len(), q.Dropped(), dropped)
	}
	for want := 2; want < 5; want++ {
		if got := <-q.C(); got != want {
			t.Errorf("received %d, want %d", got, want)
		}
	}
	q.Push(7)
	q.Push(8)
	q.Drain()
	if q.Len() != 0 || q.Dropped() != 2 || len(dropped) != 4 || dropped[2] != 7 || dropped[3] != 8 {
		t.Errorf("after Drain: len %d dropped %d %v", q.Len(), q.Dropped(), dropped)
	}
	if New[int](0, nil).Push(1) {
		t.Error("a queue of capacity 0 (made 1) dropped on its first push")
	}
}

// TestConcurrentPushers: with many producers and a consumer at once,
// every entry is either received or dropped, exactly once (go test -race
// checks the rest).
func TestConcurrentPushers(t *testing.T) {
	const producers, each = 8, 2000
	var mu sync.Mutex
	seen := map[int]int{}
	count := func(v int) { mu.Lock(); seen[v]++; mu.Unlock() }
	q := New(4, count)
	done := make(chan struct{})
	go func() {
		for v := range q.C() {
			count(v)
		}
		close(done)
	}()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push(p*each + i)
			}
		}()
	}
	wg.Wait()
	q.Close() // the consumer ends once it has what is left
	<-done
	q.Push(-1) // after Close: dropped at once
	q.Close()
	q.Drain()
	if seen[-1] != 1 {
		t.Error("a push after Close was not handed to drop")
	}
	delete(seen, -1)
	if len(seen) != producers*each {
		t.Fatalf("%d distinct entries accounted for, want %d", len(seen), producers*each)
	}
	for v, n := range seen {
		if n != 1 {
			t.Fatalf("entry %d accounted for %d times", v, n)
		}
	}
}

type closer struct {
	v      int
	closed *[]int
}

func (c closer) Close() error { *c.closed = append(*c.closed, c.v); return nil }

// TestRing: a full ring closes its oldest entry; End keeps what is queued
// readable and then gives its reason; Close closes what is queued; pushes
// after either are closed and refused; a reader waiting on an empty ring
// stops with its context.
func TestRing(t *testing.T) {
	var closed []int
	r := NewRing[closer](2)
	for i := range 3 {
		if ev, err := r.Push(closer{i, &closed}); err != nil || ev != (i == 2) {
			t.Fatalf("Push(%d): %v %v", i, ev, err)
		}
	}
	if len(closed) != 1 || closed[0] != 0 {
		t.Fatalf("evicted %v", closed)
	}
	end := errors.New("the end")
	r.End(end)
	if _, err := r.Push(closer{9, &closed}); !errors.Is(err, ErrEnded) || closed[len(closed)-1] != 9 {
		t.Errorf("a push after End: %v, closed %v", err, closed)
	}
	for want := 1; want <= 2; want++ {
		if v, err := r.Read(context.Background()); err != nil || v.v != want {
			t.Fatalf("Read after End: %v %v, want %d", v, err, want)
		}
	}
	if _, err := r.Read(context.Background()); err != end {
		t.Errorf("Read past the end: %v", err)
	}
	r2 := NewRing[closer](4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r2.Read(ctx); err != context.Canceled {
		t.Errorf("a done context on an empty ring: %v", err)
	}
	r2.Push(closer{5, &closed})
	r2.Close(end)
	if closed[len(closed)-1] != 5 || r2.Stats().Dropped != 1 {
		t.Errorf("Close left %v, stats %+v", closed, r2.Stats())
	}
	if _, err := r2.Read(context.Background()); err != end {
		t.Errorf("Read after Close: %v", err)
	}
}

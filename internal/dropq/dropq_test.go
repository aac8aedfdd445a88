package dropq

import (
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

package glthread

import (
	"errors"
	"sync"
	"syscall"
	"testing"
)

// TestOneThread: every task runs on the same OS thread, whichever
// goroutine handed it over, and the idle hook runs once the queue is dry.
func TestOneThread(t *testing.T) {
	var tid int
	idles := 0
	th, err := Start(func() error { tid = syscall.Gettid(); return nil }, func() { idles++ })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := th.Call(func() error {
					mu.Lock()
					seen[syscall.Gettid()]++
					mu.Unlock()
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != 1 || seen[tid] != 400 {
		t.Errorf("tasks ran on threads %v, want all 400 on %d", seen, tid)
	}
	var n int
	th.Call(func() error { n = idles; return nil })
	if n == 0 {
		t.Error("idle hook never ran")
	}
	stopped := false
	th.Stop(func() { stopped = syscall.Gettid() == tid })
	if !stopped {
		t.Error("fini did not run on the GL thread")
	}
	if err := th.Call(func() error { return nil }); !errors.Is(err, ErrStopped) {
		t.Errorf("Call after Stop: %v", err)
	}
	th.Stop(nil) // idempotent
}

func TestStartError(t *testing.T) {
	want := errors.New("no context")
	if _, err := Start(func() error { return want }, nil); !errors.Is(err, want) {
		t.Errorf("Start returned %v", err)
	}
}

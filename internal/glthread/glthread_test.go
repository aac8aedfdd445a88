package glthread

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"
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

type countTask struct {
	ran, aborted *int
	gate         chan struct{}
}

func (c countTask) Run() {
	if c.gate != nil {
		<-c.gate
	}
	*c.ran++
}
func (c countTask) Abort() { *c.aborted++ }

// TestStopAbortsQueued: tasks queued behind Stop are aborted, not run, and
// nothing runs after fini; Call from the thread itself runs inline; Post
// from the thread is refused rather than deadlocking.
func TestStopAbortsQueued(t *testing.T) {
	th, err := Start(func() error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ran, aborted int
	gate := make(chan struct{})
	if err := th.Post(context.Background(), countTask{&ran, &aborted, gate}); err != nil {
		t.Fatal(err)
	}
	finiDone := false
	stopped := make(chan struct{})
	go func() {
		th.Stop(func() { finiDone = true })
		close(stopped)
	}()
	// Fill the queue behind the stop task while the first task blocks.
	posted := 0
	for i := 0; i < 10; i++ {
		if th.Post(context.Background(), countTask{&ran, &aborted, nil}) == nil {
			posted++
		}
	}
	close(gate)
	<-stopped
	if !finiDone {
		t.Error("fini did not run")
	}
	if ran+aborted != 1+posted {
		t.Errorf("ran %d + aborted %d, want %d tasks accounted for", ran, aborted, 1+posted)
	}
	if err := th.Post(context.Background(), countTask{&ran, &aborted, nil}); !errors.Is(err, ErrStopped) {
		t.Errorf("Post after Stop: %v", err)
	}
}

func TestReentrantCall(t *testing.T) {
	th, err := Start(func() error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer th.Stop(nil)
	err = th.Call(func() error {
		if !th.OnThread() {
			return errors.New("not on the thread")
		}
		if err := th.Call(func() error { return nil }); err != nil {
			return err
		}
		return th.Post(context.Background(), countTask{})
	})
	if !errors.Is(err, ErrReentrant) {
		t.Errorf("Post from the thread: %v, want ErrReentrant", err)
	}
}

// TestCallContext: a call the busy thread does not take up before the
// deadline never runs; BusySince says since when the thread is busy.
func TestCallContext(t *testing.T) {
	th, err := Start(func() error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer th.Stop(nil)
	if _, busy := th.BusySince(); busy {
		t.Error("idle thread reported busy")
	}
	release := make(chan struct{})
	started := make(chan struct{})
	go th.Call(func() error { close(started); <-release; return nil })
	<-started
	since, busy := th.BusySince()
	if !busy || time.Since(since) > time.Second {
		t.Errorf("busy thread: %v %v", since, busy)
	}
	ran := false
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := th.CallContext(ctx, func() error { ran = true; return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CallContext on a busy thread: %v", err)
	}
	close(release)
	if err := th.Call(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("a call given up on ran later")
	}
	if err := th.CallContext(context.Background(), func() error { return errors.New("x") }); err == nil || err.Error() != "x" {
		t.Errorf("CallContext result: %v", err)
	}
}

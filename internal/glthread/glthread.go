// Package glthread runs work on one goroutine locked to its OS thread for
// its whole life. OpenGL contexts are bound to a thread: a GL call from any
// other thread renders wrong pixels without raising a GL error, so every GL
// call in shadercast goes through a Thread.
package glthread

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrStopped is returned for work handed to a stopped thread.
var ErrStopped = errors.New("glthread: thread is stopped")

// ErrReentrant is returned when the thread would wait for itself.
var ErrReentrant = errors.New("glthread: called from the GL thread itself, which would wait for itself")

// Task is work for the thread. Implementations are usually pooled request
// structs, so that handing over a frame allocates nothing (a closure would).
type Task interface {
	// Run does the work on the thread.
	Run()
	// Abort is called instead of Run for a task that was queued when the
	// thread stopped; it must release whoever waits for the task.
	Abort()
}

// Thread owns one locked OS thread.
type Thread struct {
	idle  func()
	tasks chan Task
	done  chan struct{}
	tid   int

	// mu makes "not stopped" and "queued" one step for Post (read lock,
	// so posters do not queue behind each other), so that no task is
	// queued after the thread stopped draining (write lock).
	mu       sync.RWMutex
	stopped  bool
	stopOnce sync.Once

	// busySince is when the running task (or idle hook) started, in
	// Unix nanoseconds; 0 while the thread waits for work. Watchdogs read
	// it from other goroutines: GL calls cannot be interrupted, so how
	// long the thread has been inside one is all anyone can know.
	busySince atomic.Int64
}

// Start locks a new goroutine to its OS thread and runs init there; when
// init fails the thread exits and the error is returned. idle, when not nil,
// runs on the thread each time the queue runs dry after a task: the place to
// finish work that was left open in the hope of overlapping the next task.
func Start(init func() error, idle func()) (*Thread, error) {
	t := &Thread{
		idle:  idle,
		tasks: make(chan Task, 16),
		done:  make(chan struct{}),
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread stays locked on exit on purpose: Go then retires the
		// OS thread rather than reusing one that had a context bound.
		defer close(t.done)
		t.tid = syscall.Gettid()
		if err := init(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for task := range t.tasks {
			if s, ok := task.(*stop); ok {
				t.shutdown(s)
				return
			}
			t.busySince.Store(time.Now().UnixNano())
			task.Run()
			if t.idle != nil && len(t.tasks) == 0 {
				t.idle()
			}
			t.busySince.Store(0)
		}
	}()
	if err := <-errc; err != nil {
		<-t.done
		return nil, err
	}
	return t, nil
}

// OnThread reports whether the caller runs on the GL thread (only the
// thread's own goroutine can: it is locked to it).
func (t *Thread) OnThread() bool { return syscall.Gettid() == t.tid }

// Done is closed when the thread has ended.
func (t *Thread) Done() <-chan struct{} { return t.done }

// Post queues a task without waiting for it. It blocks while the queue is
// full, which bounds the work in flight, until ctx ends.
func (t *Thread) Post(ctx context.Context, task Task) error {
	if t.OnThread() {
		return ErrReentrant
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.stopped {
		return ErrStopped
	}
	select {
	case t.tasks <- task:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BusySince returns when the task the thread is running started, and false
// while it waits for work.
func (t *Thread) BusySince() (time.Time, bool) {
	ns := t.busySince.Load()
	if ns == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// Pending reports how many tasks are queued.
func (t *Thread) Pending() int { return len(t.tasks) }

// Call runs f on the thread and waits for it; on the thread itself it runs
// f directly. It allocates (the closure and a channel): use it for setup
// and control, not per frame.
func (t *Thread) Call(f func() error) error {
	if t.OnThread() {
		return f()
	}
	c := &call{f: f, done: make(chan error, 1)}
	if err := t.Post(context.Background(), c); err != nil {
		return err
	}
	return <-c.done
}

// CallContext is Call with a deadline: when ctx ends before the thread
// took f up, f never runs and ctx's error is returned. Once f has started
// it runs to the end and CallContext returns its result, since work on the
// thread cannot be interrupted halfway (the caller must know whether it
// happened).
func (t *Thread) CallContext(ctx context.Context, f func() error) error {
	if t.OnThread() {
		return f()
	}
	c := &call{f: f, done: make(chan error, 1)}
	if err := t.Post(ctx, c); err != nil {
		return err
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		if c.state.CompareAndSwap(callQueued, callCanceled) {
			return ctx.Err()
		}
		return <-c.done
	}
}

// Stop runs fini on the thread after the tasks queued before it, then ends
// the thread; tasks that arrive meanwhile are aborted, none runs after fini.
// It is safe to call more than once; only the first call runs fini.
func (t *Thread) Stop(fini func()) {
	t.stopOnce.Do(func() {
		if t.OnThread() {
			panic("glthread: Stop called from the GL thread")
		}
		t.mu.RLock()
		if !t.stopped {
			// The queue may be full, so this can wait; the thread
			// keeps consuming until it reaches this task.
			t.tasks <- &stop{fini: fini}
		}
		t.mu.RUnlock()
	})
	<-t.done
}

// shutdown runs on the thread: fini, then refuse and abort everything else.
func (t *Thread) shutdown(s *stop) {
	if s.fini != nil {
		s.fini()
	}
	for {
		// Drain while a Post may still hold mu waiting for room.
		select {
		case task := <-t.tasks:
			task.Abort()
			continue
		default:
		}
		if t.mu.TryLock() {
			t.stopped = true
			t.mu.Unlock()
			break
		}
		runtime.Gosched()
	}
	for {
		select {
		case task := <-t.tasks:
			task.Abort()
		default:
			return
		}
	}
}

type stop struct{ fini func() }

func (s *stop) Run()   {}
func (s *stop) Abort() {}

const (
	callQueued int32 = iota
	callRunning
	callCanceled
)

type call struct {
	f     func() error
	done  chan error
	state atomic.Int32 // callQueued, then callRunning or callCanceled
}

func (c *call) Run() {
	if !c.state.CompareAndSwap(callQueued, callRunning) {
		return // its caller gave up waiting
	}
	c.done <- c.f()
}

func (c *call) Abort() { c.done <- ErrStopped }

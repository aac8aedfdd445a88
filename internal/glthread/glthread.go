// Package glthread runs work on one goroutine locked to its OS thread for
// its whole life. OpenGL contexts are bound to a thread: a GL call from any
// other thread renders wrong pixels without raising a GL error, so every GL
// call in shadercast goes through a Thread.
package glthread

import (
	"errors"
	"runtime"
	"sync"
)

// ErrStopped is returned for work handed to a stopped thread.
var ErrStopped = errors.New("glthread: thread is stopped")

// Task is work for the thread. Implementations are usually pooled request
// structs, so that handing over a frame allocates nothing (a closure would).
type Task interface {
	Run()
}

// Thread owns one locked OS thread.
type Thread struct {
	idle  func()
	tasks chan Task
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Start locks a new goroutine to its OS thread and runs init there; when
// init fails the thread exits and the error is returned. idle, when not nil,
// runs on the thread each time the queue runs dry after a task: the place to
// finish work that was left open in the hope of overlapping the next task.
func Start(init func() error, idle func()) (*Thread, error) {
	t := &Thread{
		idle:  idle,
		tasks: make(chan Task, 16),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread stays locked on exit on purpose: Go then retires the
		// OS thread rather than reusing one that had a context bound.
		defer close(t.done)
		if err := init(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for {
			select {
			case task := <-t.tasks:
				task.Run()
				if t.idle != nil && len(t.tasks) == 0 {
					t.idle()
				}
			case <-t.quit:
				return
			}
		}
	}()
	if err := <-errc; err != nil {
		<-t.done
		return nil, err
	}
	return t, nil
}

// Post queues a task without waiting for it. It blocks while the queue is
// full, which bounds the work in flight.
func (t *Thread) Post(task Task) error {
	select {
	case <-t.quit:
		return ErrStopped
	default:
	}
	select {
	case t.tasks <- task:
		return nil
	case <-t.quit:
		return ErrStopped
	}
}

// Pending reports whether tasks are queued; the owner of the thread uses it
// to decide whether to overlap the next frame or finish the current one.
func (t *Thread) Pending() int { return len(t.tasks) }

// Call runs f on the thread and waits for it. It allocates (the closure and
// a channel): use it for setup and control, not per frame.
func (t *Thread) Call(f func() error) error {
	c := &call{f: f, done: make(chan error, 1)}
	if err := t.Post(c); err != nil {
		return err
	}
	select {
	case err := <-c.done:
		return err
	case <-t.done:
		// The thread may have run the task just before stopping.
		select {
		case err := <-c.done:
			return err
		default:
			return ErrStopped
		}
	}
}

// Stop runs fini on the thread after the queued tasks, then ends the thread.
// It is safe to call more than once; only the first call runs fini.
func (t *Thread) Stop(fini func()) {
	t.once.Do(func() {
		if fini != nil {
			_ = t.Call(func() error { fini(); return nil })
		}
		close(t.quit)
	})
	<-t.done
}

type call struct {
	f    func() error
	done chan error
}

func (c *call) Run() { c.done <- c.f() }

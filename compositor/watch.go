package compositor

// This file is what keeps a pipeline answerable while a shader misbehaves:
// the snapshot its readers get without waiting for the GL thread, control
// calls with a deadline, the record of which pass the GPU is working on
// (for watchdogs), and the holding out of passes that fail or overrun.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// ErrBusy matches the error of a control call that the GL thread did not
// take up within Config.ControlTimeout (use errors.Is); the error itself
// says what the thread is doing. The call changed nothing.
var ErrBusy = errors.New("compositor busy")

// Defaults of the Config fields that bound waiting.
const (
	DefaultControlTimeout = 5 * time.Second
	DefaultFrameDeadline  = 5 * time.Second
)

// Activity is what a device's GL thread is doing, for watchdogs and error
// messages. It is read without waiting for the thread.
type Activity struct {
	// Busy is true while the thread runs a task: a frame, a control call,
	// or the completion of earlier frames' readbacks.
	Busy bool
	// Since is when that task started.
	Since time.Time
	// Frame is true while the task renders frames (false for setup and
	// control calls).
	Frame bool
	// Pass is the pass whose commands the thread is waiting for or last
	// issued ("" when none).
	Pass string
}

// For is how long the current task has been running (0 when idle).
func (a Activity) For() time.Duration {
	if !a.Busy {
		return 0
	}
	return time.Since(a.Since)
}

func (a Activity) String() string {
	if !a.Busy {
		return "idle"
	}
	d := a.For().Round(100 * time.Millisecond)
	switch {
	case a.Frame && a.Pass != "":
		return fmt.Sprintf("a frame has been rendering for %v (pass %q)", d, a.Pass)
	case a.Frame:
		return fmt.Sprintf("a frame has been rendering for %v", d)
	case a.Pass != "":
		return fmt.Sprintf("setting up pass %q for %v", a.Pass, d)
	}
	return fmt.Sprintf("a task has been running for %v", d)
}

// activity is the device's side of Activity: written on the GL thread,
// read anywhere. Storing an entry pointer allocates nothing per frame.
type activity struct {
	frame   atomic.Bool
	current atomic.Pointer[chainEntry]
	setup   atomic.Pointer[string] // name of the pass being set up
}

// Activity reports what the device's GL thread is doing.
func (d *Device) Activity() Activity {
	since, busy := d.thread.BusySince()
	a := Activity{Busy: busy, Since: since}
	if !busy {
		return a
	}
	a.Frame = d.act.frame.Load()
	if e := d.act.current.Load(); e != nil && a.Frame {
		a.Pass = e.name
	} else if n := d.act.setup.Load(); n != nil {
		a.Pass = *n
	}
	return a
}

// Activity reports what the pipeline's GL thread (its device's) is doing.
func (p *Pipeline) Activity() Activity { return p.dev.Activity() }

// PassError reports a pass held out of the chain (Config.OnPassError).
type PassError struct {
	Pass string
	Err  error
	// Overrun is true when the pass made a frame overrun
	// Config.FrameDeadline and was disabled; false when it failed on a
	// frame and is bypassed until it changes.
	Overrun bool
}

// chainView is the pipeline as its readers see it: published by the GL
// thread after every control change and every frame that changed what it
// describes, replaced whole, never modified.
type chainView struct {
	passes  []PassInfo
	entries []*chainEntry
}

// publish makes the chain's current description the one readers get; GL
// thread.
func (p *Pipeline) publish() {
	v := &chainView{passes: make([]PassInfo, len(p.chain)), entries: slices.Clone(p.chain)}
	for i, e := range p.chain {
		v.passes[i] = describePass(e.pass, e.enabled)
		if e.err != nil {
			v.passes[i].Error = e.err.Error()
		}
	}
	p.view.Store(v)
}

// controlTimeout is the configured bound on waiting for the GL thread.
func (p *Pipeline) controlTimeout() time.Duration {
	if p.cfg.ControlTimeout > 0 {
		return p.cfg.ControlTimeout
	}
	return DefaultControlTimeout
}

func (p *Pipeline) frameDeadline() time.Duration {
	switch {
	case p.cfg.FrameDeadline > 0:
		return p.cfg.FrameDeadline
	case p.cfg.FrameDeadline < 0:
		return time.Duration(1<<63 - 1)
	}
	return DefaultFrameDeadline
}

// callTimeout runs f on the GL thread unless the thread does not take it
// up within the control timeout: then f never runs and the error (ErrBusy)
// says what the thread is doing instead.
func (p *Pipeline) callTimeout(f func() error) error {
	d := p.controlTimeout()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := p.dev.callContext(ctx, f)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		if a := p.dev.Activity(); a.Busy {
			return fmt.Errorf("%w: %v; the change was not made (waited %v)", ErrBusy, a, d)
		}
		return fmt.Errorf("%w: the GL thread did not take the change within %v; it was not made", ErrBusy, d)
	}
	return err
}

// passMark is a fence after one pass's commands on a GPU, so that waiting
// for a frame can say which pass the GPU is still on.
type passMark struct {
	fence uintptr
	e     *chainEntry
	frame uint64    // the pipeline's frame index
	start time.Time // when that frame started rendering
}

// passIssued runs on the GL thread after a pass's commands: the device
// then says it renders e until the GPU is done with it. On a software
// renderer the thread waits for the pass right away (the rasterizer
// threads would be waited for at the next framebuffer switch or readback
// anyway), so a slow pass is caught where it runs; on a GPU a fence marks
// the pass and the wait happens where the frame is read back (settle).
func (p *Pipeline) passIssued(e *chainEntry) {
	p.dev.act.current.Store(e)
	if p.dev.info.Software {
		gl.Finish()
		p.checkOverrun(e, p.frameStart)
		return
	}
	p.marks = append(p.marks, passMark{fence: p.dev.newFence(), e: e, frame: p.frames - 1, start: p.frameStart})
}

// settle waits, in order, for the passes of frames up to frame whose
// commands were issued but not known complete; GL thread.
func (p *Pipeline) settle(frame uint64) {
	n := 0
	for _, m := range p.marks {
		if m.frame > frame {
			break
		}
		p.dev.act.current.Store(m.e)
		for {
			st := gl.ClientWaitSync(m.fence, gl.SYNC_FLUSH_COMMANDS_BIT, uint64(100*time.Millisecond))
			if st != gl.TIMEOUT_EXPIRED {
				break // signalled, or failed: the readback's own wait reports that
			}
		}
		p.dev.deleteFence(&m.fence)
		p.checkOverrun(m.e, m.start)
		n++
	}
	if n > 0 {
		copy(p.marks, p.marks[n:])
		clear(p.marks[len(p.marks)-n:])
		p.marks = p.marks[:len(p.marks)-n]
	}
}

// checkOverrun runs when e's commands of a frame that started at start
// completed: if the frame had by then run past the deadline, e is the pass
// it overran in; it is disabled (once per frame).
func (p *Pipeline) checkOverrun(e *chainEntry, start time.Time) {
	took := time.Since(start)
	if took <= p.frameDeadline() || p.blamed == start {
		return
	}
	p.blamed = start
	p.disableOverrun(e, took)
}

// disableOverrun takes e out of the chain after a frame overran in it.
func (p *Pipeline) disableOverrun(e *chainEntry, took time.Duration) {
	if e.gone {
		return // removed meanwhile
	}
	p.stats.overruns.Add(1)
	e.enabled, e.overran = false, true
	e.err = fmt.Errorf("a frame took %v rendering this pass, past the %v frame deadline: the pass is disabled (enable it again, or replace it, to retry)",
		took.Round(10*time.Millisecond), p.frameDeadline())
	p.publish()
	if e.chain != nil {
		e.chain.publish()
	}
	if p.cfg.OnPassError != nil {
		p.cfg.OnPassError(PassError{Pass: e.name, Err: e.err, Overrun: true})
	}
}

// passFailed holds out a pass whose render failed: the frame goes on
// without it, and it is tried again once it changes (replaced, an input
// set, enabled again, a new frame size).
func (p *Pipeline) passFailed(e *chainEntry, err error) {
	_ = glError("") // a failed pass may leave GL errors; they are not the next pass's
	p.stats.passFailures.Add(1)
	e.err = fmt.Errorf("pass %q failed on frame %d and is bypassed until it changes: %w", e.name, p.frames-1, err)
	p.publish()
	if e.chain != nil {
		e.chain.publish()
	}
	if p.cfg.OnPassError != nil {
		p.cfg.OnPassError(PassError{Pass: e.name, Err: e.err})
	}
}

// frameDone ends a frame's watch: a frame that overran without being
// caught in a pass wait (a driver that blocked elsewhere) is blamed on
// the pass last issued.
func (p *Pipeline) frameDone() {
	if e := p.dev.act.current.Load(); e != nil {
		p.checkOverrun(e, p.frameStart)
	}
	p.dev.act.current.Store(nil)
	p.dev.act.frame.Store(false)
	if p.dirty {
		p.dirty = false
		p.publish()
	}
}

// Package pace schedules the frames of file and synthetic sources in real
// time. Frame i is due at origin + its media timestamp, computed from one
// monotonic origin rather than by sleeping one frame period after each
// frame, so that sleep overshoot does not accumulate into drift. Several
// streams of one source (video and audio) share a Clock, so that a frame and
// a sample block carrying the same timestamp are released together.
package pace

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Wait once the stream's done channel is closed.
var ErrClosed = errors.New("pace: source closed")

// Clock is the shared wall-clock origin: the time of the first Wait on any
// of its streams, which is media time zero.
type Clock struct {
	mu     sync.Mutex
	origin time.Time
	set    bool
}

func (c *Clock) start(now time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set {
		c.origin, c.set = now, true
	}
	return c.origin
}

// Stream paces one sequence of timestamps against a Clock. A Stream is used
// by one goroutine at a time; different Streams of one Clock may run
// concurrently.
type Stream struct {
	Clock *Clock
	// Slack is how late a frame may be before the stream re-anchors: a
	// caller that fell further behind (a stalled consumer, a slow disk) gets
	// the late frame at once and the schedule is shifted so that the frames
	// after it are paced from now, instead of being released in a burst to
	// catch up. Typically one frame period.
	Slack time.Duration
	// lag is the stream's total re-anchoring shift. It is per stream: one
	// slow reader must not stall the other, and the media timestamps (which
	// carry A/V sync) are unaffected either way.
	lag   time.Duration
	timer *time.Timer
}

// Wait blocks until media time ts (from the clock's origin) is due, ctx is
// done (ctx.Err()) or done is closed (ErrClosed). A frame that is already
// due returns at once.
func (s *Stream) Wait(ctx context.Context, ts time.Duration, done <-chan struct{}) error {
	select {
	case <-done:
		return ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	due := s.Clock.start(now).Add(s.lag + ts)
	d := due.Sub(now)
	if d <= 0 {
		if -d > s.Slack {
			s.lag += -d
		}
		return nil
	}
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	select {
	case <-s.timer.C:
		return nil
	case <-ctx.Done():
		s.timer.Stop()
		return ctx.Err()
	case <-done:
		s.timer.Stop()
		return ErrClosed
	}
}

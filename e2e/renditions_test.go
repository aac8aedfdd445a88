package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtctest"
)

// TestRenditionLadder: with the default ladder (1/2 and 1/4 of a 320x180
// canvas: 90p and 44p), a viewer asking for a rung by name receives it at
// its size, in its codec, following the programme; the rungs nobody
// receives are neither made nor encoded, and one stops being encoded when
// its viewer leaves. An unknown rung is refused with the rungs listed.
func TestRenditionLadder(t *testing.T) {
	s := start(t, nil, nil, "--scenes", redBlueScenes(t), "--no-barcode")
	red, blue := [3]float64{192, 32, 32}, [3]float64{32, 64, 192}
	rungs := func() map[string]renditionStats {
		m := map[string]renditionStats{}
		for _, r := range s.stats(t, "").Renditions {
			m[r.Name] = r
		}
		return m
	}
	if r := rungs(); len(r) != 3 || r["180p"].Width != 320 || r["90p"].Width != 160 || r["44p"].Width != 80 || r["44p"].Height != 44 {
		t.Fatalf("renditions in /api/stats: %+v", r)
	}
	time.Sleep(time.Second)
	for name, r := range rungs() {
		if r.InUse || r.VP8.Samples+r.H264.Samples != 0 || name != "180p" && r.Frames != 0 {
			t.Errorf("%s with nobody watching: %+v (made, encoded)", name, r)
		}
	}

	watchRung := func(rung string, codec string) *rtctest.Viewer {
		v := rtctest.NewViewer(t, rtctest.ViewerConfig{Codecs: []string{codec}})
		v.Watch(t, s.URL+"whep?rendition="+rung, "")
		return v
	}
	half := watchRung("90p", webrtc.MimeTypeVP8)
	quarter := watchRung("44p", webrtc.MimeTypeH264)
	sees := func(v *rtctest.Viewer, w, h int, want [3]float64) func() bool {
		return func() bool {
			f, ok := v.Latest()
			if !ok {
				return false
			}
			defer f.Close()
			if f.CodedWidth() != w || f.CodedHeight() != h {
				return false
			}
			var got [3]float64
			got[0], got[1], got[2] = meanRGB(f.VideoFrame, w/4, h/4, 3*w/4, 3*h/4)
			return near(got, want, 20)
		}
	}
	eventually(t, 20*time.Second, "the 90p rung, red, in VP8", sees(half, 160, 90, red))
	eventually(t, 20*time.Second, "the 44p rung, red, in H.264", sees(quarter, 80, 44, red))
	if !strings.EqualFold(half.Codec(), webrtc.MimeTypeVP8) || !strings.EqualFold(quarter.Codec(), webrtc.MimeTypeH264) {
		t.Errorf("codecs received: %s and %s", half.Codec(), quarter.Codec())
	}
	r := rungs()
	if !r["90p"].InUse || r["90p"].Viewers != 1 || r["44p"].Viewers != 1 || r["180p"].Viewers != 0 || r["90p"].Frames == 0 || r["90p"].VP8.Samples == 0 || r["90p"].H264.Samples != 0 ||
		!r["44p"].InUse || r["44p"].H264.Samples == 0 || r["44p"].VP8.Samples != 0 || r["180p"].InUse {
		t.Errorf("rungs with a 90p VP8 and a 44p H.264 viewer: %+v", r)
	}
	if r["90p"].VP8.TargetBitrate >= r["180p"].VP8.TargetBitrate || r["44p"].H264.TargetBitrate >= r["90p"].VP8.TargetBitrate {
		t.Errorf("targets do not fall down the ladder: %+v", r)
	}
	if code, body := s.request(t, "POST", "api/scenes/b/activate", "", "application/json", ""); code != 200 {
		t.Fatalf("activate b: %d %s", code, body)
	}
	eventually(t, 20*time.Second, "the 90p rung turning blue", sees(half, 160, 90, blue))
	eventually(t, 20*time.Second, "the 44p rung turning blue", sees(quarter, 80, 44, blue))

	if code, body, _ := postSDP(t, s.URL+"whep?rendition=2160p", "", viewerOffer(t)); code != http.StatusBadRequest || !strings.Contains(body, "90p") {
		t.Errorf("an unknown rung: %d %q, want 400 naming the rungs", code, body)
	}

	half.Close()
	eventually(t, 15*time.Second, "the 90p rung no longer made nor encoded", func() bool {
		before := rungs()["90p"]
		time.Sleep(500 * time.Millisecond)
		r := rungs()["90p"]
		return !r.InUse && r.VP8.Samples == before.VP8.Samples && r.Frames == before.Frames
	})
	if !rungs()["44p"].InUse {
		t.Error("the 44p rung stopped with its viewer still there")
	}
}

// TestLadderThrottledViewer: issue 13's WHEP check. Two viewers of the
// default service (720p30, ladder 360p and 180p), one behind a link that
// lets in 700 kbit/s: it moves down to a smaller rendition and goes on
// decoding, while the other keeps the full size.
func TestLadderThrottledViewer(t *testing.T) {
	s := start(t, nil, nil, "--no-barcode")
	fast := rtctest.NewViewer(t, rtctest.ViewerConfig{Codecs: []string{webrtc.MimeTypeVP8}})
	fast.Watch(t, s.URL+"whep", "")
	slow := rtctest.NewViewer(t, rtctest.ViewerConfig{Codecs: []string{webrtc.MimeTypeVP8}, Throttle: 700_000})
	slow.Watch(t, s.URL+"whep", "")
	begin := time.Now()
	eventually(t, 40*time.Second, "the throttled viewer on a smaller rendition", func() bool {
		f, ok := slow.Latest()
		if !ok {
			return false
		}
		defer f.Close()
		return f.CodedWidth() < 1280
	})
	moved := time.Now()
	t.Logf("the throttled viewer moved down after %v", moved.Sub(begin).Round(100*time.Millisecond))
	slow.WaitFrames(t, 30, 10*time.Second)
	time.Sleep(2 * time.Second)
	var top, other int
	for _, fi := range fast.Log() {
		if fi.Arrived.Before(begin.Add(2 * time.Second)) {
			continue
		}
		if fi.W == 1280 && fi.H == 720 {
			top++
		} else {
			other++
		}
	}
	// GCC on a loaded machine may move it down for a moment (it probes
	// back up within seconds): most of its frames are the full size.
	if top < 30 || other*4 > top {
		t.Errorf("the unthrottled viewer decoded %d frames at 1280x720 and %d smaller: it should keep the full size", top, other)
	}
	var r []renditionStats
	viewers := 0
	for _, x := range s.stats(t, "").Renditions {
		if x.InUse {
			r = append(r, x)
		}
		viewers += x.Viewers
	}
	if len(r) < 2 || viewers != 2 {
		t.Errorf("renditions in use with a fast and a throttled viewer: %+v (%d viewers counted)", r, viewers)
	}
}

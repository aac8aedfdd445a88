package e2e

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gstPeer is what testdata/webrtcbin.py reports.
type gstPeer struct {
	Status      int      `json:"status"`
	AnswerMedia []string `json:"answer_media"`
	Frames      int      `json:"frames"`
	AudioRMS    float64  `json:"audio_rms"`
	AudioHz     float64  `json:"audio_hz"`
	Error       string   `json:"error"`
}

// needGStreamer fails the test, saying what to install, unless the
// system Python has GStreamer's webrtcbin and the elements the script
// uses (scripts/install-deps installs them).
func needGStreamer(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	check := `import gi; gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0"); gi.require_version("GstSdp", "1.0")
from gi.repository import Gst; Gst.init(None)
missing = [e for e in ("webrtcbin", "x264enc", "vp8enc", "opusenc", "avdec_h264", "vp8dec", "opusdec", "nicesrc") if Gst.ElementFactory.find(e) is None]
print(" ".join(missing))`
	out, err := exec.Command(py, "-c", check).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("GStreamer's webrtcbin with Python is needed (scripts/install-deps installs gstreamer1.0-plugins-bad gstreamer1.0-nice python3-gst-1.0 gstreamer1.0-libav gstreamer1.0-plugins-ugly): %v %s", err, out)
	}
	return py
}

// runPeer runs the webrtcbin peer and returns its report; poll, when set,
// is called every 200 ms while it runs.
func runPeer(t *testing.T, py string, poll func(), args ...string) gstPeer {
	t.Helper()
	script, _ := filepath.Abs("testdata/webrtcbin.py")
	cmd := exec.Command(py, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "GST_DEBUG=0")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
loop:
	for {
		select {
		case err = <-done:
			break loop
		case <-time.After(200 * time.Millisecond):
			if poll != nil {
				poll()
			}
		}
	}
	var p gstPeer
	if jerr := json.Unmarshal([]byte(strings.TrimSpace(stdout.String())), &p); jerr != nil {
		t.Fatalf("webrtcbin peer %v: %v, output %q", args, err, stdout.String())
	}
	return p
}

// answered reports whether the answer's section of media (video, audio)
// is open (its port not 0).
func answered(p gstPeer, media string) bool {
	for _, m := range p.AnswerMedia {
		if strings.HasPrefix(m, "m="+media+" ") {
			return !strings.HasPrefix(m, "m="+media+" 0 ")
		}
	}
	return false
}

// TestGStreamerPublishers: GStreamer's webrtcbin publishes to /whip in
// each codec (VP8, H.264 constrained baseline, H.264 high), bundle policy
// and section order. With BUNDLE (max-bundle sends the second section
// bundle-only, max-compat does not) video and sound are decoded; without
// it (none) the video section is answered alone and the sound rejected;
// without it and audio first, 400 says what to offer (webrtcbin 1.22 does
// not start a section after a rejected one: "not mentioned in this
// description").
func TestGStreamerPublishers(t *testing.T) {
	py := needGStreamer(t)
	s := start(t, nil, nil, "--input", "whip", "--no-barcode")
	type ingest struct {
		WhipIngest []struct {
			VideoCodec string `json:"videoCodec"`
			Stats      struct {
				FramesDecoded, AudioDecoded uint64
			} `json:"stats"`
		} `json:"whipIngest"`
	}
	for _, codec := range []string{"vp8", "h264", "h264high"} {
		for _, bundle := range []string{"max-bundle", "max-compat", "none"} {
			for _, audioFirst := range []bool{false, true} {
				if codec == "h264high" && (bundle != "max-bundle" || audioFirst) {
					continue // the profile, once
				}
				name := codec + "/" + bundle
				args := []string{"publish", s.URL + "whip", "--codec", codec, "--bundle", bundle, "--seconds", "3"}
				if audioFirst {
					name += "/audio-first"
					args = append(args, "--audio-first")
				}
				t.Run(name, func(t *testing.T) {
					var mu sync.Mutex
					var frames, audio uint64
					var vcodec string
					p := runPeer(t, py, func() {
						var st ingest
						s.getJSON(t, "api/stats", "", &st)
						mu.Lock()
						defer mu.Unlock()
						for _, in := range st.WhipIngest {
							frames, audio = max(frames, in.Stats.FramesDecoded), max(audio, in.Stats.AudioDecoded)
							if in.VideoCodec != "" {
								vcodec = in.VideoCodec
							}
						}
					}, args...)
					mu.Lock()
					defer mu.Unlock()
					t.Logf("%d, answer %v; decoded %d frames (%s), %d sound packets", p.Status, p.AnswerMedia, frames, vcodec, audio)
					if bundle == "none" && audioFirst {
						if p.Status != 400 || !strings.Contains(p.Error, "max-bundle") {
							t.Errorf("POST: %d %q, want 400 saying what to offer", p.Status, p.Error)
						}
						return
					}
					if p.Status != 201 || !answered(p, "video") {
						t.Fatalf("POST: %d %s, answer %v", p.Status, p.Error, p.AnswerMedia)
					}
					withAudio := bundle != "none"
					if answered(p, "audio") != withAudio {
						t.Errorf("audio section answered: %v, want %v", answered(p, "audio"), withAudio)
					}
					wantCodec := map[string]string{"vp8": "video/VP8", "h264": "video/H264", "h264high": "video/H264"}[codec]
					if frames < 30 || vcodec != wantCodec {
						t.Errorf("decoded %d frames of %q, want ≥ 30 of %s", frames, vcodec, wantCodec)
					}
					if withAudio && audio < 30 {
						t.Errorf("decoded %d sound packets, want ≥ 30", audio)
					}
				})
				eventually(t, 10*time.Second, "the publisher gone", func() bool {
					var st ingest
					s.getJSON(t, "api/stats", "", &st)
					return len(st.WhipIngest) == 0
				})
			}
		}
	}
}

// TestGStreamerViewers: GStreamer's webrtcbin views /whep in each codec
// and bundle policy: it decodes the programme's frames and hears its
// 440 Hz tone; without BUNDLE it gets the video alone.
func TestGStreamerViewers(t *testing.T) {
	py := needGStreamer(t)
	file := filepath.Join(t.TempDir(), "tone.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 640, "height": 360, "fps": 30},
 "sources": {"t": {"type": "testsrc", "width": 640, "height": 360, "tone": 440}},
 "scenes": {"a": {"layers": [{"source": "t"}]}}, "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	for _, codec := range []string{"vp8", "h264"} {
		for _, bundle := range []string{"max-bundle", "max-compat", "none"} {
			t.Run(codec+"/"+bundle, func(t *testing.T) {
				p := runPeer(t, py, nil, "view", s.URL+"whep", "--codec", codec, "--bundle", bundle, "--seconds", "4")
				t.Logf("%d, answer %v; %d frames, sound RMS %.3f at %.0f Hz", p.Status, p.AnswerMedia, p.Frames, p.AudioRMS, p.AudioHz)
				if p.Status != 201 {
					t.Fatalf("POST: %d %s", p.Status, p.Error)
				}
				if p.Frames < 60 {
					t.Errorf("%d frames decoded in 4 s, want ≥ 60", p.Frames)
				}
				withAudio := bundle != "none"
				if answered(p, "audio") != withAudio {
					t.Errorf("audio section answered: %v, want %v", answered(p, "audio"), withAudio)
				}
				if withAudio && (p.AudioRMS < 0.05 || math.Abs(p.AudioHz-440) > 30) {
					t.Errorf("heard RMS %.3f at %.0f Hz, want the 440 Hz tone", p.AudioRMS, p.AudioHz)
				}
			})
		}
	}
}

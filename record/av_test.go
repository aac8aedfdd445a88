package record

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/codec/opus"
	"github.com/shadercast/shadercast/internal/codectest"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
)

// avStream is what ffprobe says of a stream of a file with sound.
type avStream struct {
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Channels     int    `json:"channels"`
	StartTime    string `json:"start_time"`
	NbReadFrames string `json:"nb_read_frames"`
}

func probeAV(t *testing.T, path string) (video, audio avStream, duration float64) {
	t.Helper()
	out := tool(t, "ffprobe", "-v", "error", "-show_streams", "-show_format", "-count_frames", "-of", "json", path)
	var res struct {
		Streams []avStream
		Format  struct {
			Duration string `json:"duration"`
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	for _, s := range res.Streams {
		switch s.CodecType {
		case "video":
			video = s
		case "audio":
			audio = s
		}
	}
	duration, _ = strconv.ParseFloat(res.Format.Duration, 64)
	return video, audio, duration
}

// avSource encodes n frames of 640x360 video (the codec's) and the
// matching seconds of the 440 Hz tone (Opus, mono), both on one clock
// starting at start µs, with the audio 100 ms late; it hands them to
// video and audio in time order.
func avSource(t *testing.T, codec string, n int, start int64, video func(data []byte, key bool, ts int64), audio func(data []byte, ts int64)) {
	t.Helper()
	const w, h = 640, 360
	mime := webrtc.MimeTypeVP8
	if codec == "h264" {
		mime = webrtc.MimeTypeH264
	}
	enc, _, err := rtctest.NewEncoder(mime, w, h, 800_000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	aenc, err := opus.NewEncoder(opus.EncoderConfig{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer aenc.Close()
	ablock := int64(0)
	for i := range n {
		ts := start + int64(i)*codectest.FrameDur
		// The sound due by this frame's time, 100 ms late.
		for start+100_000+ablock*20_000 <= ts {
			a, err := mediatest.Tone(ablock, 440)
			if err != nil {
				t.Fatal(err)
			}
			a2, err := a.WithTimestamp(start + 100_000 + ablock*20_000)
			a.Close()
			if err != nil {
				t.Fatal(err)
			}
			pkts, err := aenc.Encode(a2)
			a2.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pkts {
				audio(p.Data, p.PTS)
			}
			ablock++
		}
		f := codectest.Pattern(t, w, h, ts, 3*i, true)
		data, key, err := enc.Encode(f, i%30 == 0, nil) // an IDR a second: the MP4's fragments start there
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		video(data, key, ts)
	}
}

// checkAV: the file holds the video in its codec at 640x360 and n frames,
// Opus audio, lasts about n frames, and its audio starts 100 ms after its
// video, as written.
func checkAV(t *testing.T, path, vcodec string, n int) {
	t.Helper()
	v, a, d := probeAV(t, path)
	if v.CodecName != vcodec || v.Width != 640 || v.Height != 360 {
		t.Errorf("video stream %+v", v)
	}
	if frames, _ := strconv.Atoi(v.NbReadFrames); frames < n-1 || frames > n {
		t.Errorf("%s video frames decoded, want %d", v.NbReadFrames, n)
	}
	if a.CodecName != "opus" || a.Channels != 1 {
		t.Errorf("audio stream %+v", a)
	}
	if want := float64(n) / 30; math.Abs(d-want) > 0.15 {
		t.Errorf("duration %.3f s, want %.3f", d, want)
	}
	vs, _ := strconv.ParseFloat(v.StartTime, 64)
	as, _ := strconv.ParseFloat(a.StartTime, 64)
	if off := as - vs; math.Abs(off-0.1) > 0.03 {
		t.Errorf("audio starts %.3f s after video, want 0.100 (video %s, audio %s)", off, v.StartTime, a.StartTime)
	}
	t.Logf("%s: video %s %dx%d %s frames, audio %s, %.3f s, audio %.3f s after video", filepath.Base(path), v.CodecName, v.Width, v.Height,
		v.NbReadFrames, a.CodecName, d, as-vs)
}

// TestWebM: VP8 and Opus written as sent make a WebM that ffprobe reads
// whole, with the audio's offset kept.
func TestWebM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.webm")
	m, err := CreateWebM(path, 640, 360, 1, 312)
	if err != nil {
		t.Fatal(err)
	}
	avSource(t, "vp8", 90, 5_000_000,
		func(d []byte, k bool, ts int64) {
			if err := m.WriteVideo(d, k, ts); err != nil {
				t.Fatal(err)
			}
		},
		func(d []byte, ts int64) {
			if err := m.WriteAudio(d, ts); err != nil {
				t.Fatal(err)
			}
		})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	checkAV(t, path, "vp8", 90)
}

// TestMP4: H.264 and Opus written as sent make a fragmented MP4 that
// ffprobe reads whole, with the audio's offset kept; the file of a
// recording never closed (the process killed) plays up to its last
// fragment.
func TestMP4(t *testing.T) {
	dir := t.TempDir()
	path, cut := filepath.Join(dir, "out.mp4"), filepath.Join(dir, "cut.mp4")
	m, err := CreateMP4(path, 1, 312)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(cut)
	if err != nil {
		t.Fatal(err)
	}
	killed := NewMP4(f, 1, 312) // never closed: what a SIGKILL leaves
	defer f.Close()
	avSource(t, "h264", 120, 7_000_000,
		func(d []byte, k bool, ts int64) {
			if err := m.WriteVideo(d, k, ts); err != nil {
				t.Fatal(err)
			}
			if err := killed.WriteVideo(d, k, ts); err != nil {
				t.Fatal(err)
			}
		},
		func(d []byte, ts int64) {
			if err := m.WriteAudio(d, ts); err != nil {
				t.Fatal(err)
			}
			if err := killed.WriteAudio(d, ts); err != nil {
				t.Fatal(err)
			}
		})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	checkAV(t, path, "h264", 120)
	// Fragments start at the IDRs (every 30 frames) once a second has
	// passed: the cut file ends at the last fragment written, 90 frames.
	v, a, d := probeAV(t, cut)
	if frames, _ := strconv.Atoi(v.NbReadFrames); v.CodecName != "h264" || frames < 60 || a.CodecName != "opus" || d < 2 {
		t.Errorf("the file of a killed recording: video %+v, audio %+v, %.3f s", v, a, d)
	}
	t.Logf("killed recording: %s video frames, %.3f s", v.NbReadFrames, d)
}

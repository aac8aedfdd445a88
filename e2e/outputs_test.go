package e2e

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/y4m"
	"github.com/shadercast/shadercast/whip"
)

// probeStream is what ffprobe says about a file's first stream.
type probeStream struct {
	CodecName    string `json:"codec_name"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	NbReadFrames string `json:"nb_read_frames"`
}

func ffprobe(t testing.TB, path string) probeStream {
	t.Helper()
	needTool(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", path, err, msg)
	}
	var r struct {
		Streams []probeStream `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return r.Streams[0]
}

// lumaStdDev is the standard deviation of a frame's Y plane.
func lumaStdDev(f media.VideoFrame) float64 {
	p, _ := f.Plane(0)
	var s, s2, n float64
	for y := 0; y < p.Height; y += 2 {
		for x := 0; x < p.Width; x += 2 {
			v := float64(p.Data[y*p.Stride+x])
			s, s2, n = s+v, s2+v*v, n+1
		}
	}
	m := s / n
	return math.Sqrt(s2/n - m*m)
}

// TestRecordings: --record FILE.ivf and FILE.y4m while the test source
// plays, then SIGTERM: ffprobe reads both as 1280x720 with at least a
// second of frames, and the Y4M's first frame is the test scene.
func TestRecordings(t *testing.T) {
	needTool(t, "ffprobe")
	dir := t.TempDir()
	ivf, y4mPath := filepath.Join(dir, "a.ivf"), filepath.Join(dir, "b.y4m")
	s := start(t, nil, nil, "--record", ivf, "--record", y4mPath)
	// Recording starts with the first frames, viewers or not.
	eventually(t, 30*time.Second, "60 composited frames", func() bool { return s.stats(t, "").Frames.Out >= 60 })
	time.Sleep(time.Second)
	s.stop(t)
	if s.err != nil {
		t.Fatalf("exit: %v", s.err)
	}

	for _, c := range []struct{ path, codec string }{{ivf, "vp8"}, {y4mPath, "rawvideo"}} {
		st := ffprobe(t, c.path)
		var n int
		if err := json.Unmarshal([]byte(st.NbReadFrames), &n); err != nil {
			t.Errorf("%s: nb_read_frames %q", c.path, st.NbReadFrames)
		}
		if st.CodecName != c.codec || st.Width != 1280 || st.Height != 720 || n < 30 {
			t.Errorf("%s: ffprobe says %s %dx%d, %d frames; want %s 1280x720, ≥ 30 frames", filepath.Base(c.path), st.CodecName, st.Width, st.Height, n, c.codec)
		}
	}

	f, err := os.Open(y4mPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := y4m.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	if fr.CodedWidth() != 1280 || fr.CodedHeight() != 720 {
		t.Fatalf("first recorded frame %dx%d", fr.CodedWidth(), fr.CodedHeight())
	}
	// The scene is textured with barcodes on it: far from uniform.
	if sd := lumaStdDev(fr); sd < 20 {
		t.Errorf("first recorded frame's luma varies by σ=%.1f: not the test scene", sd)
	}
}

// ingestServer is an external WHIP server (shadercast's own whip.Handler)
// on a fixed address, so it can be killed and started again there.
type ingestServer struct {
	h    *whip.Handler
	srv  *httptest.Server
	pubs chan *whip.Publication
}

func startIngestServer(t *testing.T, addr string) *ingestServer {
	t.Helper()
	in := &ingestServer{pubs: make(chan *whip.Publication, 4)}
	se := loopbackEngine()
	h, err := whip.NewHandler(whip.Config{SettingEngine: &se, OnPublish: func(p *whip.Publication) { in.pubs <- p }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whip", h)
	mux.Handle("/whip/", h)
	var l net.Listener
	// The old server's port may take a moment to be free again.
	for i := 0; ; i++ {
		if l, err = net.Listen("tcp4", addr); err == nil {
			break
		}
		if i == 20 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	in.h, in.srv = h, httptest.NewUnstartedServer(mux)
	in.srv.Listener.Close()
	in.srv.Listener = l
	in.srv.Start()
	t.Cleanup(in.kill)
	return in
}

func (in *ingestServer) kill() {
	in.h.Close()
	in.srv.CloseClientConnections()
	in.srv.Close()
}

// readPushed waits for a publication and reads frames from it until one
// is 1280x720 and textured (the test scene), returning how many it read.
func readPushed(t *testing.T, in *ingestServer, within time.Duration) *whip.Publication {
	t.Helper()
	var p *whip.Publication
	select {
	case p = <-in.pubs:
	case <-time.After(within):
		t.Fatalf("no push arrived within %v", within)
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	good := 0
	for good < 10 {
		f, err := p.Video.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("reading the pushed video: %v (after %d good frames)", err, good)
		}
		if f.CodedWidth() == 1280 && f.CodedHeight() == 720 && lumaStdDev(f) > 20 {
			good++
		} else {
			t.Logf("pushed frame %dx%d σ=%.1f", f.CodedWidth(), f.CodedHeight(), lumaStdDev(f))
		}
		f.Close()
	}
	return p
}

// TestWHIPPush: --whip-push into a WHIP server started by the test; the
// server gets the 1280x720 scene, in VP8 (both codecs offered, VP8 first,
// and the server takes the first); killed and started again on the same
// address, it gets it again, and the stats count two connects. With
// --whip-push-codec h264 the server gets H.264.
func TestWHIPPush(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	in1 := startIngestServer(t, addr)
	s := start(t, nil, nil, "--whip-push", "http://"+addr+"/whip")
	if p := readPushed(t, in1, 30*time.Second); p.VideoCodec() != webrtc.MimeTypeVP8 {
		t.Errorf("pushed %q by default, want VP8", p.VideoCodec())
	}

	in1.kill()
	in2 := startIngestServer(t, addr)
	readPushed(t, in2, 30*time.Second)

	var st struct {
		Push struct {
			State    string
			Connects uint64
			Attempts uint64
		} `json:"whipPush"`
	}
	if code := s.getJSON(t, "api/stats", "", &st); code != http.StatusOK {
		t.Fatalf("/api/stats: %d", code)
	}
	if st.Push.Connects < 2 || st.Push.State != "connected" {
		t.Errorf("whipPush stats %+v: want connected, ≥ 2 connects", st.Push)
	}

	in3 := startIngestServer(t, "127.0.0.1:0")
	start(t, nil, nil, "--whip-push", in3.srv.URL+"/whip", "--whip-push-codec", "h264")
	if p := readPushed(t, in3, 30*time.Second); p.VideoCodec() != webrtc.MimeTypeH264 {
		t.Errorf("pushed %q with --whip-push-codec h264", p.VideoCodec())
	}
}

// TestGracefulShutdown: SIGTERM with two viewers and an SSE client: the
// process exits 0 within 5 s, and each client sees its stream end.
func TestGracefulShutdown(t *testing.T) {
	s := start(t, nil, nil)
	sse := subscribe(t, s, "")
	v1, v2 := watch(t, s, ""), watch(t, s, "")
	v1.WaitFrames(t, 10, 30*time.Second)
	v2.WaitFrames(t, 10, 30*time.Second)
	eventually(t, 10*time.Second, "an SSE event", func() bool { return sse.count("pipeline")+sse.count("detections") > 0 })

	t0 := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after SIGTERM\n%s", s.stderr)
	}
	if s.err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", s.err, s.stderr)
	}
	t.Logf("exited %v after SIGTERM", time.Since(t0).Round(time.Millisecond))
	for i, v := range []*viewer{v1, v2} {
		select {
		case <-v.Ended():
		case <-time.After(3 * time.Second):
			t.Errorf("viewer %d: video track still open 3 s after the service exited (state %s)", i+1, v.PC.ConnectionState())
		}
	}
	select {
	case <-sse.done:
	case <-time.After(3 * time.Second):
		t.Error("the SSE stream did not end")
	}
}

// TestRecordingsWithSound: --record FILE.webm (VP8 and Opus as sent) and
// FILE.mp4 (H.264 and Opus as sent, fragmented) with no viewer: ffprobe
// finds in each its codecs at 1280x720, the sound, a duration near the
// time recorded and the audio starting with the video (its first packet
// within 40 ms after the first keyframe). An MP4 whose
// process was killed (SIGKILL) still plays up to its last fragment.
func TestRecordingsWithSound(t *testing.T) {
	needTool(t, "ffprobe")
	dir := t.TempDir()
	webmPath, mp4Path, killedPath := filepath.Join(dir, "a.webm"), filepath.Join(dir, "b.mp4"), filepath.Join(dir, "c.mp4")
	s := start(t, nil, nil, "--record", webmPath, "--record", mp4Path)
	k := start(t, nil, nil, "--record", killedPath)
	t0 := time.Now()
	eventually(t, 30*time.Second, "90 composited frames", func() bool {
		return s.stats(t, "").Frames.Out >= 90 && k.stats(t, "").Frames.Out >= 90
	})
	time.Sleep(500 * time.Millisecond)
	k.cmd.Process.Kill()
	s.stop(t)
	if s.err != nil {
		t.Fatalf("exit: %v", s.err)
	}
	recorded := time.Since(t0).Seconds()
	for _, c := range []struct {
		path, codec string
		killed      bool
	}{{webmPath, "vp8", false}, {mp4Path, "h264", false}, {killedPath, "h264", true}} {
		out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-count_frames", "-of", "json", c.path).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", c.path, err)
		}
		var res struct {
			Streams []struct {
				CodecType    string `json:"codec_type"`
				CodecName    string `json:"codec_name"`
				Width        int    `json:"width"`
				Height       int    `json:"height"`
				StartTime    string `json:"start_time"`
				NbReadFrames string `json:"nb_read_frames"`
			}
			Format struct {
				Duration string `json:"duration"`
			}
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		var vStart, aStart float64
		var frames int
		var haveAudio bool
		for _, st := range res.Streams {
			switch st.CodecType {
			case "video":
				if st.CodecName != c.codec || st.Width != 1280 || st.Height != 720 {
					t.Errorf("%s: video %+v", filepath.Base(c.path), st)
				}
				vStart, _ = strconv.ParseFloat(st.StartTime, 64)
				frames, _ = strconv.Atoi(st.NbReadFrames)
			case "audio":
				haveAudio = st.CodecName == "opus"
				aStart, _ = strconv.ParseFloat(st.StartTime, 64)
			}
		}
		d, _ := strconv.ParseFloat(res.Format.Duration, 64)
		t.Logf("%s: %d frames, %.2f s (recorded for %.2f s), audio %v starting %.3f s after video", filepath.Base(c.path), frames, d, recorded, haveAudio, aStart-vStart)
		// The sound's first packet is the first at or after the first
		// keyframe: within one 20 ms packet and the files' rounding.
		if !haveAudio || aStart < vStart-0.005 || aStart-vStart > 0.04 {
			t.Errorf("%s: audio %v, starting %.3f s after the video", filepath.Base(c.path), haveAudio, aStart-vStart)
		}
		switch {
		case c.killed && (frames < 30 || d < 1):
			t.Errorf("%s (killed): %d frames, %.2f s, want at least a second", filepath.Base(c.path), frames, d)
		case !c.killed && (frames < 60 || d < 2 || d > recorded+0.5):
			t.Errorf("%s: %d frames, %.2f s, want 2 s to %.2f s", filepath.Base(c.path), frames, d, recorded)
		}
	}
}

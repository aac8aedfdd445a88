package whep

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/media"
)

const (
	testW, testH = 160, 96
	// Left half red-ish, right half green-ish (BT.601 limited).
	lY, lU, lV = 81, 90, 240
	rY, rU, rV = 145, 54, 34
)

// loopbackEngine keeps ICE on 127.0.0.1: loopback candidates on, every other
// address filtered out, no mDNS socket, and short timeouts so a vanished
// peer is noticed quickly.
func loopbackEngine() *webrtc.SettingEngine {
	return rtctest.LoopbackEngine(time.Second, 2*time.Second)
}

// source is a running generator pair with publishers, fed by a goroutine.
type source struct {
	video, audio *generator.Track
	vpub, apub   *Publisher
	cancel       context.CancelFunc
	wg           sync.WaitGroup
}

func newSource(t *testing.T) *source {
	t.Helper()
	return newSourceWith(t, VideoConfig{Bitrate: 500_000, Threads: 1})
}

func newSourceWith(t *testing.T, vcfg VideoConfig) *source {
	t.Helper()
	v, err := generator.New("video")
	if err != nil {
		t.Fatal(err)
	}
	a, err := generator.New("audio")
	if err != nil {
		t.Fatal(err)
	}
	vp, err := NewVideoPublisher(v, vcfg)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := NewAudioPublisher(a, AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &source{video: v, audio: a, vpub: vp, apub: ap, cancel: cancel}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		mediatest.Feed(ctx, v, time.Second/30, mediatest.Video(testW, testH, mediatest.YUV{lY, lU, lV}, mediatest.YUV{rY, rU, rV}), nil)
	}()
	go func() {
		defer s.wg.Done()
		mediatest.Feed(ctx, a, 20*time.Millisecond, mediatest.Audio(440), nil)
	}()
	t.Cleanup(func() {
		cancel()
		s.wg.Wait()
		v.Writable().Close()
		a.Writable().Close()
		vp.Close()
		ap.Close()
	})
	return s
}

func fillRect(p media.Plane, x0, x1 int, val byte) {
	for y := 0; y < p.Height; y++ {
		row := p.Data[y*p.Stride:]
		for x := x0; x < x1 && x < p.Width; x++ {
			row[x] = val
		}
	}
}

func newTestHandler(t *testing.T, s *source, mod func(*Config)) (*Handler, *httptest.Server) {
	t.Helper()
	cfg := Config{Publishers: []*Publisher{s.vpub, s.apub}, SettingEngine: loopbackEngine()}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whep", h)
	mux.Handle("/whep/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return h, srv
}

// newClientPC makes a test peer offering the video codecs mimes (pion's
// defaults when none), with short ICE timeouts.
func newClientPC(t *testing.T, mimes ...string) *webrtc.PeerConnection {
	t.Helper()
	pc, err := rtctest.API(t, loopbackEngine(), mimes...).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// offer returns a complete (non-trickle) offer with recvonly transceivers.
func offer(t *testing.T, pc *webrtc.PeerConnection, kinds ...webrtc.RTPCodecType) string {
	t.Helper()
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	return rtctest.Offer(t, pc)
}

func post(t *testing.T, url, token, body string) *http.Response {
	t.Helper()
	return rtctest.Do(t, http.MethodPost, url, token, "application/sdp", body)
}

func do(t *testing.T, method, url, token string) *http.Response {
	t.Helper()
	resp := rtctest.Do(t, method, url, token, "", "")
	resp.Body.Close()
	return resp
}

// connect watches with a viewer offering pion's default codecs for video
// and audio; with decode, it decodes both (rtctest.Viewer), else it only
// counts. The answer must have its candidates (gathered, not trickled).
func connect(t *testing.T, srv *httptest.Server, token string, decode bool) *rtctest.Viewer {
	t.Helper()
	return watchWith(t, srv, token, rtctest.ViewerConfig{Raw: !decode})
}

func watchWith(t *testing.T, srv *httptest.Server, token string, cfg rtctest.ViewerConfig) *rtctest.Viewer {
	t.Helper()
	if cfg.Engine == nil {
		cfg.Engine = loopbackEngine()
	}
	v := rtctest.NewViewer(t, cfg)
	answer := v.Watch(t, srv.URL+"/whep", token)
	if !strings.HasPrefix(v.Location, "/whep/") {
		t.Fatalf("Location %q", v.Location)
	}
	if !strings.Contains(answer, "a=candidate") {
		t.Fatalf("answer without candidates (not gathered?):\n%s", answer)
	}
	return v
}

func patchMean(p media.Plane, cx, cy, r int) float64 {
	sum, n := 0, 0
	for y := cy - r; y < cy+r; y++ {
		for x := cx - r; x < cx+r; x++ {
			sum += int(p.Data[y*p.Stride+x])
			n++
		}
	}
	return float64(sum) / float64(n)
}

// checkFrame asserts both halves have their colour, sampled away from the
// edge where chroma and the codec blur them.
func checkFrame(t *testing.T, f media.VideoFrame) {
	t.Helper()
	checkFrameSized(t, f, testW, testH)
}

// checkFrameSized checks that f is w×h and shows the source's two halves.
func checkFrameSized(t *testing.T, f media.VideoFrame, w, h int) {
	t.Helper()
	if f.CodedWidth() != w || f.CodedHeight() != h {
		t.Fatalf("decoded %dx%d, want %dx%d", f.CodedWidth(), f.CodedHeight(), w, h)
	}
	for pi, want := range [3][2]float64{{lY, rY}, {lU, rU}, {lV, rV}} {
		p, err := f.Plane(pi)
		if err != nil {
			t.Fatal(err)
		}
		r := p.Height / 6
		l := patchMean(p, p.Width/4, p.Height/2, r)
		rr := patchMean(p, 3*p.Width/4, p.Height/2, r)
		if math.Abs(l-want[0]) > 4 || math.Abs(rr-want[1]) > 4 {
			t.Errorf("plane %d: left %.1f right %.1f, want %v±4", pi, l, rr, want)
		}
	}
}

func TestVideoAndLateViewer(t *testing.T) {
	s := newSource(t)
	h, srv := newTestHandler(t, s, nil)
	v1 := connect(t, srv, "", true)
	f := v1.NextFrame(t, 10*time.Second)
	checkFrame(t, f)
	f.Close()

	// Keyframes are only made on request; the late viewer can only decode
	// because its PLI forces one.
	kf := s.vpub.Stats().Keyframes
	v2 := connect(t, srv, "", true)
	deadline := time.Now().Add(5 * time.Second)
	for v2.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatal("second viewer did not connect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f = v2.NextFrame(t, time.Second)
	checkFrame(t, f)
	f.Close()
	if s.vpub.Stats().KeyframeRequests == 0 {
		t.Errorf("no PLI/FIR reached the publisher")
	}
	if s.vpub.Stats().Keyframes <= kf {
		t.Errorf("no keyframe after the late viewer joined")
	}
	if h.Sessions() != 2 {
		t.Errorf("Sessions = %d, want 2", h.Sessions())
	}
	if resp := do(t, http.MethodDelete, srv.URL+v2.Location, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if h.Sessions() != 1 {
		t.Errorf("Sessions after DELETE = %d, want 1", h.Sessions())
	}
	// The first viewer still gets pictures.
	f = v1.NextFrame(t, 2*time.Second)
	f.Close()
}

func TestAudioTone(t *testing.T) {
	s := newSource(t)
	_, srv := newTestHandler(t, s, nil)
	v := connect(t, srv, "", true)
	// The second half of the first second: the decoder has settled.
	pcm := v.SecondOfAudio(t, true)[48000/2:]
	var rms float64
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		rms += float64(pcm[i] * pcm[i])
		if pcm[i-1] < 0 && pcm[i] >= 0 {
			crossings++
		}
	}
	rms = math.Sqrt(rms / float64(len(pcm)))
	freq := float64(crossings) * 48000 / float64(len(pcm))
	if math.Abs(freq-440) > 10 || rms < 0.2 {
		t.Fatalf("decoded %.1f Hz at RMS %.3f, want 440±10 Hz at ~0.35", freq, rms)
	}
}

func TestSessionLifecycleNoLeaks(t *testing.T) {
	s := newSource(t)
	h, srv := newTestHandler(t, s, nil)
	cycle := func() {
		v := connect(t, srv, "", false)
		deadline := time.Now().Add(5 * time.Second)
		for v.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
			if time.Now().After(deadline) {
				t.Fatal("viewer did not connect")
			}
			time.Sleep(2 * time.Millisecond)
		}
		if resp := do(t, http.MethodDelete, srv.URL+v.Location, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
		v.Close()
	}
	cycle()
	http.DefaultClient.CloseIdleConnections()
	base := settleGoroutines(0)
	for i := 0; i < 30; i++ {
		cycle()
	}
	http.DefaultClient.CloseIdleConnections()
	if n := settleGoroutines(base); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after 30 cycles\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
	if h.Sessions() != 0 {
		t.Fatalf("Sessions = %d", h.Sessions())
	}

	// A viewer that vanishes without DELETE ends its session through
	// the PeerConnection failing or closing.
	v := connect(t, srv, "", false)
	deadline := time.Now().Add(5 * time.Second)
	for h.Sessions() != 1 || v.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatal("viewer did not connect")
		}
		time.Sleep(2 * time.Millisecond)
	}
	v.Close()
	deadline = time.Now().Add(8 * time.Second)
	for h.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("session of a vanished viewer was not ended")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Close ends live sessions.
	connect(t, srv, "", false)
	if h.Sessions() != 1 {
		t.Fatalf("Sessions = %d", h.Sessions())
	}
	h.Close()
	if h.Sessions() != 0 {
		t.Fatalf("Sessions after Close = %d", h.Sessions())
	}
	// A valid offer, so that only the closed handler can refuse it.
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if resp := post(t, srv.URL+"/whep", "", offer(t, pc, webrtc.RTPCodecTypeVideo)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST after Close: %d, want 503", resp.StatusCode)
	}
}

// settleGoroutines waits up to 5 s for the count to drop to at most
// target (or, with target 0, to stop changing) and returns it.
func settleGoroutines(target int) int {
	n, prev := runtime.NumGoroutine(), -1
	for i := 0; i < 100; i++ {
		if (target > 0 && n <= target) || (target == 0 && n == prev) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
		prev, n = n, runtime.NumGoroutine()
	}
	return n
}

func TestBadRequests(t *testing.T) {
	s := newSource(t)
	_, srv := newTestHandler(t, s, func(c *Config) {
		c.Token = "s3cret"
		c.MaxViewers = 1
		c.MaxBodyBytes = 16 << 10
	})
	url := srv.URL + "/whep"
	status := func(resp *http.Response) int {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	good := offer(t, newClientPCClosed(t), webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio)
	h264 := offer(t, newClientPCClosed(t, webrtc.MimeTypeH264), webrtc.RTPCodecTypeVideo)

	for _, tc := range []struct {
		name, token, body string
		want              int
	}{
		{"no token", "", good, 401},
		{"wrong token", "nope", good, 401},
		{"malformed sdp", "s3cret", "this is not SDP", 400},
		{"too big", "s3cret", "v=0\r\n" + strings.Repeat("a=x\r\n", 8<<10), 413},
		{"no common codec", "s3cret", h264, 400},
	} {
		resp := post(t, url, tc.token, tc.body)
		if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
		if got := status(resp); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}

	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(good))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || status(resp) != 415 {
		t.Errorf("wrong Content-Type: %v %v", resp, err)
	}

	if got := do(t, http.MethodDelete, url+"/nosuchsession", "s3cret").StatusCode; got != 404 {
		t.Errorf("DELETE unknown: %d, want 404", got)
	}
	if got := do(t, http.MethodDelete, url+"/nosuchsession", "").StatusCode; got != 401 {
		t.Errorf("DELETE without token: %d, want 401", got)
	}
	if got := do(t, http.MethodPatch, url+"/x", "s3cret").StatusCode; got != 405 {
		t.Errorf("PATCH: %d, want 405", got)
	}
	resp := do(t, http.MethodOptions, url, "")
	if resp.StatusCode != 204 ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "DELETE") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		resp.Header.Get("Access-Control-Expose-Headers") != "Location" {
		t.Errorf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}

	// Viewer limit: the first gets in, the second is refused; after the
	// first leaves there is room again.
	v := connect(t, srv, "s3cret", false)
	if got := status(post(t, url, "s3cret", offer(t, newClientPCClosed(t), webrtc.RTPCodecTypeVideo))); got != 503 {
		t.Errorf("over the viewer limit: %d, want 503", got)
	}
	if got := do(t, http.MethodDelete, srv.URL+v.Location, "s3cret").StatusCode; got != 200 {
		t.Fatalf("DELETE: %d", got)
	}
	if got := do(t, http.MethodDelete, srv.URL+v.Location, "s3cret").StatusCode; got != 404 {
		t.Errorf("second DELETE: %d, want 404", got)
	}
	resp = post(t, url, "s3cret", offer(t, newClientPCClosed(t), webrtc.RTPCodecTypeVideo))
	if got := status(resp); got != 201 {
		t.Errorf("after leaving: %d, want 201", got)
	}
}

func newClientPCClosed(t *testing.T, mimes ...string) *webrtc.PeerConnection {
	pc := newClientPC(t, mimes...)
	t.Cleanup(func() { pc.Close() })
	return pc
}

func TestRTPClock(t *testing.T) {
	// 30 fps with frames 3 and 4 dropped, with and without frame
	// durations: the gap is carried into the next sample, and every
	// sample's RTP time (the sum of the durations before it) equals its
	// media time, except the first frame after the drop, whose RTP time
	// was fixed when the sample before it was sent (no look-ahead).
	for _, hint := range []int64{0, 33333} {
		c := rtpClock{defaultUS: 33333}
		var rtpTime time.Duration
		for _, i := range []int64{0, 1, 2, 5, 6, 7} {
			if want := time.Duration(i*33333) * time.Microsecond; i != 5 && rtpTime != want {
				t.Errorf("hint %d, frame %d: RTP time %v, want %v", hint, i, rtpTime, want)
			}
			d := c.duration(i*33333, hint)
			if d <= 0 {
				t.Fatalf("frame %d: duration %v", i, d)
			}
			rtpTime += d
		}
		// Repeated timestamps still give a non-zero duration.
		if d := c.duration(7*33333, hint); d <= 0 {
			t.Errorf("repeated timestamp: duration %v", d)
		}
	}
	// A lasting change of frame rate is adopted: from 30 to 15 fps.
	c := rtpClock{defaultUS: 33333}
	var rtpTime time.Duration
	for i := int64(0); i < 10; i++ {
		ts := i * 66666
		if i >= 3 {
			if want := time.Duration(ts) * time.Microsecond; rtpTime != want {
				t.Errorf("15 fps frame %d: RTP time %v, want %v", i, rtpTime, want)
			}
		}
		rtpTime += c.duration(ts, 0)
	}
}

func TestPublisherEndsWithTrack(t *testing.T) {
	v, _ := generator.New("video")
	p, err := NewVideoPublisher(v, VideoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVideoPublisher(nil, VideoConfig{}); err == nil {
		t.Error("NewVideoPublisher(nil) succeeded")
	}
	a, _ := generator.New("audio")
	if _, err := NewVideoPublisher(a, VideoConfig{}); err == nil {
		t.Error("NewVideoPublisher(audio track) succeeded")
	}
	if p.Err() != nil {
		t.Fatalf("Err while running: %v", p.Err())
	}
	v.Writable().Close()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("publisher did not end with its track")
	}
	if !errors.Is(p.Err(), generator.ErrEnded) {
		t.Errorf("Err = %v, want generator.ErrEnded", p.Err())
	}
	p.Close() // idempotent after the end
	p.Close()
}

// TestAudioRateChange: when the source switches sample rate mid-stream the
// publisher starts a new Opus encoder instead of skipping every block.
func TestAudioRateChange(t *testing.T) {
	a, err := generator.New("audio")
	if err != nil {
		t.Fatal(err)
	}
	ap, err := NewAudioPublisher(a, AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	defer a.Writable().Close()
	ts := int64(0)
	for i, rate := range []int{48000, 44100} {
		for j := 0; j < 10; j++ {
			n := rate / 50 // 20 ms
			buf := make([]byte, 4*n)
			ad, err := media.NewAudioData(buf, media.AudioDataInit{Format: media.F32, SampleRate: float64(rate), NumberOfFrames: n, NumberOfChannels: 1, Timestamp: ts})
			if err != nil {
				t.Fatal(err)
			}
			ts += 20000
			if err := a.Writable().Write(context.Background(), ad); err != nil {
				t.Fatal(err)
			}
			// One block at a time: the sink keeps only the newest.
			deadline := time.Now().Add(2 * time.Second)
			for ap.Stats().Frames < uint64(10*i+j+1) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
	}
	if st := ap.Stats(); st.Skipped != 0 || st.Samples < 15 {
		t.Errorf("after a rate change: %d samples, %d skipped (want ≥ 15 and 0)", st.Samples, st.Skipped)
	}
}

// TestVanishedViewer: a viewer process killed outright (no DELETE, no DTLS
// close) is noticed by ICE failing, and its session ends.
func TestVanishedViewer(t *testing.T) {
	if url := os.Getenv("WHEP_VANISHING_VIEWER"); url != "" {
		// Child: connect, say so, then wait to be killed.
		v := connect(t, &httptest.Server{URL: url}, "", false)
		deadline := time.Now().Add(10 * time.Second)
		for v.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
			if time.Now().After(deadline) {
				t.Fatal("child viewer did not connect")
			}
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Println("CONNECTED")
		time.Sleep(time.Minute)
		return
	}
	s := newSource(t)
	h, srv := newTestHandler(t, s, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestVanishedViewer$")
	cmd.Env = append(os.Environ(), "WHEP_VANISHING_VIEWER="+srv.URL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	connected := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "CONNECTED") {
				connected <- true
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatal("child viewer never connected")
	}
	if h.Sessions() != 1 {
		t.Fatalf("Sessions = %d with the child connected", h.Sessions())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for h.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the session of a killed viewer was not ended by ICE failure")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNackRetransmits: a viewer's NACK for a packet it already had brings
// that packet again (pion's NACK responder, kept in the sender's chain).
func TestNackRetransmits(t *testing.T) {
	s := newSource(t)
	_, srv := newTestHandler(t, s, nil)
	// SRTP replay protection would drop the resent copy of a packet this
	// viewer already has; asking for a packet we have is the only way to
	// know which one to expect, so the viewer turns the protection off.
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := loopbackEngine()
	se.DisableSRTPReplayProtection(true)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(*se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	type seen struct {
		ssrc uint32
		seq  uint16
	}
	first := make(chan seen, 1)
	again := make(chan struct{}, 1)
	var want atomic.Int32
	want.Store(-1)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		n := 0
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			n++
			if n == 30 {
				select {
				case first <- seen{uint32(tr.SSRC()), p.SequenceNumber}:
				default:
				}
				continue
			}
			if w := want.Load(); w >= 0 && p.SequenceNumber == uint16(w) {
				select {
				case again <- struct{}{}:
				default:
				}
			}
		}
	})
	sdp := offer(t, pc, webrtc.RTPCodecTypeVideo)
	resp := post(t, srv.URL+"/whep", "", sdp)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
	var got seen
	select {
	case got = <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no video packets")
	}
	want.Store(int32(got.seq))
	nack := &rtcp.TransportLayerNack{MediaSSRC: got.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{got.seq})}
	if err := pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-again:
	case <-time.After(3 * time.Second):
		t.Fatalf("packet %d was not sent again after a NACK", got.seq)
	}
}

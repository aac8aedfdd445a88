package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtctest"
)

// Issue 9, WebRTC doors: offers that never connect, a PLI flood and an
// oversized publisher, each through the built binary.

// viewerOffer returns a real pion viewer offer (video, audio) whose
// PeerConnection is already closed: posting it makes a session that can
// never connect. One offer may be posted any number of times.
func viewerOffer(t *testing.T) string {
	t.Helper()
	pc, err := rtctest.API(t, nil).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	rtctest.Offer(t, pc)
	return pc.LocalDescription().SDP
}

// postOffer POSTs sdp and returns the status and Retry-After.
func postOffer(t *testing.T, url, sdp string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(sdp))
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// metric reads one sample of /metrics ("name" or `name{label="v"}`).
func (s *service) metric(t *testing.T, sample string) float64 {
	t.Helper()
	code, body := s.request(t, http.MethodGet, "metrics", "", "", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s", sample)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// publishWhenFree publishes a real VP8 publisher as soon as /whip takes
// one (retrying while it answers 409) and returns it with the time it got
// in.
func publishWhenFree(t *testing.T, s *service, within time.Duration) (*rtctest.Publisher, time.Time) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		p := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
		code, body, loc := postSDP(t, s.URL+"whip", "", p.Offer(t))
		if code == http.StatusCreated {
			p.Location = loc
			if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
				t.Fatal(err)
			}
			return p, time.Now()
		}
		p.Close()
		if code != http.StatusConflict {
			t.Fatalf("WHIP POST: %d %s", code, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/whip still busy (409) after %v: %s", within, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A WHIP offer that never connects does not take the programme: the test
// source keeps flowing to a viewer, a real publisher gets 409 only until
// the connect deadline, then gets in and goes on air.
func TestWHIPSquatterDoesNotTakeProgramme(t *testing.T) {
	s := start(t, nil, nil, "--connect-timeout", "4s")
	v := watch(t, s, "")
	v.WaitFrames(t, 10, 30*time.Second)

	sq := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
	sdp := sq.Offer(t)
	sq.Close()
	if code, _ := postOffer(t, s.URL+"whip", sdp); code != http.StatusCreated {
		t.Fatalf("squatter's POST: %d", code)
	}
	posted := time.Now()
	before := s.stats(t, "")
	time.Sleep(1500 * time.Millisecond)
	after := s.stats(t, "")
	if after.Input.Active != "testsrc" || after.Input.State != "live" {
		t.Errorf("with a squatter the input is %q %q, want testsrc live", after.Input.Active, after.Input.State)
	}
	if n := after.Frames.In - before.Frames.In; n < 10 {
		t.Errorf("only %d test-source frames reached the compositor in 1.5 s with a squatter pending", n)
	}
	if d := after.Drops["inactive_input"] - before.Drops["inactive_input"]; d != 0 {
		t.Errorf("%d test-source frames dropped as inactive: the squatter took the programme", d)
	}
	f := v.latestSized(t, 1280, 720, 5*time.Second)
	f.Close()
	v.WaitFrames(t, 10, 5*time.Second)

	p, in := publishWhenFree(t, s, 20*time.Second)
	t.Logf("a real publisher got in %v after the squatter's POST (--connect-timeout 4s)", in.Sub(posted).Round(10*time.Millisecond))
	if in.Sub(posted) < 3*time.Second {
		t.Errorf("the slot was free after %v: was the squatter's offer refused?", in.Sub(posted))
	}
	p.Start(t, rtctest.SplitPicture(320, 240, yuv601([3]float64{220, 40, 40}), yuv601([3]float64{30, 80, 200})))
	f = v.latestSized(t, 320, 240, 15*time.Second)
	f.Close()
	if !strings.Contains(s.stderr.String(), "did not connect") {
		t.Errorf("the log does not say the squatter did not connect:\n%s", s.stderr)
	}
	if got := s.metric(t, `shadercast_rtc_connect_timeouts_total{endpoint="whip"}`); got != 1 {
		t.Errorf("WHIP connect timeouts metric %v, want 1", got)
	}
}

// 50 WHEP offers that never connect hold 50 viewer slots only until the
// connect deadline (the service's default, 10 s); one address gets 429
// past its cap of connecting sessions (default 4).
func TestWHEPSquattersGiveSlotsBack(t *testing.T) {
	sdp := viewerOffer(t)
	t.Run("deadline", func(t *testing.T) {
		s := start(t, nil, nil, "--max-viewers", "50", "--max-connecting-per-ip", "-1")
		var created atomic.Int32
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					if code, _ := postOffer(t, s.URL+"whep", sdp); code == http.StatusCreated {
						created.Add(1)
					}
				}
			}()
		}
		for i := range 50 {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		posted := time.Now()
		if created.Load() != 50 {
			t.Fatalf("%d of 50 offers answered 201", created.Load())
		}
		if code, _ := postOffer(t, s.URL+"whep", sdp); code != http.StatusServiceUnavailable {
			t.Fatalf("51st offer: %d, want 503 (50 slots held)", code)
		}
		eventually(t, 30*time.Second, "the squatters' slots back", func() bool { return s.stats(t, "").Viewers == 0 })
		t.Logf("50 unconnected sessions gone %v after the last POST", time.Since(posted).Round(10*time.Millisecond))
		v := watch(t, s, "")
		v.WaitFrames(t, 10, 30*time.Second)
		if got := s.metric(t, `shadercast_rtc_connect_timeouts_total{endpoint="whep"}`); got != 50 {
			t.Errorf("WHEP connect timeouts metric %v, want 50", got)
		}
	})
	t.Run("per-address cap", func(t *testing.T) {
		s := start(t, nil, nil, "--connect-timeout", "5s")
		for i := range 4 {
			if code, _ := postOffer(t, s.URL+"whep", sdp); code != http.StatusCreated {
				t.Fatalf("offer %d: %d", i, code)
			}
		}
		code, ra := postOffer(t, s.URL+"whep", sdp)
		if code != http.StatusTooManyRequests || ra != "5" {
			t.Fatalf("5th connecting offer from one address: %d Retry-After %q, want 429 and 5", code, ra)
		}
		if got := s.metric(t, `shadercast_rtc_connecting_refused_total{endpoint="whep"}`); got != 1 {
			t.Errorf("refusals metric %v, want 1", got)
		}
		// After the deadline the address may connect again.
		eventually(t, 30*time.Second, "the squatters' slots back", func() bool { return s.stats(t, "").Viewers == 0 })
		v := watch(t, s, "")
		v.WaitFrames(t, 10, 30*time.Second)
	})
}

// floodViewer is a pion WHEP viewer that counts the VP8 keyframes it
// receives (from the RTP payload, no decoding) and can flood the server
// with PLIs.
type floodViewer struct {
	pc   *webrtc.PeerConnection
	ssrc atomic.Uint32
	mu   sync.Mutex
	keys []time.Time // arrival of each keyframe's first packet
}

func watchKeyframes(t *testing.T, s *service) *floodViewer {
	t.Helper()
	pc, err := rtctest.API(t, nil).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	fv := &floodViewer{pc: pc}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		wg.Add(1)
		defer wg.Done()
		fv.ssrc.Store(uint32(tr.SSRC()))
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			var vp codecs.VP8Packet
			payload, err := vp.Unmarshal(pkt.Payload)
			// The first packet of a frame (S set, partition 0) starts
			// with the frame tag; bit 0 clear is a keyframe.
			if err == nil && vp.S == 1 && vp.PID == 0 && len(payload) > 0 && payload[0]&1 == 0 {
				fv.mu.Lock()
				fv.keys = append(fv.keys, time.Now())
				fv.mu.Unlock()
			}
		}
	})
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	rtctest.Offer(t, pc)
	code, body, _ := postSDP(t, s.URL+"whep", "", pc.LocalDescription().SDP)
	if code != http.StatusCreated {
		t.Fatalf("WHEP POST: %d %s", code, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	return fv
}

func (fv *floodViewer) keyframesIn(from, to time.Time) int {
	fv.mu.Lock()
	defer fv.mu.Unlock()
	n := 0
	for _, k := range fv.keys {
		if !k.Before(from) && !k.After(to) {
			n++
		}
	}
	return n
}

// A viewer flooding PLI (every 2 ms) gets at most one keyframe per 500 ms
// (the limit whep/doc.go states), and a viewer joining during the flood
// still gets pictures.
func TestPLIFloodKeyframeRate(t *testing.T) {
	s := start(t, nil, nil)
	fv := watchKeyframes(t, s)
	eventually(t, 30*time.Second, "a first keyframe", func() bool { return fv.keyframesIn(time.Time{}, time.Now()) > 0 })
	reqs0 := s.metric(t, "shadercast_keyframe_requests_total")
	from := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				fv.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: fv.ssrc.Load()}})
			}
		}
	}()
	time.Sleep(time.Second)
	v := watch(t, s, "")
	v.WaitFrames(t, 10, 30*time.Second)
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	to := time.Now()
	// Keyframes sent by the end of the flood may still be arriving.
	time.Sleep(300 * time.Millisecond)
	keys := fv.keyframesIn(from, to.Add(300*time.Millisecond))
	reqs := s.metric(t, "shadercast_keyframe_requests_total") - reqs0
	limit := int(to.Sub(from)/(500*time.Millisecond)) + 2
	t.Logf("PLI flood for %v: %.0f requests reached the encoder, %d keyframes received (limit %d)",
		to.Sub(from).Round(time.Millisecond), reqs, keys, limit)
	if reqs < 500 {
		t.Fatalf("only %.0f keyframe requests reached the encoder: the flood did not work", reqs)
	}
	if keys == 0 || keys > limit {
		t.Fatalf("%d keyframes during a %v PLI flood, want 1..%d (one per 500 ms)", keys, to.Sub(from), limit)
	}
}

// A WHIP publisher whose picture is over --max-video-width/height is
// refused at its first keyframe, before decoding: the programme stays on
// the test source, the log says why once, a metric counts it, and the
// slot is free for the next publisher.
func TestWHIPOversizedRefusedBeforeDecoding(t *testing.T) {
	s := start(t, nil, nil, "--max-video-width", "320", "--max-video-height", "240")
	v := watch(t, s, "")
	v.WaitFrames(t, 10, 30*time.Second)
	big := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
	big.Publish(t, s.URL+"whip", "")
	big.Start(t, rtctest.SplitPicture(640, 360, yuv601([3]float64{220, 40, 40}), yuv601([3]float64{30, 80, 200})))
	eventually(t, 15*time.Second, "the refusal in the log", func() bool {
		return strings.Contains(s.stderr.String(), "publisher refused")
	})
	time.Sleep(time.Second) // it keeps sending: still one line
	logs := s.stderr.String()
	if n := strings.Count(logs, "publisher refused"); n != 1 || !strings.Contains(logs, "640x360") || !strings.Contains(logs, "320x240") {
		t.Errorf("%d refusal lines, want one naming 640x360 and 320x240:\n%s", n, logs)
	}
	if got := s.metric(t, "shadercast_whip_refused_too_large_total"); got != 1 {
		t.Errorf("too-large metric %v, want 1", got)
	}
	if st := s.stats(t, ""); st.Input.Active != "testsrc" || !strings.Contains(st.Input.LastError, "640x360") {
		t.Errorf("input %q, last error %q after the refusal: want testsrc, and the refusal naming 640x360", st.Input.Active, st.Input.LastError)
	}
	f := v.latestSized(t, 1280, 720, 5*time.Second)
	f.Close()
	big.Close()
	p, _ := publishWhenFree(t, s, 10*time.Second)
	p.Start(t, rtctest.SplitPicture(320, 240, yuv601([3]float64{220, 40, 40}), yuv601([3]float64{30, 80, 200})))
	f = v.latestSized(t, 320, 240, 15*time.Second)
	f.Close()
}

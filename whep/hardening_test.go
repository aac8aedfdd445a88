package whep

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtcendpoint"
	"github.com/shadercast/shadercast/internal/rtctest"
)

// squat POSTs a real offer and never applies the answer (its
// PeerConnection is closed at once), as a squatter would; it returns the
// status and Retry-After.
func squat(t *testing.T, url string) (int, string) {
	t.Helper()
	pc := newClientPC(t)
	sdp := offer(t, pc, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio)
	pc.Close()
	resp := post(t, url, "", sdp)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func waitSessions(t *testing.T, h *Handler, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for h.Sessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Sessions = %d after %v, want %d", h.Sessions(), within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Offers that never connect hold their viewer slots only until
// ConnectTimeout; then a real viewer gets in.
func TestUnconnectedSessionsGiveSlotsBack(t *testing.T) {
	s := newSource(t)
	h, srv := newTestHandler(t, s, func(c *Config) {
		c.MaxViewers = 5
		// Long enough for the real viewer below to connect on a loaded
		// machine: it is held to the same deadline.
		c.ConnectTimeout = 3 * time.Second
		c.MaxUnconnectedPerAddr = -1 // this test is about the deadline
	})
	url := srv.URL + "/whep"
	for i := 0; i < 5; i++ {
		if code, _ := squat(t, url); code != http.StatusCreated {
			t.Fatalf("squatter %d: %d", i, code)
		}
	}
	if code, _ := squat(t, url); code != http.StatusServiceUnavailable {
		t.Fatalf("over the viewer limit: %d, want 503", code)
	}
	waitSessions(t, h, 0, 10*time.Second)
	if got := h.Stats().ConnectTimeouts; got != 5 {
		t.Errorf("ConnectTimeouts = %d, want 5", got)
	}
	v := connect(t, srv, "", true)
	f := v.NextFrame(t, 10*time.Second)
	checkFrame(t, f)
	f.Close()
	// A connected viewer is not subject to the deadline.
	time.Sleep(3500 * time.Millisecond)
	if h.Sessions() != 1 || h.Stats().ConnectTimeouts != 5 {
		t.Fatalf("connected viewer dropped: sessions %d, timeouts %d", h.Sessions(), h.Stats().ConnectTimeouts)
	}
}

// One address may have MaxUnconnectedPerAddr sessions still connecting;
// connected ones do not count.
func TestUnconnectedPerAddressCap(t *testing.T) {
	s := newSource(t)
	h, srv := newTestHandler(t, s, func(c *Config) {
		c.MaxUnconnectedPerAddr = 2
		c.ConnectTimeout = 3 * time.Second
	})
	url := srv.URL + "/whep"
	// A connected viewer frees its count.
	v := connect(t, srv, "", true)
	v.NextFrame(t, 10*time.Second).Close()
	for i := 0; i < 2; i++ {
		if code, _ := squat(t, url); code != http.StatusCreated {
			t.Fatalf("squatter %d: %d", i, code)
		}
	}
	code, ra := squat(t, url)
	if code != http.StatusTooManyRequests || ra != "3" {
		t.Fatalf("third connecting session: %d Retry-After %q, want 429 and 3", code, ra)
	}
	if h.Stats().AddrRefusals != 1 {
		t.Errorf("AddrRefusals = %d", h.Stats().AddrRefusals)
	}
	// At the deadline the squatters go and the address may offer again.
	waitSessions(t, h, 1, 10*time.Second)
	if code, _ := squat(t, url); code != http.StatusCreated {
		t.Fatalf("after the deadline: %d, want 201", code)
	}
}

// The offer check runs before pion: an offer of too many sections is
// refused with a reason.
func TestOfferTooManySections(t *testing.T) {
	s := newSource(t)
	_, srv := newTestHandler(t, s, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	pc := newClientPCClosed(t)
	kinds := make([]webrtc.RTPCodecType, 20)
	for i := range kinds {
		kinds[i] = webrtc.RTPCodecTypeVideo
	}
	resp := post(t, srv.URL+"/whep", "", offer(t, pc, kinds...))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "media sections") {
		t.Fatalf("20 sections: %d %s", resp.StatusCode, body)
	}
}

// A viewer flooding PLIs gets at most one forced keyframe per
// MinKeyframeInterval, and another viewer joining during the flood still
// gets its keyframe.
func TestKeyframeFloodRateLimited(t *testing.T) {
	s := newSource(t) // default MinKeyframeInterval: 500 ms
	_, srv := newTestHandler(t, s, nil)
	v := connect(t, srv, "", true)
	v.NextFrame(t, 10*time.Second).Close()

	var ssrc atomic.Uint32
	for _, tr := range v.PC.GetTransceivers() {
		if r := tr.Receiver(); r != nil && tr.Kind() == webrtc.RTPCodecTypeVideo && r.Track() != nil {
			ssrc.Store(uint32(r.Track().SSRC()))
		}
	}
	if ssrc.Load() == 0 {
		t.Fatal("no video track SSRC")
	}
	before := s.vpub.Stats()
	start := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		n := 0
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				n++
				// PLIs, and every fourth time a FIR, as browsers send.
				pkts := []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc.Load()}}
				if n%4 == 0 {
					pkts = []rtcp.Packet{&rtcp.FullIntraRequest{MediaSSRC: ssrc.Load(),
						FIR: []rtcp.FIREntry{{SSRC: ssrc.Load(), SequenceNumber: uint8(n / 4)}}}}
				}
				v.PC.WriteRTCP(pkts)
			}
		}
	}()
	time.Sleep(time.Second)
	v2 := connect(t, srv, "", true)
	f := v2.NextFrame(t, 10*time.Second)
	checkFrame(t, f)
	f.Close()
	time.Sleep(2 * time.Second)
	close(stop)
	<-done
	elapsed := time.Since(start)
	after := s.vpub.Stats()
	reqs := after.KeyframeRequests - before.KeyframeRequests
	forced := after.ForcedKeyframes - before.ForcedKeyframes
	keys := after.Keyframes - before.Keyframes
	frames := after.Samples - before.Samples
	// One per started 500 ms, plus the one a request may force at once.
	limit := uint64(elapsed/DefaultMinKeyframeInterval) + 1
	t.Logf("%v: %d requests, %d forced keyframes, %d keyframes in %d frames (limit %d)", elapsed, reqs, forced, keys, frames, limit)
	if reqs < 200 {
		t.Fatalf("only %d keyframe requests reached the publisher", reqs)
	}
	if forced == 0 {
		t.Fatal("no keyframe forced at all")
	}
	if forced > limit || keys > limit {
		t.Fatalf("%d forced (%d total) keyframes in %v: more than one per %v", forced, keys, elapsed, DefaultMinKeyframeInterval)
	}
	// The first viewer kept getting pictures through the flood.
	v.NextFrame(t, 10*time.Second).Close()
}

// A viewer asking again and again for 64 of its last packets (a NACK every
// 5 ms) gets at most rtcendpoint.ResendRate packets a second resent, past
// a burst of ResendBurst, and the stream goes on: without the bound,
// pion's responder resent all of them each time.
func TestNACKFloodBounded(t *testing.T) {
	s := newSource(t)
	h, srv := newTestHandler(t, s, nil)
	var ssrc, last atomic.Uint32
	var videoPkts atomic.Int64
	// SRTP replay protection would drop the resent copies of packets the
	// viewer has: they are what is counted.
	se := loopbackEngine()
	se.DisableSRTPReplayProtection(true)
	v := watchWith(t, srv, "", rtctest.ViewerConfig{Raw: true, Engine: se, OnRTP: func(tr *webrtc.TrackRemote, p *rtp.Packet) {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			ssrc.Store(p.SSRC)
			last.Store(uint32(p.SequenceNumber))
			videoPkts.Add(1)
		}
	}})
	v.WaitFrames(t, 90, 10*time.Second) // 90 packets and more to ask for
	stop := make(chan struct{})
	done := make(chan struct{})
	sent := 0
	go func() {
		defer close(done)
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				// 4 pairs of 17: the 68 packets up to the last.
				top := uint16(last.Load())
				var pairs []rtcp.NackPair
				for i := 0; i < 4; i++ {
					pairs = append(pairs, rtcp.NackPair{PacketID: top - 67 + uint16(17*i), LostPackets: 0xffff})
				}
				v.PC.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc.Load(), Nacks: pairs}})
				sent++
			}
		}
	}()
	seq0, pkts0, t0 := uint16(last.Load()), videoPkts.Load(), time.Now()
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	time.Sleep(100 * time.Millisecond) // resends under way arrive
	flood := time.Since(t0)
	// New packets carry new sequence numbers; the rest were resent.
	fresh, pkts := int64(uint16(last.Load())-seq0), videoPkts.Load()-pkts0
	limit := fresh + int64(1.1*flood.Seconds()*rtcendpoint.ResendRate) + rtcendpoint.ResendBurst
	t.Logf("%d NACKs asking for %d packets in %v: %d video packets received, %d of them new (limit %d)", sent, sent*68, flood, pkts, fresh, limit)
	if sent < 300 {
		t.Fatalf("only %d NACKs sent", sent)
	}
	if pkts > limit {
		t.Errorf("%d video packets in %v of NACK flood: more than the stream and the resend bound (%d)", pkts, flood, limit)
	}
	if fresh < 60 {
		t.Errorf("only %d new packets during the flood: the stream did not go on", fresh)
	}
	if pkts < fresh+rtcendpoint.ResendRate {
		t.Errorf("%d video packets, %d new: resends stopped altogether", pkts, fresh)
	}
	if n := h.Stats().NACKsRefused; n < uint64(sent)/2 {
		t.Errorf("%d of %d NACKs counted as refused", n, sent)
	}
}

// FuzzCheckOffer feeds SDP to the WHEP offer check: it must not panic, and
// what it accepts has an audio or video section and at most
// rtcendpoint.MaxMediaSections sections. The seed corpus
// (testdata/fuzz/FuzzCheckOffer) holds real pion viewer offers (video and
// audio with a data channel, video only, audio only, H264 only), saved as
// files so that each fuzz worker does not start PeerConnections.
func FuzzCheckOffer(f *testing.F) {
	f.Add("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")
	f.Fuzz(func(t *testing.T, sdp string) {
		if err := checkOffer(sdp); err != nil {
			return
		}
		n, av := 0, false
		for _, l := range strings.Split(sdp, "\n") {
			if strings.HasPrefix(l, "m=") {
				n++
				av = av || strings.HasPrefix(l, "m=audio") || strings.HasPrefix(l, "m=video")
			}
		}
		if n > rtcendpoint.MaxMediaSections || !av {
			t.Fatalf("accepted %d sections (audio or video: %v):\n%q", n, av, sdp)
		}
	})
}

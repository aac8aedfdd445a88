package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/media"
)

// needTool fails the test (never skips) when a reference tool is missing.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed by this test and is not installed (apt-get install ffmpeg): %v", name, err)
	}
	return p
}

// ffmpegFile runs ffmpeg with args (output last) and fails on error.
func ffmpegFile(t testing.TB, args ...string) {
	t.Helper()
	needTool(t, "ffmpeg")
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// meanRGB is the mean colour of the rectangle [x0,x1)×[y0,y1) of an I420
// frame, converted with the BT.709 limited-range matrix (what the service
// sends).
func meanRGB(f media.VideoFrame, x0, y0, x1, y1 int) (r, g, b float64) {
	n := 0.0
	for y := y0; y < y1; y += 2 {
		for x := x0; x < x1; x += 2 {
			rr, gg, bb := rgbAt(f, x, y)
			r, g, b = r+rr, g+gg, b+bb
			n++
		}
	}
	return r / n, g / n, b / n
}

func near(got, want [3]float64, tol float64) bool {
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			return false
		}
	}
	return true
}

// frameLog returns a copy of the viewer's decoded frame log.
func (v *viewer) frameLog() []frameInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]frameInfo(nil), v.log...)
}

// maxGap is the longest time between two consecutive decoded frames
// arriving within [from, to].
func maxGap(log []frameInfo, from, to time.Time) time.Duration {
	var gap time.Duration
	var prev time.Time
	for _, f := range log {
		if f.arrived.Before(from) || f.arrived.After(to) {
			continue
		}
		if !prev.IsZero() && f.arrived.Sub(prev) > gap {
			gap = f.arrived.Sub(prev)
		}
		prev = f.arrived
	}
	if !prev.IsZero() && to.Sub(prev) > gap {
		gap = to.Sub(prev)
	}
	return gap
}

// framesIn counts the decoded frames that arrived within [from, to].
func framesIn(log []frameInfo, from, to time.Time) int {
	n := 0
	for _, f := range log {
		if !f.arrived.Before(from) && !f.arrived.After(to) {
			n++
		}
	}
	return n
}

// latestSized waits for a decoded frame of the given size and returns a
// clone.
func (v *viewer) latestSized(t testing.TB, w, h int, within time.Duration) frame {
	t.Helper()
	var got frame
	deadline := time.Now().Add(within)
	for {
		f, ok := v.latest()
		if ok && f.f.CodedWidth() == w && f.f.CodedHeight() == h {
			return f
		}
		if ok {
			got = f
			got.f.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %dx%d frame decoded within %v (last %dx%d)", w, h, within, got.f.CodedWidth(), got.f.CodedHeight())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// getStats reads /api/stats.
func (s *service) stats(t testing.TB, token string) stats {
	t.Helper()
	var st stats
	if code := s.getJSON(t, "api/stats", token, &st); code != http.StatusOK {
		t.Fatalf("/api/stats: %d", code)
	}
	return st
}

// blackhole is a UDP socket that can be made to silently lose everything,
// as if the machine behind it vanished.
type blackhole struct {
	net.PacketConn
	dead atomic.Bool
}

func (b *blackhole) WriteTo(p []byte, a net.Addr) (int, error) {
	if b.dead.Load() {
		return len(p), nil
	}
	return b.PacketConn.WriteTo(p, a)
}

func (b *blackhole) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := b.PacketConn.ReadFrom(p)
		if err != nil || !b.dead.Load() {
			return n, a, err
		}
	}
}

// publisher is a pion WHIP publisher sending VP8 or H.264 (encoded with
// codec/vp8 or codec/h264) of a split-colour picture at 30 fps over a
// socket the test can cut.
type publisher struct {
	pc       *webrtc.PeerConnection
	conn     *blackhole
	codec    string
	vtrack   *webrtc.TrackLocalStaticRTP
	location string

	mu     sync.Mutex
	enc    rtctest.Encoder
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newPublisher makes a publisher offering only the given video codec
// (VP8 unless named) and, with audio, Opus.
func newPublisher(t testing.TB, codec string, video, audio bool) *publisher {
	t.Helper()
	if codec == "" {
		codec = webrtc.MimeTypeVP8
	}
	m, err := rtctest.MediaEngine(codec)
	if err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn := &blackhole{PacketConn: udp}
	se := loopbackEngine()
	se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn}))
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &publisher{pc: pc, conn: conn, codec: codec}
	t.Cleanup(p.close)
	if video {
		p.vtrack, err = webrtc.NewTrackLocalStaticRTP(rtctest.Capability(codec), "video", "pub")
		if err != nil {
			t.Fatal(err)
		}
		tr, err := pc.AddTransceiverFromTrack(p.vtrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		sender := tr.Sender()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, k := range pkts {
					if _, ok := k.(*rtcp.PictureLossIndication); ok {
						p.mu.Lock()
						if p.enc != nil {
							p.enc.RequestKeyframe()
						}
						p.mu.Unlock()
					}
				}
			}
		}()
	}
	if audio {
		at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pub")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(at, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *publisher) offer(t testing.TB) string {
	t.Helper()
	gatheredOffer(t, p.pc)
	return p.pc.LocalDescription().SDP
}

// publish POSTs the offer to url and applies the 201's answer.
func (p *publisher) publish(t testing.TB, url, token string) {
	t.Helper()
	code, body, loc := postSDP(t, url, token, p.offer(t))
	if code != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", code, body)
	}
	p.location = loc
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
}

// start sends w×h frames at 30 fps, left half left, right half right
// (BT.601 limited YUV, as mediatest makes them), until close.
func (p *publisher) start(t testing.TB, w, h int, left, right mediatest.YUV) {
	t.Helper()
	enc, payloader, err := rtctest.NewEncoder(p.codec, w, h, 600_000)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.enc = enc
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			p.mu.Lock()
			p.enc = nil
			p.mu.Unlock()
			enc.Close()
		}()
		pz := rtp.NewPacketizer(1200, 100, 1, payloader, rtp.NewRandomSequencer(), 90000)
		tk := time.NewTicker(time.Second / 30)
		defer tk.Stop()
		var buf []byte
		for i := int64(0); ; i++ {
			f, err := mediatest.SplitFrame(w, h, i*33333, 33333, left, right)
			if err != nil {
				panic(err)
			}
			p.mu.Lock()
			data, _, err := enc.Encode(f, false, buf[:0])
			p.mu.Unlock()
			f.Close()
			if err != nil {
				panic(err)
			}
			buf = data
			for _, r := range pz.Packetize(data, 3000) {
				p.vtrack.WriteRTP(r)
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
}

// vanish makes the publisher's network silently lose everything: no
// DELETE, no DTLS close, as if its machine lost power.
func (p *publisher) vanish() { p.conn.dead.Store(true) }

func (p *publisher) close() {
	if p.cancel != nil {
		p.cancel()
	}
	p.pc.Close()
	p.wg.Wait()
	p.conn.Close()
}

// y4mFrames renders a testsrc2 clip to a Y4M file with ffmpeg.
func y4mClip(t testing.TB, path string, w, h int, seconds float64) {
	t.Helper()
	ffmpegFile(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h), "-t", fmt.Sprint(seconds),
		"-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", path)
}

// readAll reads r fully (for HTTP bodies in goroutines that must not
// call t.Fatal).
func readAll(r io.Reader) string {
	var b bytes.Buffer
	io.Copy(&b, r)
	return b.String()
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// metricValue is the value of the metric line starting with name, or -1.
func metricValue(text, name string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}

// gatheredOffer sets pc's offer as its local description and waits for ICE
// gathering to complete: the SDP (pc.LocalDescription().SDP) that a
// non-trickle WHEP or WHIP POST sends.
func gatheredOffer(t testing.TB, pc *webrtc.PeerConnection) {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
}

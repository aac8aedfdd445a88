package whip

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
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
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/shadercast/shadercast/codec/opus"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/media"
)

const (
	testW, testH = 160, 96
	// Bottom half: left red-ish, right green-ish (BT.601 limited); the
	// top band carries the frame index as 8 black/white blocks.
	lY, lU, lV = 81, 90, 240
	rY, rU, rV = 145, 54, 34
	bandRows   = 32
)

// indexFrame is a split-colour frame whose top band encodes i (mod 256) in
// eight 20-pixel blocks, most significant bit first.
func indexFrame(i int64, ts int64) (media.VideoFrame, error) {
	f, err := mediatest.SplitFrame(testW, testH, ts, 33333, mediatest.YUV{lY, lU, lV}, mediatest.YUV{rY, rU, rV})
	if err != nil {
		return f, err
	}
	for pi := 0; pi < 3; pi++ {
		p, _ := f.Plane(pi)
		rows := bandRows * p.Height / testH
		for y := 0; y < rows; y++ {
			row := p.Data[y*p.Stride : y*p.Stride+p.Width]
			for x := range row {
				bit := (i >> (7 - uint(x*8/p.Width))) & 1
				switch {
				case pi > 0:
					row[x] = 128
				case bit == 1:
					row[x] = 220
				default:
					row[x] = 30
				}
			}
		}
	}
	return f, nil
}

// readIndex decodes indexFrame's band.
func readIndex(f media.VideoFrame) int {
	p, _ := f.Plane(0)
	v := 0
	for b := 0; b < 8; b++ {
		x := b*p.Width/8 + p.Width/16
		if p.Data[(bandRows/2)*p.Stride+x] > 125 {
			v |= 1 << (7 - b)
		}
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

// checkColours asserts the bottom halves have their colours, sampled away
// from the edge.
func checkColours(t *testing.T, f media.VideoFrame) {
	t.Helper()
	if f.CodedWidth() != testW || f.CodedHeight() != testH {
		t.Fatalf("decoded %dx%d, want %dx%d", f.CodedWidth(), f.CodedHeight(), testW, testH)
	}
	for pi, want := range [3][2]float64{{lY, rY}, {lU, rU}, {lV, rV}} {
		p, _ := f.Plane(pi)
		cy := p.Height * 3 / 4
		r := p.Height / 10
		l := patchMean(p, p.Width/4, cy, r)
		rr := patchMean(p, 3*p.Width/4, cy, r)
		if abs(l-want[0]) > 4 || abs(rr-want[1]) > 4 {
			t.Errorf("plane %d: left %.1f right %.1f, want %v±4", pi, l, rr, want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
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

// loopbackEngine keeps ICE on 127.0.0.1 with short timeouts, so a
// vanished peer is noticed quickly.
func loopbackEngine() *webrtc.SettingEngine {
	return rtctest.LoopbackEngine(time.Second, 2*time.Second)
}

func newTestHandler(t *testing.T, mod func(*Config)) (*Handler, *httptest.Server) {
	t.Helper()
	cfg := Config{SettingEngine: loopbackEngine()}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whip", h)
	mux.Handle("/whip/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return h, srv
}

// pub is a real pion WHIP publisher: VP8 from codec/vp8 or H.264 from
// codec/h264 packetized by hand (so that packets can be lost on purpose
// before pion sees them: no NACK can repair them), and optionally Opus.
type pub struct {
	pc       *webrtc.PeerConnection
	conn     *blackhole
	codec    string
	location string
	vtrack   *webrtc.TrackLocalStaticRTP
	atrack   *webrtc.TrackLocalStaticSample
	enc      rtctest.Encoder
	plis     atomic.Int64

	// drop, when set, is asked for every frame; true loses all its
	// packets. Set before start.
	drop func(i int64, key bool) bool

	mu     sync.Mutex
	sent   []sentFrame // per frame index
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type sentFrame struct {
	key, dropped bool
	plisBefore   int64
}

func newPub(t *testing.T, audio bool, codec string) *pub {
	t.Helper()
	return newPubOrder(t, audio, codec, false)
}

// newPubOrder is newPub with the audio section first in the offer when
// audioFirst (as some publishers offer it).
func newPubOrder(t *testing.T, audio bool, codec string, audioFirst bool) *pub {
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
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(*se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &pub{pc: pc, conn: conn, codec: codec}
	addAudio := func() {
		var err error
		p.atrack, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pub")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(p.atrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	if audio && audioFirst {
		addAudio()
	}
	p.vtrack, err = webrtc.NewTrackLocalStaticRTP(rtctest.Capability(codec), "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	snd, err := pc.AddTransceiverFromTrack(p.vtrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	sender := snd.Sender()
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
					p.plis.Add(1)
					p.mu.Lock()
					if p.enc != nil {
						p.enc.RequestKeyframe()
					}
					p.mu.Unlock()
				}
			}
		}
	}()
	if audio && !audioFirst {
		addAudio()
	}
	t.Cleanup(p.close)
	return p
}

func (p *pub) offer(t *testing.T) string {
	t.Helper()
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return p.pc.LocalDescription().SDP
}

// publish POSTs the offer and applies the answer; it fails the test unless
// the answer is 201.
func (p *pub) publish(t *testing.T, url, token string) {
	t.Helper()
	resp := post(t, url, token, p.offer(t))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	p.location = resp.Header.Get("Location")
	if !strings.HasPrefix(p.location, "/whip/") {
		t.Fatalf("Location %q", p.location)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
}

// start sends frames at 30 fps (and the 440 Hz tone, with audio) until
// close.
func (p *pub) start(t *testing.T) {
	t.Helper()
	enc, payloader, err := rtctest.NewEncoder(p.codec, testW, testH, 400_000)
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
			f, err := indexFrame(i, i*33333)
			if err != nil {
				panic(err)
			}
			p.mu.Lock()
			data, key, err := enc.Encode(f, false, buf[:0])
			p.mu.Unlock()
			f.Close()
			if err != nil {
				panic(err)
			}
			buf = data
			drop := p.drop != nil && p.drop(i, key)
			p.mu.Lock()
			p.sent = append(p.sent, sentFrame{key: key, dropped: drop, plisBefore: p.plis.Load()})
			p.mu.Unlock()
			for _, r := range pz.Packetize(data, 3000) {
				if !drop {
					p.vtrack.WriteRTP(r)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	if p.atrack == nil {
		return
	}
	aenc, err := opus.NewEncoder(opus.EncoderConfig{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer aenc.Close()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for i := int64(0); ; i++ {
			a, err := mediatest.Tone(i, 440)
			if err != nil {
				panic(err)
			}
			pkts, err := aenc.Encode(a)
			a.Close()
			if err != nil {
				panic(err)
			}
			for _, k := range pkts {
				p.atrack.WriteSample(pmedia.Sample{Data: k.Data, Duration: time.Duration(k.Duration) * time.Microsecond})
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
}

func (p *pub) sentFrames() []sentFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sentFrame(nil), p.sent...)
}

func (p *pub) close() {
	if p.cancel != nil {
		p.cancel()
	}
	p.pc.Close()
	p.wg.Wait()
	p.conn.Close()
}

func post(t *testing.T, url, token, body string) *http.Response {
	t.Helper()
	return postCT(t, url, token, "application/sdp", body)
}

func postCT(t *testing.T, url, token, ct, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// do sends a bodiless request and returns the response with its body read.
func do(t *testing.T, method, url, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// waitPublication waits for the handler's OnPublish to deliver one.
func waitPublication(t *testing.T, ch <-chan *Publication) *Publication {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no publication")
		return nil
	}
}

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

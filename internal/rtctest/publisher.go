package rtctest

import (
	"context"
	"net"
	"net/http"
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
	"github.com/shadercast/shadercast/media"
)

// CutConn is a UDP socket a test can cut: after Cut it silently loses
// everything both ways, as if the machine behind it lost power (no DELETE,
// no DTLS close).
type CutConn struct {
	net.PacketConn
	dead atomic.Bool
}

// Cut makes the socket lose everything from now on.
func (c *CutConn) Cut() { c.dead.Store(true) }

func (c *CutConn) WriteTo(p []byte, a net.Addr) (int, error) {
	if c.dead.Load() {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, a)
}

func (c *CutConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(p)
		if err != nil || !c.dead.Load() {
			return n, a, err
		}
	}
}

// PublisherConfig says what a Publisher offers. The zero value offers VP8
// video only.
type PublisherConfig struct {
	// Codec is the one video codec offered (a MIME type); VP8 when empty.
	Codec string
	// NoVideo offers no video section.
	NoVideo bool
	// Audio offers Opus and, once started, sends a 440 Hz tone.
	Audio bool
	// AudioFirst puts the audio section before the video's, as some
	// publishers offer them.
	AudioFirst bool
	// Bitrate of the video, bits/s; 600 kbit/s when 0.
	Bitrate int
	// Engine is the peer's setting engine; LoopbackEngine(2s, 4s) when
	// nil. Its UDP mux is replaced by the publisher's CutConn.
	Engine *webrtc.SettingEngine
	// Drop, when set, is asked for every frame; true loses all its packets
	// before pion sees them, so no NACK can repair them.
	Drop func(i int64, key bool) bool
}

// SentFrame is what a Publisher did with one frame.
type SentFrame struct {
	Key, Dropped bool
	// PLIsBefore counts the PLIs received before the frame was encoded.
	PLIsBefore int64
}

// Picture is what a Publisher sends: its size, and frame i with its
// timestamp in microseconds.
type Picture struct {
	Width, Height int
	Frame         func(i, ts int64) (media.VideoFrame, error)
}

// SplitPicture is a w×h picture, left half left, right half right (BT.601
// limited YUV, as mediatest makes them).
func SplitPicture(w, h int, left, right mediatest.YUV) Picture {
	return Picture{Width: w, Height: h, Frame: func(_, ts int64) (media.VideoFrame, error) {
		return mediatest.SplitFrame(w, h, ts, 33333, left, right)
	}}
}

// Publisher is a real pion WHIP publisher: video from codec/vp8 or
// codec/h264, packetized by hand (so that Drop can lose frames), a
// keyframe on every PLI, and optionally Opus, over a socket the test can
// cut. NewPublisher registers Close with t.Cleanup.
type Publisher struct {
	PC *webrtc.PeerConnection
	// Location is the resource's URL path from the 201, after Publish.
	Location string

	cfg    PublisherConfig
	conn   *CutConn
	vtrack *webrtc.TrackLocalStaticRTP
	atrack *webrtc.TrackLocalStaticSample
	plis   atomic.Int64

	mu     sync.Mutex
	enc    Encoder
	sent   []SentFrame // per frame index
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewPublisher makes a publisher that offers what cfg says.
func NewPublisher(t testing.TB, cfg PublisherConfig) *Publisher {
	t.Helper()
	if cfg.Codec == "" {
		cfg.Codec = webrtc.MimeTypeVP8
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 600_000
	}
	m, err := MediaEngine(cfg.Codec)
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
	p := &Publisher{cfg: cfg, conn: &CutConn{PacketConn: udp}}
	se := cfg.Engine
	if se == nil {
		se = LoopbackEngine(2*time.Second, 4*time.Second)
	}
	engine := *se
	engine.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: p.conn}))
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(engine))
	if p.PC, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		udp.Close()
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if cfg.Audio && cfg.AudioFirst {
		p.addAudio(t)
	}
	if !cfg.NoVideo {
		p.addVideo(t)
	}
	if cfg.Audio && !cfg.AudioFirst {
		p.addAudio(t)
	}
	return p
}

func (p *Publisher) addAudio(t testing.TB) {
	t.Helper()
	var err error
	p.atrack, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PC.AddTransceiverFromTrack(p.atrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
}

func (p *Publisher) addVideo(t testing.TB) {
	t.Helper()
	var err error
	p.vtrack, err = webrtc.NewTrackLocalStaticRTP(Capability(p.cfg.Codec), "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := p.PC.AddTransceiverFromTrack(p.vtrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
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
}

// Offer sets the publisher's local description to a complete offer and
// returns it.
func (p *Publisher) Offer(t testing.TB) string {
	t.Helper()
	return Offer(t, p.PC)
}

// Publish POSTs the offer to url and applies the answer; it fails the test
// unless the answer is a 201 with an SDP body and a Location.
func (p *Publisher) Publish(t testing.TB, url, token string) {
	t.Helper()
	p.Location = Post(t, p.PC, url, token, p.Offer(t))
}

// Start sends pic at 30 fps (and the tone, with audio) until Close.
func (p *Publisher) Start(t testing.TB, pic Picture) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if p.vtrack != nil {
		enc, payloader, err := NewEncoder(p.cfg.Codec, pic.Width, pic.Height, p.cfg.Bitrate)
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		p.enc = enc
		p.mu.Unlock()
		p.wg.Add(1)
		go p.sendVideo(ctx, enc, payloader, pic)
	}
	if p.atrack != nil {
		aenc, err := opus.NewEncoder(opus.EncoderConfig{Channels: 1})
		if err != nil {
			t.Fatal(err)
		}
		p.wg.Add(1)
		go p.sendAudio(ctx, aenc)
	}
}

func (p *Publisher) sendVideo(ctx context.Context, enc Encoder, payloader rtp.Payloader, pic Picture) {
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
		f, err := pic.Frame(i, i*33333)
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
		drop := p.cfg.Drop != nil && p.cfg.Drop(i, key)
		p.mu.Lock()
		p.sent = append(p.sent, SentFrame{Key: key, Dropped: drop, PLIsBefore: p.plis.Load()})
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
}

func (p *Publisher) sendAudio(ctx context.Context, aenc *opus.Encoder) {
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
}

// Sent returns what happened to each frame sent so far.
func (p *Publisher) Sent() []SentFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]SentFrame(nil), p.sent...)
}

// PLIs counts the picture loss indications received.
func (p *Publisher) PLIs() int64 { return p.plis.Load() }

// Stop stops sending; the connection stays up.
func (p *Publisher) Stop() {
	if p.cancel != nil {
		p.cancel()
	}
}

// Vanish cuts the publisher's socket: it goes silent both ways, as if its
// machine lost power.
func (p *Publisher) Vanish() { p.conn.Cut() }

// Close stops sending, closes the peer connection and its socket, and
// waits for the publisher's goroutines. It may be called more than once.
func (p *Publisher) Close() {
	p.Stop()
	p.PC.Close()
	p.wg.Wait()
	p.conn.Close()
}

// Post POSTs sdp to url as an offer and applies the answer to pc; it
// fails the test unless the answer is a 201 with an SDP body and a
// Location, which it returns.
func Post(t testing.TB, pc *webrtc.PeerConnection, url, token, sdp string) string {
	t.Helper()
	resp := PostSDP(t, url, token, sdp)
	if resp.Code != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", url, resp.Code, resp.Body)
	}
	if resp.ContentType != "application/sdp" {
		t.Fatalf("answer Content-Type %q", resp.ContentType)
	}
	if resp.Location == "" {
		t.Fatal("201 without a Location")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.Body}); err != nil {
		t.Fatal(err)
	}
	return resp.Location
}

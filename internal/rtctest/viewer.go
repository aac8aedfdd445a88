package rtctest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/shadercast/shadercast/codec/opus"
	"github.com/shadercast/shadercast/media"
)

// ViewerConfig says what a Viewer offers and does with what it receives.
// The zero value offers pion's default codecs for video and audio and
// decodes both.
type ViewerConfig struct {
	// Codecs are the video codecs offered (MIME types), in order of
	// preference, with Opus; pion's default codecs when none.
	Codecs []string
	// NoAudio offers video only.
	NoAudio bool
	// Raw counts video frames by their RTP marker bit without decoding
	// anything: a cheap viewer, so that many fit beside the service.
	Raw bool
	// DataChannel, when set, opens a data channel of that label in the
	// offer, so that the answer can carry the server's channels.
	DataChannel string
	// OnMessage receives the messages of the data channels the server
	// opens.
	OnMessage func(label string, data []byte)
	// Engine is the peer's setting engine; LoopbackEngine(2s, 4s) when
	// nil.
	Engine *webrtc.SettingEngine
	// Throttle, when set, polices the media coming in to this many
	// bits per second (ThrottledConn): a viewer on a slow link.
	Throttle int
	// OnRTP, when set with Raw, sees every RTP packet read, on the
	// track's reader goroutine.
	OnRTP func(tr *webrtc.TrackRemote, p *rtp.Packet)
}

// Frame is a decoded video frame with its RTP timestamp and arrival.
type Frame struct {
	media.VideoFrame
	RTP     uint32
	Arrived time.Time
}

// FrameInfo records one decoded frame without its pixels.
type FrameInfo struct {
	RTP     uint32
	Arrived time.Time
	W, H    int
}

// keep is how many decoded frames a Viewer holds; logKeep how many
// FrameInfos (it halves the log when it is full).
const (
	keep    = 8
	logKeep = 4000
)

// Viewer is a real pion WHEP viewer. It decodes the video it receives
// (VP8 or H.264), sending a PLI while it has no picture to decode (at most
// every 100 ms, as a browser does), and decodes Opus to mono. It holds the
// last 8 frames, a log of the frames decoded and the last second of sound.
// NewViewer registers Close with t.Cleanup.
type Viewer struct {
	PC *webrtc.PeerConnection
	// Location is the session's URL path from the 201, after Watch.
	Location string

	cfg     ViewerConfig
	readers Readers
	nframes atomic.Int64
	ended   chan struct{}

	mu     sync.Mutex
	codec  string
	frames []Frame
	log    []FrameInfo
	pcm    []float32 // the last second of decoded audio (mono)
	apkts  int
}

// API makes a test peer's API: the video codecs mimes in that order with
// Opus (pion's default codecs when none), pion's default interceptors, and
// engine (LoopbackEngine(2s, 4s) when nil).
func API(t testing.TB, engine *webrtc.SettingEngine, mimes ...string) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	var err error
	if len(mimes) == 0 {
		err = m.RegisterDefaultCodecs()
	} else {
		m, err = MediaEngine(mimes...)
	}
	if err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	// A browser asks for a lost packet at most 10 times (libwebrtc's
	// kMaxNackRetries); pion's default asks until it comes, which behind
	// a lossy link makes a storm of NACKs and resent packets.
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(m, reg,
		webrtc.WithNackGeneratorOptions(nack.GeneratorMaxNacksPerPacket(10))); err != nil {
		t.Fatal(err)
	}
	if engine == nil {
		engine = LoopbackEngine(2*time.Second, 4*time.Second)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(*engine))
}

// NewViewer makes a viewer with receive-only transceivers as cfg says.
func NewViewer(t testing.TB, cfg ViewerConfig) *Viewer {
	t.Helper()
	engine := cfg.Engine
	if engine == nil {
		engine = LoopbackEngine(2*time.Second, 4*time.Second)
	}
	var conn net.PacketConn
	if cfg.Throttle > 0 {
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = NewThrottledConn(udp, cfg.Throttle)
		e := *engine
		e.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn}))
		engine = &e
	}
	pc, err := API(t, engine, cfg.Codecs...).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	v := &Viewer{PC: pc, cfg: cfg, ended: make(chan struct{})}
	t.Cleanup(v.Close)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.readers.Go(func() {
			switch {
			case v.cfg.Raw:
				v.count(tr)
			case tr.Kind() == webrtc.RTPCodecTypeVideo:
				v.readVideo(tr)
			default:
				v.readAudio(tr)
			}
		})
	})
	if cfg.OnMessage != nil {
		pc.OnDataChannel(func(dc *webrtc.DataChannel) {
			label := dc.Label()
			dc.OnMessage(func(m webrtc.DataChannelMessage) { cfg.OnMessage(label, m.Data) })
		})
	}
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio}
	if cfg.NoAudio {
		kinds = kinds[:1]
	}
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.DataChannel != "" {
		if _, err := pc.CreateDataChannel(cfg.DataChannel, nil); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// Offer sets the viewer's local description to a complete offer and
// returns it.
func (v *Viewer) Offer(t testing.TB) string {
	t.Helper()
	return Offer(t, v.PC)
}

// Watch POSTs the offer to url and applies the answer; it fails the test
// unless the answer is a 201 with an SDP body and a Location. It returns
// the answer.
func (v *Viewer) Watch(t testing.TB, url, token string) string {
	t.Helper()
	v.Location = Post(t, v.PC, url, token, v.Offer(t))
	return v.PC.RemoteDescription().SDP
}

// Close closes the peer connection, waits for the track readers and
// releases the frames held. It may be called more than once.
func (v *Viewer) Close() {
	v.readers.Close(v.PC)
	v.mu.Lock()
	for _, f := range v.frames {
		f.Close()
	}
	v.frames = nil
	v.mu.Unlock()
}

// count reads a track without decoding, counting video frames.
func (v *Viewer) count(tr *webrtc.TrackRemote) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	if video {
		defer close(v.ended)
		v.mu.Lock()
		v.codec = tr.Codec().MimeType
		v.mu.Unlock()
	}
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if v.cfg.OnRTP != nil {
			v.cfg.OnRTP(tr, p)
		}
		if video && p.Marker {
			v.nframes.Add(1)
		}
	}
}

func (v *Viewer) readVideo(tr *webrtc.TrackRemote) {
	defer close(v.ended)
	dec, depay, err := NewDecoder(tr.Codec().MimeType)
	if err != nil {
		panic(err)
	}
	defer dec.Close()
	v.mu.Lock()
	v.codec = tr.Codec().MimeType
	v.mu.Unlock()
	sb := samplebuilder.New(128, depay, 90000)
	pli := func() {
		v.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
	}
	pli()
	var lastPLI time.Time
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			f, err := dec.Decode(s.Data, 0)
			if err != nil {
				// No keyframe yet (joined mid-stream) or damage: ask
				// for one, at most every 100 ms.
				if time.Since(lastPLI) > 100*time.Millisecond {
					lastPLI = time.Now()
					pli()
				}
				continue
			}
			now := time.Now()
			v.mu.Lock()
			v.frames = append(v.frames, Frame{VideoFrame: f, RTP: s.PacketTimestamp, Arrived: now})
			if len(v.frames) > keep {
				v.frames[0].Close()
				v.frames = append(v.frames[:0], v.frames[1:]...)
			}
			v.log = append(v.log, FrameInfo{RTP: s.PacketTimestamp, Arrived: now, W: f.CodedWidth(), H: f.CodedHeight()})
			if len(v.log) > logKeep {
				v.log = append(v.log[:0], v.log[logKeep/2:]...)
			}
			v.mu.Unlock()
			v.nframes.Add(1)
		}
	}
}

func (v *Viewer) readAudio(tr *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder(1)
	if err != nil {
		panic(err)
	}
	defer dec.Close()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		pcm, err := dec.Decode(pkt.Payload)
		if err != nil {
			continue
		}
		v.mu.Lock()
		v.apkts++
		v.pcm = append(v.pcm, pcm...)
		if len(v.pcm) > 48000 {
			v.pcm = append(v.pcm[:0], v.pcm[len(v.pcm)-48000:]...)
		}
		v.mu.Unlock()
	}
}

// Codec is the MIME type of the video received; empty before the track
// arrives.
func (v *Viewer) Codec() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.codec
}

// FrameCount is how many video frames were decoded (counted, when Raw).
func (v *Viewer) FrameCount() int { return int(v.nframes.Load()) }

// Ended is closed when the video track's reads end.
func (v *Viewer) Ended() <-chan struct{} { return v.ended }

// Latest returns a clone of the newest decoded frame; the caller closes
// it.
func (v *Viewer) Latest() (Frame, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.frames) == 0 {
		return Frame{}, false
	}
	f := v.frames[len(v.frames)-1]
	c, err := f.Clone()
	if err != nil {
		return Frame{}, false
	}
	f.VideoFrame = c
	return f, true
}

// Frames returns clones of the frames held, oldest first; the caller
// closes them.
func (v *Viewer) Frames() []Frame {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]Frame, 0, len(v.frames))
	for _, f := range v.frames {
		c, err := f.Clone()
		if err != nil {
			continue
		}
		f.VideoFrame = c
		out = append(out, f)
	}
	return out
}

// Log returns a copy of the log of decoded frames.
func (v *Viewer) Log() []FrameInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]FrameInfo(nil), v.log...)
}

// WaitFrames waits until n more frames were decoded.
func (v *Viewer) WaitFrames(t testing.TB, n int, within time.Duration) {
	t.Helper()
	start := v.FrameCount()
	deadline := time.Now().Add(within)
	for v.FrameCount() < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("decoded %d of %d frames within %v (state %s)", v.FrameCount()-start, n, within, v.PC.ConnectionState())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NextFrame waits for a frame decoded after the call and returns a clone
// of it; the caller closes it.
func (v *Viewer) NextFrame(t testing.TB, within time.Duration) media.VideoFrame {
	t.Helper()
	v.WaitFrames(t, 1, within)
	f, ok := v.Latest()
	if !ok {
		t.Fatal("no frame held")
	}
	return f.VideoFrame
}

// AudioPackets counts the Opus packets decoded.
func (v *Viewer) AudioPackets() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.apkts
}

// SecondOfAudio waits for a second of decoded sound and returns a copy;
// fresh drops what was heard before, so that the second starts now.
func (v *Viewer) SecondOfAudio(t testing.TB, fresh bool) []float32 {
	t.Helper()
	v.mu.Lock()
	if fresh {
		v.pcm = v.pcm[:0]
	}
	v.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v.mu.Lock()
		if len(v.pcm) >= 48000 {
			defer v.mu.Unlock()
			return append([]float32(nil), v.pcm...)
		}
		n := len(v.pcm)
		v.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%d of 48000 samples of sound within 10 s (state %s)", n, v.PC.ConnectionState())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Package rtctest holds what the WebRTC tests' peers (pion publishers and
// viewers in whip, whep and e2e) need of the codecs: an encoder and its
// RTP payloader for a publisher, a decoder and its depacketizer for a
// viewer, for VP8 and H.264 alike.
package rtctest

import (
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/codec/h264"
	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/media"
)

// H264Fmtp is the fmtp of the H.264 the test peers send and receive:
// constrained baseline 3.1, packetization mode 1.
const H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// Capability is mime's RTP capability as the test peers register it.
func Capability(mime string) webrtc.RTPCodecCapability {
	c := webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}
	if strings.EqualFold(mime, webrtc.MimeTypeH264) {
		c.SDPFmtpLine = H264Fmtp
	}
	return c
}

// Encoder is a test publisher's video encoder, of either codec.
type Encoder interface {
	Encode(f media.VideoFrame, keyframe bool, dst []byte) (data []byte, key bool, err error)
	RequestKeyframe()
	Close() error
}

// NewEncoder makes an encoder of mime (VP8 when not H.264) for w x h at
// bps, one thread, keyframes on request only, with the RTP payloader for
// its frames.
func NewEncoder(mime string, w, h, bps int) (Encoder, rtp.Payloader, error) {
	if strings.EqualFold(mime, webrtc.MimeTypeH264) {
		e, err := h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, Bitrate: bps, Threads: 1, KeyframeInterval: -1},
			media.ColorSpace{Matrix: media.MatrixBT601})
		if err != nil {
			return nil, nil, err
		}
		return h264Enc{e}, &codecs.H264Payloader{}, nil
	}
	e, err := vp8.NewEncoder(vp8.EncoderConfig{Width: w, Height: h, Bitrate: bps, Threads: 1, KeyframeInterval: -1})
	if err != nil {
		return nil, nil, err
	}
	return vp8Enc{e}, &codecs.VP8Payloader{}, nil
}

type vp8Enc struct{ *vp8.Encoder }

func (e vp8Enc) Encode(f media.VideoFrame, key bool, dst []byte) ([]byte, bool, error) {
	p, err := e.Encoder.Encode(f, key, dst)
	return p.Data, p.Keyframe, err
}

type h264Enc struct{ *h264.Encoder }

func (e h264Enc) Encode(f media.VideoFrame, key bool, dst []byte) ([]byte, bool, error) {
	p, err := e.Encoder.Encode(f, key, dst)
	return p.Data, p.Keyframe, err
}

// Decoder is a test viewer's video decoder, of either codec.
type Decoder interface {
	Decode(data []byte, ts int64) (media.VideoFrame, error)
	Close() error
}

// NewDecoder makes a decoder for mime (VP8 when not H.264) and the RTP
// depacketizer whose frames it decodes.
func NewDecoder(mime string) (Decoder, rtp.Depacketizer, error) {
	if strings.EqualFold(mime, webrtc.MimeTypeH264) {
		d, err := h264.NewDecoder()
		return d, &codecs.H264Packet{}, err
	}
	d, err := vp8.NewDecoder(1)
	return d, &codecs.VP8Packet{}, err
}

// Feedback is the RTCP feedback the test peers ask for with video: NACK
// and PLI.
var Feedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}

// MediaEngine registers the video codecs mimes, in that order of
// preference (payload types 100 on), with Feedback, and Opus (111).
func MediaEngine(mimes ...string) (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for i, mime := range mimes {
		c := Capability(mime)
		c.RTCPFeedback = Feedback
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: webrtc.PayloadType(100 + i)},
			webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}
	err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio)
	return m, err
}

// Readers runs a peer's track readers and waits for them when the peer
// closes. pion may call OnTrack after pc.Close returned: Go refuses to
// start a reader once Close has begun, so the WaitGroup's Add never races
// with its Wait.
type Readers struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs read on the calling goroutine (pion's OnTrack one), unless the
// peer is closing.
func (r *Readers) Go(read func()) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	read()
}

// Close refuses new readers, closes pc (so that the running readers'
// reads fail) and waits for them.
func (r *Readers) Close(pc *webrtc.PeerConnection) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	pc.Close()
	r.wg.Wait()
}

// LoopbackEngine keeps a test peer's ICE on 127.0.0.1 over UDP, without
// mDNS, with timeouts short enough that a peer that vanishes is noticed
// within the test (disconnected after disconnect, failed after failed).
func LoopbackEngine(disconnect, failed time.Duration) *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(disconnect, failed, 200*time.Millisecond)
	return se
}

package whep

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/codec/h264"
	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/media"
)

// videoEncoder is what a video Publisher needs of its codec's encoder.
type videoEncoder interface {
	Encode(f media.VideoFrame, keyframe bool, dst []byte) (data []byte, key bool, err error)
	SetBitrate(bps int) error
	Size() (w, h int)
	Close() error
}

// DefaultProfileLevelID is the H.264 profile-level-id a track declares
// when VideoConfig.ProfileLevelID is empty: constrained baseline, level
// 3.1.
const DefaultProfileLevelID = "42e01f"

// videoCapability is the track's codec as negotiated in SDP.
func videoCapability(cfg VideoConfig) (webrtc.RTPCodecCapability, error) {
	switch {
	case cfg.Codec == "" || strings.EqualFold(cfg.Codec, webrtc.MimeTypeVP8):
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, nil
	case strings.EqualFold(cfg.Codec, webrtc.MimeTypeH264):
		plid := cfg.ProfileLevelID
		if plid == "" {
			plid = DefaultProfileLevelID
		}
		if len(plid) != 6 || !strings.HasPrefix(strings.ToLower(plid), "42e0") {
			return webrtc.RTPCodecCapability{}, fmt.Errorf("whep: H.264 profile-level-id %q: the encoder makes constrained baseline (42e0xx)", plid)
		}
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp(plid)}, nil
	}
	return webrtc.RTPCodecCapability{}, fmt.Errorf("whep: no encoder for %q (VP8 or H.264)", cfg.Codec)
}

// h264Fmtp is the fmtp line of what the H.264 publisher sends:
// packetization mode 1 (pion's payloader fragments NAL units, FU-A).
func h264Fmtp(plid string) string {
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid
}

// newVideoEncoder makes codec's encoder for w x h frames: keyframes only
// on request (WebRTC receivers ask with PLI/FIR; periodic keyframes waste
// bits), the colour matrix of the frames (H.264 says it in its stream).
func newVideoEncoder(codec string, cfg VideoConfig, w, h, bps int, cs media.ColorSpace) (videoEncoder, error) {
	if codec == webrtc.MimeTypeH264 {
		e, err := h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, Bitrate: bps, FrameRate: cfg.FrameRate,
			Threads: cfg.Threads, KeyframeInterval: -1}, cs)
		if err != nil {
			return nil, err
		}
		return h264Enc{e}, nil
	}
	e, err := vp8.NewEncoder(vp8.EncoderConfig{Width: w, Height: h, Bitrate: bps, FrameRate: cfg.FrameRate,
		CPUUsed: cfg.CPUUsed, Threads: cfg.Threads, KeyframeInterval: -1})
	if err != nil {
		return nil, err
	}
	return vp8Enc{e}, nil
}

type vp8Enc struct{ *vp8.Encoder }

func (e vp8Enc) Encode(f media.VideoFrame, key bool, dst []byte) ([]byte, bool, error) {
	p, err := e.Encoder.Encode(f, key, dst)
	return p.Data, p.Keyframe, err
}

func (e vp8Enc) Size() (int, int) { return e.Config().Width, e.Config().Height }

type h264Enc struct{ *h264.Encoder }

func (e h264Enc) Encode(f media.VideoFrame, key bool, dst []byte) ([]byte, bool, error) {
	p, err := e.Encoder.Encode(f, key, dst)
	return p.Data, p.Keyframe, err
}

func (e h264Enc) Size() (int, int) { return e.Config().Width, e.Config().Height }

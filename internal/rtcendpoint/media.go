package rtcendpoint

import (
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// VideoFeedback is the RTCP feedback every video codec is registered
// with: FIR and PLI (keyframe requests), NACK (repair), and transport-cc
// (feedback for the sender's bandwidth estimate).
var VideoFeedback = []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
	{Type: webrtc.TypeRTCPFBTransportCC}}

// Opus is the sound every peer of ours sends or receives: Opus at 48 kHz,
// payload type 111, with in-band FEC and transport-cc.
var Opus = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}},
	PayloadType: 111,
}

// NewMediaEngine registers the video codecs (in that order of
// preference) and Opus: only what the endpoint sends or decodes, so that
// an offer without any of them has no codec in common.
func NewMediaEngine(video []webrtc.RTPCodecParameters) (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range video {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}
	if err := m.RegisterCodec(Opus, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	return m, nil
}

// AddNACKAndReports adds the part of pion's default interceptors every
// peer of ours needs, after what reg holds already: NACK (without it 2%
// loss gives silently corrupted pictures), its resends bounded
// (ResendRate; refused, when not nil, counts the NACKs refused), and RTCP
// sender and receiver reports.
func AddNACKAndReports(m *webrtc.MediaEngine, reg *interceptor.Registry, refused *atomic.Uint64) error {
	reg.Add(nackLimiterFactory{refused: refused})
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		return err
	}
	return webrtc.ConfigureRTCPReports(reg)
}

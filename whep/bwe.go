package whep

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
)

// Send-side bandwidth estimation (see the package comment for the policy).
const (
	// DefaultMinBitrate is VideoConfig.MinBitrate when it is 0: below
	// ~150 kbit/s VP8 pictures are mush at any useful size, and a viewer
	// that cannot take that is better served by stalling than by dragging
	// everybody down further.
	DefaultMinBitrate = 150_000

	// DefaultMinKeyframeInterval is VideoConfig.MinKeyframeInterval when
	// it is 0 (see the package comment): at most two forced keyframes a
	// second, whoever asks.
	DefaultMinKeyframeInterval = 500 * time.Millisecond

	// adaptInterval is how often a video publisher recomputes its target:
	// GCC itself updates per feedback report (~every 100 ms), which would
	// make the encoder chase noise; ~2 updates a second still react to a
	// collapsing link within one RTT-ish of GCC's own decrease.
	adaptInterval = 500 * time.Millisecond
	// videoShareNum/Den is the part of a viewer's estimate (after the
	// audio is taken off) given to video: RTP/SRTP headers (~4% at 1200
	// byte packets), RTCP and the CBR encoder's overshoot on keyframes
	// must fit into the rest.
	videoShareNum, videoShareDen = 9, 10
	// deadbandDiv: target changes smaller than 1/deadbandDiv (5%) of the
	// current target are ignored, so GCC's continuous small steps do not
	// turn into continuous encoder reconfiguration.
	deadbandDiv = 20
	// raiseDiv: a raise is at most 1/raiseDiv (25%) of the current target
	// per step; decreases apply at once (a congested viewer loses packets
	// now, while a too-slow raise only costs a little quality).
	raiseDiv = 4
)

// ViewerEstimate is one viewer's bandwidth estimate, as seen by a video
// publisher.
type ViewerEstimate struct {
	Session string // the WHEP session id (the last element of its Location)
	// Estimate is GCC's current estimate of the viewer's whole transport
	// (audio and video), bits per second.
	Estimate int
	// Share is the part of Estimate this publisher may use (see the package
	// comment); 0 until feedback arrived.
	Share int
	// Feedback counts the TWCC feedback reports received from the viewer.
	// Zero means the viewer did not negotiate transport-cc (or none arrived
	// yet): its estimate is only GCC's initial value and is ignored.
	Feedback uint64
}

// estimator wraps pion's GCC for one PeerConnection.
type estimator struct {
	*gcc.SendSideBWE
	feedback atomic.Uint64
}

// WriteRTCP feeds RTCP to GCC and counts TWCC reports. Errors are swallowed
// on purpose: the cc interceptor returns them from the RTP sender's RTCP
// read, which would end Publisher.ReadRTCP for good (no more PLI/FIR for this
// viewer) because of one malformed feedback report.
func (e *estimator) WriteRTCP(pkts []rtcp.Packet, attr interceptor.Attributes) error {
	for _, p := range pkts {
		if _, ok := p.(*rtcp.TransportLayerCC); ok {
			e.feedback.Add(1)
		}
	}
	_ = e.SendSideBWE.WriteRTCP(pkts, attr)
	return nil
}

// bweLimits are the GCC bounds for one PeerConnection: its estimate is only
// useful within the range the video shares can use, so GCC is kept there,
// which also lets it recover from a dip without climbing from 5 kbit/s.
type bweLimits struct{ initial, min, max int }

// newEstimatorFactory returns a cc interceptor factory whose (single)
// estimator is handed to got. Each PeerConnection gets its own factory
// (and registry): the factory's callback is the only way to learn the
// estimator of a PeerConnection.
func newEstimatorFactory(l bweLimits, got func(*estimator)) (*cc.InterceptorFactory, error) {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		g, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(l.initial),
			gcc.SendSideBWEMinBitrate(l.min),
			gcc.SendSideBWEMaxBitrate(l.max),
			// No pacing: the encoder's CBR rate control already spreads
			// the bits, and pion's leaky bucket pacer adds a 5 ms tick of
			// queueing per packet, an unbounded queue when the estimate
			// falls below what we send, and copies into 1460-byte
			// buffers.
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
		)
		if err != nil {
			return nil, err
		}
		return &estimator{SendSideBWE: g}, nil
	})
	if err != nil {
		return nil, err
	}
	f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		if est, ok := e.(*estimator); ok {
			got(est)
		}
	})
	return f, nil
}

// viewerBWE is a session's estimator as registered with a video publisher.
type viewerBWE struct {
	session string
	est     *estimator
	// audio is the bitrate of the audio publishers on the same transport,
	// taken off the estimate before the video share is computed; nVideo
	// is the number of video publishers the rest is split between.
	audio, nVideo int
}

// bwe is a video publisher's bandwidth-estimation state.
type bwe struct {
	configured, floor, ceiling int
	target                     atomic.Int64 // current encoder target, bits/s

	mu      sync.Mutex
	viewers map[*viewerBWE]struct{}
}

// addViewer registers a session's estimator; the returned func removes it.
func (p *Publisher) addViewer(v *viewerBWE) (remove func()) {
	b := &p.bwe
	b.mu.Lock()
	if b.viewers == nil {
		b.viewers = map[*viewerBWE]struct{}{}
	}
	b.viewers[v] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.viewers, v)
		b.mu.Unlock()
	}
}

// estimates returns the viewers' estimates and the shares of those that had
// feedback (the input of adaptTarget).
func (b *bwe) estimates() ([]ViewerEstimate, []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ViewerEstimate
	var shares []int
	for v := range b.viewers {
		e := ViewerEstimate{Session: v.session, Estimate: v.est.GetTargetBitrate(), Feedback: v.est.feedback.Load()}
		if e.Feedback > 0 {
			e.Share = videoShare(e.Estimate, v.audio, v.nVideo)
			shares = append(shares, e.Share)
		}
		out = append(out, e)
	}
	return out, shares
}

// videoShare is the part of a transport estimate one of nVideo video
// publishers may use after audio bits/s are taken off (see videoShareNum).
func videoShare(estimate, audio, nVideo int) int {
	if nVideo < 1 {
		nVideo = 1
	}
	v := (estimate - audio) * videoShareNum / videoShareDen / nVideo
	return max(v, 0)
}

// adaptTarget is the rate policy: given the current encoder target and the
// video shares of the viewers with feedback, it returns the next target.
// One encode is shared by every viewer, so the weakest viewer sets the pace
// (the minimum share), clamped to [floor, ceiling]. With no viewers the
// configured bitrate applies. Decreases apply at once, raises are limited to
// +25% per step, and changes under 5% are ignored (no oscillation).
func adaptTarget(cur, configured, floor, ceiling int, shares []int) int {
	if len(shares) == 0 {
		return clampInt(configured, floor, ceiling)
	}
	want := shares[0]
	for _, s := range shares[1:] {
		want = min(want, s)
	}
	want = clampInt(want, floor, ceiling)
	next := cur
	switch d := want - cur; {
	case d < 0 && -d >= cur/deadbandDiv:
		next = want
	case d > 0 && d >= cur/deadbandDiv:
		next = min(want, cur+cur/raiseDiv)
	}
	// cur may lie outside the bounds (e.g. a caller's initial value); the
	// result never does.
	return clampInt(next, floor, ceiling)
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

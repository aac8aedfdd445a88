package whep

import (
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtcendpoint"
)

// A ladder is the video publishers of one codec at several sizes, the
// largest first (Config.Publishers' order): the rungs of a rendition
// ladder. A viewer of a codec with a ladder gets its own track, a
// layerTrack, that forwards one rung's packets at a time and moves to
// another at a keyframe, so that each viewer receives what its own
// bandwidth estimate carries, while every rung is still encoded once for
// all its viewers (as an SFU forwards simulcast layers).
type ladder []*Publisher

// Rung switching (see layerTrack.adapt).
const (
	// downAfter: a viewer moves down once its link has been congested
	// (GCC sees losses over 10% or delay overuse) for this long, to the
	// rung its estimate carries with 30% to spare (downNum/downDen). The
	// estimate alone would mislead: without probing GCC does not climb
	// far past what is sent (1.5x the received rate), so right after a
	// move up it still reads the rung below.
	downAfter        = time.Second
	downNum, downDen = 70, 100
	lossCongested    = 0.10
	// upAfter: a viewer moves up one rung once its share has carried the
	// rung above's whole bitrate for this long.
	upAfter = 2 * time.Second
	// Without probing, the estimate rarely carries the rung above, so a
	// viewer below its cap also tries the rung above after probeAfter
	// without a switch; each try that ends in a move back down within
	// probeFail doubles the wait, up to probeMax.
	probeAfter = 5 * time.Second
	probeFail  = 5 * time.Second
	probeMax   = time.Minute
	// keyframeWait: a keyframe asked of the rung switched to is asked
	// again when none came within it.
	keyframeWait = time.Second
)

// linkState is what a viewer's estimator says, for adapt.
type linkState struct {
	// share is the video share of the estimate, bits/s; 0 while
	// unknown (no feedback yet).
	share int
	// congested: losses over lossCongested, or delay overuse.
	congested bool
}

// layerTrack is one viewer's video track over a ladder. It is bound to the
// viewer's sender as a TrackLocalStaticRTP; its packets come from a tap
// bound into the publisher of the rung received (and, while switching, of
// the rung switched to), with the sequence numbers and timestamps
// rewritten to run on across switches. It holds the publishers it takes
// packets from, so that on-demand rungs are encoded while it needs them.
type layerTrack struct {
	out   *webrtc.TrackLocalStaticRTP
	rungs ladder

	mu         sync.Mutex
	cur        int // rung forwarded
	want       int // rung switched to, waiting for its keyframe; -1 none
	taps       []*tap
	capIdx     int // the largest rung allowed (the viewer's cap)
	fixed      bool
	asked      time.Time // when want's keyframe was asked for
	upSince    time.Time // since when the share carried the rung above
	downSince  time.Time // since when the share has not carried the rung
	lastSwitch time.Time // the last switch decided
	lastUp     time.Time // the last move up decided
	probeWait  time.Duration
	closed     bool

	// The last packet forwarded, and the offsets that map the received
	// rung's numbering onto the viewer's.
	started  bool
	lastSeq  uint16
	lastTS   uint32
	lastAt   time.Time
	seqOff   uint16
	tsOff    uint32
	clock    float64 // RTP units per second
	switches int

	wg sync.WaitGroup // taps being unbound
}

// newLayerTrack makes a viewer's track over rungs, receiving rung start
// first; the track declares the top's capability (its fmtp line: for
// H.264 the highest level, which decodes every rung's).
func newLayerTrack(rungs ladder, start int, streamID string) (*layerTrack, error) {
	out, err := webrtc.NewTrackLocalStaticRTP(rungs[0].Capability(), "video", streamID)
	if err != nil {
		return nil, err
	}
	lt := &layerTrack{out: out, rungs: rungs, cur: start, want: -1, capIdx: start,
		taps: make([]*tap, len(rungs)), clock: float64(rungs[0].Capability().ClockRate),
		lastSwitch: time.Now(), probeWait: probeAfter}
	if err := lt.tapRung(start); err != nil {
		return nil, err
	}
	return lt, nil
}

// tapRung binds a tap into rung i's publisher and holds it; lt.mu held or
// not yet shared.
func (lt *layerTrack) tapRung(i int) error {
	if lt.taps[i] != nil {
		return nil
	}
	p := lt.rungs[i]
	c := p.Capability()
	t := &tap{lt: lt, rung: i, id: rtcendpoint.NewID(),
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: 96}}
	if _, err := p.track.Bind(t); err != nil {
		return err
	}
	t.release = p.Hold()
	lt.taps[i] = t
	return nil
}

// untapRung unbinds rung i's tap and releases its hold, on a goroutine of
// its own: the tap's publisher may be delivering a packet to this track,
// waiting for lt.mu, with its track's lock held, which Unbind takes.
func (lt *layerTrack) untapRung(i int) {
	t := lt.taps[i]
	if t == nil {
		return
	}
	lt.taps[i] = nil
	t.gone = true
	lt.wg.Add(1)
	go func() {
		defer lt.wg.Done()
		lt.rungs[t.rung].track.Unbind(t)
		t.release()
	}()
}

// onPacket is a rung's packet, on that publisher's encode goroutine.
func (lt *layerTrack) onPacket(t *tap, h *rtp.Header, payload []byte) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.closed || t.gone {
		return
	}
	if t.rung == lt.want && keyframeStart(lt.out.Codec().MimeType, payload) {
		old := lt.cur
		lt.cur, lt.want = t.rung, -1
		if old != lt.cur {
			lt.untapRung(old)
		}
		lt.switches++
		if lt.started {
			// Numbering runs on: the next sequence number, and the
			// time elapsed since the last packet (at least one unit).
			lt.seqOff = lt.lastSeq + 1 - h.SequenceNumber
			gap := uint32(max(1, time.Since(lt.lastAt).Seconds()*lt.clock))
			lt.tsOff = lt.lastTS + gap - h.Timestamp
		}
	}
	if t.rung != lt.cur {
		return
	}
	pkt := rtp.Packet{Header: *h, Payload: payload}
	pkt.SequenceNumber = h.SequenceNumber + lt.seqOff
	pkt.Timestamp = h.Timestamp + lt.tsOff
	lt.started, lt.lastSeq, lt.lastTS, lt.lastAt = true, pkt.SequenceNumber, pkt.Timestamp, time.Now()
	// An error is the viewer's transport closing: the session ends by
	// its own means.
	_ = lt.out.WriteRTP(&pkt)
}

// switchTo starts moving to rung i: it is tapped, held and asked for a
// keyframe; the move happens at that keyframe. lt.mu held.
func (lt *layerTrack) switchTo(i int) {
	if i == lt.cur {
		if lt.want >= 0 {
			lt.untapRung(lt.want)
			lt.want = -1
		}
		return
	}
	if i == lt.want {
		return
	}
	if lt.want >= 0 {
		lt.untapRung(lt.want)
	}
	if err := lt.tapRung(i); err != nil {
		return
	}
	lt.want, lt.asked = i, time.Now()
	lt.rungs[i].RequestKeyframe()
}

// adapt applies the rung policy to the viewer's link (see the constants
// above); the handler calls it every adaptInterval. Down, after downAfter
// of congestion, to the largest allowed rung whose bitrate the share
// carries with 30% to spare (the smallest when none); up one rung once the
// share has carried the rung above's bitrate for upAfter, or to probe.
func (lt *layerTrack) adapt(l linkState, now time.Time) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.closed {
		return
	}
	if lt.want >= 0 && now.Sub(lt.asked) >= keyframeWait {
		lt.asked = now
		lt.rungs[lt.want].RequestKeyframe()
	}
	target := lt.cur
	if lt.want >= 0 {
		target = lt.want
	}
	if lt.fixed || target < lt.capIdx {
		lt.switchTo(lt.capIdx)
		return
	}
	if l.share <= 0 {
		return
	}
	carries := func(i, num, den int) bool { return l.share*den >= lt.rungs[i].bwe.ceiling*num }
	switch {
	case !l.congested:
		lt.downSince = time.Time{}
	case lt.downSince.IsZero():
		lt.downSince = now
	case now.Sub(lt.downSince) >= downAfter:
		next := len(lt.rungs) - 1
		for i := lt.capIdx; i < len(lt.rungs); i++ {
			if carries(i, downNum, downDen) {
				next = i
				break
			}
		}
		if next > target {
			if !lt.lastUp.IsZero() && now.Sub(lt.lastUp) < probeFail {
				lt.probeWait = min(2*lt.probeWait, probeMax)
			}
			target, lt.lastSwitch = next, now
		}
		lt.downSince, lt.upSince = time.Time{}, time.Time{}
	}
	if target > lt.capIdx && target == lt.cur && lt.want < 0 && lt.downSince.IsZero() {
		up := false
		if carries(target-1, 1, 1) {
			if lt.upSince.IsZero() {
				lt.upSince = now
			}
			up = now.Sub(lt.upSince) >= upAfter
		} else {
			lt.upSince = time.Time{}
		}
		if up || now.Sub(lt.lastSwitch) >= lt.probeWait {
			target--
			lt.lastSwitch, lt.lastUp, lt.upSince = now, now, time.Time{}
		}
	}
	lt.switchTo(target)
}

// setCap sets the largest rung the viewer may receive (index into the
// ladder); fixed keeps it there whatever the estimate.
func (lt *layerTrack) setCap(i int, fixed bool) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.capIdx, lt.fixed = i, fixed
	target := lt.cur
	if lt.want >= 0 {
		target = lt.want
	}
	if fixed || target < i {
		lt.switchTo(i)
	}
}

// rung is the rung received and the one switched to (-1 none).
func (lt *layerTrack) rung() (cur, want int) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.cur, lt.want
}

// ReadRTCP reads the viewer's RTCP until the sender closes and turns
// PLI and FIR into a keyframe request of the rung received (and the one
// switched to).
func (lt *layerTrack) ReadRTCP(sender *webrtc.RTPSender) {
	readKeyframeRequests(sender, func() {
		cur, want := lt.rung()
		lt.rungs[cur].RequestKeyframe()
		if want >= 0 {
			lt.rungs[want].RequestKeyframe()
		}
	})
}

// Close unbinds the taps and releases the publishers; it waits for the
// unbinding.
func (lt *layerTrack) Close() {
	lt.mu.Lock()
	lt.closed = true
	for i := range lt.taps {
		lt.untapRung(i)
	}
	lt.mu.Unlock()
	lt.wg.Wait()
}

// tap is a layerTrack's binding into a rung publisher's track: pion's
// TrackLocalStaticSample packetizes once and writes each packet to every
// binding, this one included.
type tap struct {
	lt      *layerTrack
	rung    int
	id      string
	codec   webrtc.RTPCodecParameters
	release func()
	gone    bool // lt.mu: untapped, its packets are ignored
}

func (t *tap) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{t.codec}
}
func (t *tap) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (t *tap) SSRC() webrtc.SSRC                                      { return 0 }
func (t *tap) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (t *tap) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (t *tap) WriteStream() webrtc.TrackLocalWriter                   { return t }
func (t *tap) ID() string                                             { return t.id }
func (t *tap) RTCPReader() interceptor.RTCPReader                     { return nil }

func (t *tap) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	t.lt.onPacket(t, h, payload)
	return len(payload), nil
}

func (t *tap) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	return t.WriteRTP(&p.Header, p.Payload)
}

// keyframeStart reports whether an RTP payload of codec mime begins a
// keyframe: a VP8 partition start of a key frame, an H.264 IDR or
// parameter sets (our payloader sends SPS and PPS in a STAP-A before the
// IDR).
func keyframeStart(mime string, payload []byte) bool {
	if strings.EqualFold(mime, webrtc.MimeTypeH264) {
		return h264KeyframeStart(payload)
	}
	var vp codecs.VP8Packet
	data, err := vp.Unmarshal(payload)
	return err == nil && vp.S == 1 && vp.PID == 0 && len(data) > 0 && data[0]&1 == 0
}

func h264KeyframeStart(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7: // IDR slice, SPS
		return true
	case 24: // STAP-A: any of its NAL units
		for i := 1; i+2 < len(p); {
			n := int(p[i])<<8 | int(p[i+1])
			if i+2 < len(p) {
				if nt := p[i+2] & 0x1f; nt == 5 || nt == 7 {
					return true
				}
			}
			i += 2 + n
		}
	case 28: // FU-A: the first fragment of an IDR
		return len(p) > 1 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

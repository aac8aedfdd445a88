package whep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/shadercast/shadercast/codec/opus"
	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/media"
)

// VideoConfig configures the encoder of a video Publisher. Zero values
// pick defaults.
type VideoConfig struct {
	// Codec is the MIME type encoded: webrtc.MimeTypeVP8 (the default,
	// "") or webrtc.MimeTypeH264 (constrained baseline, packetization
	// mode 1, codec/h264).
	Codec string
	// ProfileLevelID is the H.264 profile-level-id the track declares
	// (RFC 6184): constrained baseline at the canvas's level
	// (h264.LevelFor(...).ProfileLevelID()); "" means "42e01f" (level
	// 3.1, up to 1280x720 at 30 fps).
	ProfileLevelID string
	// Rendition names the rung of a rendition ladder this publisher
	// encodes ("360p"); a viewer asks for it with ?rendition= on its
	// POST (see Handler). Empty for a publisher outside a ladder.
	// Width and Height are its picture's size, for the viewers' list of
	// layers (and their maxWidth/maxHeight).
	Rendition     string
	Width, Height int
	// OnDemand makes the publisher encode only while a viewer is attached
	// or someone holds it (Hold): a codec nobody watches costs nothing.
	// The first frame after an idle spell is a keyframe (a new encoder).
	OnDemand bool
	// Bitrate is the CBR target in bits per second; 0 means 1.5 Mbit/s.
	// It applies while no viewer reports bandwidth (no viewers, or none
	// that negotiated transport-cc), clamped to [MinBitrate, MaxBitrate].
	Bitrate int
	// MinBitrate and MaxBitrate bound the target that send-side bandwidth
	// estimation sets (see the package comment): every ~500 ms it becomes
	// the smallest video share of the viewers' GCC estimates, clamped to
	// [MinBitrate, MaxBitrate]. The encode is shared, so the weakest
	// viewer sets the rate for all. 0 means DefaultMinBitrate (or Bitrate
	// if lower) and Bitrate: by default estimation only ever lowers the
	// configured rate. MinBitrate = MaxBitrate = Bitrate turns it off.
	MinBitrate, MaxBitrate int
	// FrameRate is the nominal rate, used only for frames that carry no
	// duration and for rate control; 0 means 30.
	FrameRate float64
	// MinKeyframeInterval is the least time between two keyframes forced
	// by requests (viewers' PLI/FIR, RequestKeyframe); 0 means
	// DefaultMinKeyframeInterval. A request within it is kept and served
	// when it has passed, so every viewer still gets its keyframe, at
	// most that late; any number of requests meanwhile make one keyframe.
	MinKeyframeInterval time.Duration
	// CPUUsed (VP8 only) and Threads are passed to the encoder's config
	// (0 = its default).
	CPUUsed, Threads int
	// StreamID and Stream choose the MediaStream id (the first half of
	// a=msid) viewers see; see AudioConfig.StreamID.
	StreamID string
	Stream   *generator.MediaStream
	// OnSample, when set, is called on the encode goroutine after every
	// encoded frame was handed to pion, for latency measurement. It must
	// be quick: it delays the next frame.
	OnSample func(SampleInfo)
}

// AudioConfig configures the Opus encoder of an audio Publisher.
type AudioConfig struct {
	// Bitrate in bits per second; 0 means the opus package's default.
	Bitrate int
	// StreamID is the MediaStream id of the track (the first half of
	// a=msid in the answer). Browsers put tracks with the same id into one
	// MediaStream and lip-sync only tracks of the same stream, so the audio
	// and video of one source must share it. If empty, Stream's ID is used;
	// if Stream is nil too, the track's label, else "shadercast" (the
	// historical default, which puts a labelled video and audio into
	// different streams).
	StreamID string
	Stream   *generator.MediaStream
	// OnSample, when set, is called on the encode goroutine with every
	// Opus packet handed to pion (for recordings). It must be quick.
	OnSample func(AudioSampleInfo)
}

// AudioSampleInfo describes one Opus packet written to the pion track.
type AudioSampleInfo struct {
	// Data is the packet; only valid during the call.
	Data []byte
	// PTS and Duration are microseconds on the media clock.
	PTS, Duration int64
	// Channels and PreSkip (48 kHz samples) describe the stream, as an
	// Opus header (OpusHead) says them.
	Channels, PreSkip int
}

// SampleInfo describes one encoded video frame written to the pion track.
type SampleInfo struct {
	Timestamp int64 // the frame's media timestamp, µs
	Keyframe  bool
	Bytes     int
	// Data is the encoded frame (VP8, or an H.264 access unit in Annex B
	// form); it is only valid during the call (the buffer is reused for
	// the next frame), so copy what you keep.
	Data []byte
	// Received is when the encode loop took the frame from its sink; with
	// an idle encoder that is within microseconds of the generator Write.
	Received time.Time
	// Sent is just before WriteSample: the first RTP packet of the frame
	// goes to the first viewer's socket right after it (WriteSample
	// packetizes and writes synchronously).
	Sent time.Time
	// Written is when WriteSample returned: every packet of the frame was
	// handed to every viewer's socket, so Written-Sent is the fan-out cost.
	Written time.Time
}

// PublisherStats counts what a Publisher did; all counters are cumulative.
type PublisherStats struct {
	Frames    uint64 // frames (video) or blocks (audio) read from the track
	Samples   uint64 // encoded samples written to the pion track
	Keyframes uint64 // video keyframes among Samples
	// ForcedKeyframes are the keyframes made because of requests, after
	// coalescing and rate limiting (see VideoConfig.MinKeyframeInterval).
	ForcedKeyframes  uint64
	Skipped          uint64 // input frames not encoded (unsupported format, out-of-order timestamp, encode error)
	KeyframeRequests uint64 // PLI/FIR received from all viewers (before coalescing)
	// LastLatency is, for the last video sample, the time from taking the
	// frame off the sink to calling WriteSample (queueing plus encoding),
	// i.e. until its first RTP packet left; LastFanout is how long
	// WriteSample took (sending it to every viewer). Zero for audio.
	LastLatency, LastFanout time.Duration
	// TargetBitrate is the encoder's current target in bits per second:
	// for video as set by bandwidth estimation (see VideoConfig.MinBitrate),
	// for audio the Opus bitrate.
	TargetBitrate int
	// Viewers are the bandwidth estimates of the sessions attached to a
	// video publisher, in no particular order; nil for audio.
	Viewers []ViewerEstimate
}

// Publisher turns one generator track into one pion TrackLocal. It runs a
// single encoder for all viewers: every viewer's RTPSender is bound to the
// same TrackLocalStaticSample, so N viewers cost one encode, and any viewer's
// PLI/FIR forces a keyframe that all of them receive: requests are
// coalesced into one keyframe and rate limited (VideoConfig.
// MinKeyframeInterval), so no viewer can make the shared encode all
// keyframes.
//
// The encoder runs from NewVideoPublisher/NewAudioPublisher until Close or
// until the source track ends, whether or not anybody is watching: a
// keyframe-on-demand stream needs the encoder's state to be warm, and the
// publisher does not know about viewers except through their RTCP.
type Publisher struct {
	track *webrtc.TrackLocalStaticSample
	sink  *generator.Sink

	// keyframe is set by RequestKeyframe and consumed by the encode
	// loop, which alone decides when a forced keyframe may be made.
	keyframe atomic.Bool
	// codec is the track's MIME type; users counts viewers and holds
	// (VideoConfig.OnDemand).
	codec     string
	rendition string
	w, h      int
	users     atomic.Int64

	frames, samples, keyframes, forced, skipped, requests atomic.Uint64
	lastLatency, lastFanout                               atomic.Int64 // ns

	// bwe is the video publisher's rate adaptation; for audio only
	// bwe.target is used (the Opus bitrate, reserved in every viewer's
	// estimate before video gets its share).
	bwe bwe

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	err    error // why the loop ended; read after done
}

// NewVideoPublisher starts encoding src (a video generator track; frames
// must be I420) to cfg.Codec (VP8 by default). The publisher owns a sink
// on src, not src itself; publishers of several codecs may share src.
func NewVideoPublisher(src *generator.Track, cfg VideoConfig) (*Publisher, error) {
	if src == nil || src.Kind() != generator.KindVideo {
		return nil, errors.New("whep: NewVideoPublisher needs a video track")
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 1_500_000
	}
	if cfg.FrameRate <= 0 {
		cfg.FrameRate = 30
	}
	if cfg.MinKeyframeInterval <= 0 {
		cfg.MinKeyframeInterval = DefaultMinKeyframeInterval
	}
	if cfg.MaxBitrate == 0 {
		cfg.MaxBitrate = cfg.Bitrate
	}
	if cfg.MinBitrate == 0 {
		cfg.MinBitrate = min(DefaultMinBitrate, cfg.MaxBitrate)
	}
	if cfg.MinBitrate < vp8.MinBitrate || cfg.MaxBitrate > vp8.MaxBitrate || cfg.MinBitrate > cfg.MaxBitrate {
		return nil, fmt.Errorf("whep: video bitrate bounds %d..%d must lie within %d..%d and be ordered",
			cfg.MinBitrate, cfg.MaxBitrate, vp8.MinBitrate, vp8.MaxBitrate)
	}
	capability, err := videoCapability(cfg)
	if err != nil {
		return nil, err
	}
	tr, err := webrtc.NewTrackLocalStaticSample(capability, "video", streamIDFor(src, cfg.StreamID, cfg.Stream))
	if err != nil {
		return nil, err
	}
	p := newPublisher(tr, src)
	p.codec, p.rendition, p.w, p.h = capability.MimeType, cfg.Rendition, cfg.Width, cfg.Height
	p.bwe.configured, p.bwe.floor, p.bwe.ceiling = cfg.Bitrate, cfg.MinBitrate, cfg.MaxBitrate
	p.bwe.target.Store(int64(clampInt(cfg.Bitrate, cfg.MinBitrate, cfg.MaxBitrate)))
	go p.runVideo(cfg)
	return p, nil
}

// NewAudioPublisher starts encoding src (an audio generator track, mono or
// stereo, any sample format and rate the opus package accepts) to Opus.
func NewAudioPublisher(src *generator.Track, cfg AudioConfig) (*Publisher, error) {
	if src == nil || src.Kind() != generator.KindAudio {
		return nil, errors.New("whep: NewAudioPublisher needs an audio track")
	}
	tr, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"audio", streamIDFor(src, cfg.StreamID, cfg.Stream))
	if err != nil {
		return nil, err
	}
	p := newPublisher(tr, src)
	// Until the first block tells the channel count, assume the larger
	// (stereo) default: it is only reserved out of viewers' estimates.
	ab := cfg.Bitrate
	if ab == 0 {
		ab = 2 * defaultOpusBitratePerChannel
	}
	p.bwe.target.Store(int64(ab))
	go p.runAudio(cfg)
	return p, nil
}

// NewStreamPublishers starts one publisher per track of ms (video with vcfg,
// audio with acfg, in ms's order), all with ms's ID as their stream ID so a
// browser receives them as one lip-synced MediaStream. The StreamID and
// Stream fields of the configs are ignored. On error the publishers already
// started are closed.
func NewStreamPublishers(ms *generator.MediaStream, vcfg VideoConfig, acfg AudioConfig) ([]*Publisher, error) {
	if ms == nil {
		return nil, errors.New("whep: NewStreamPublishers needs a stream")
	}
	vcfg.StreamID, acfg.StreamID = ms.ID(), ms.ID()
	var out []*Publisher
	for _, t := range ms.Tracks() {
		var p *Publisher
		var err error
		if t.Kind() == generator.KindVideo {
			p, err = NewVideoPublisher(t, vcfg)
		} else {
			p, err = NewAudioPublisher(t, acfg)
		}
		if err != nil {
			for _, q := range out {
				q.Close()
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// streamIDFor picks the MediaStream id (see AudioConfig.StreamID): same id
// means one MediaStream in the browser, which is what makes it lip-sync.
func streamIDFor(src *generator.Track, id string, ms *generator.MediaStream) string {
	if id != "" {
		return id
	}
	if ms != nil {
		return ms.ID()
	}
	if l := src.Label(); l != "" {
		return l
	}
	return "shadercast"
}

func newPublisher(tr *webrtc.TrackLocalStaticSample, src *generator.Track) *Publisher {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{track: tr, sink: src.NewSink(), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	return p
}

// Track is the pion track to bind to PeerConnections (Attach does that).
func (p *Publisher) Track() webrtc.TrackLocal { return p.track }

// Codec is the MIME type the publisher sends (webrtc.MimeTypeVP8,
// webrtc.MimeTypeH264, webrtc.MimeTypeOpus).
func (p *Publisher) Codec() string { return p.track.Codec().MimeType }

// Capability is the codec as the publisher's track declares it in SDP
// (its fmtp line included).
func (p *Publisher) Capability() webrtc.RTPCodecCapability { return p.track.Codec() }

// Hold makes an OnDemand publisher encode until release is called (a
// recording that needs the encoded stream, a viewer). Each Hold needs
// its release, which is idempotent.
func (p *Publisher) Hold() (release func()) {
	p.users.Add(1)
	var once sync.Once
	return func() { once.Do(func() { p.users.Add(-1) }) }
}

// Rendition is the ladder rung the publisher encodes
// (VideoConfig.Rendition).
func (p *Publisher) Rendition() string { return p.rendition }

// InUse reports whether somebody receives or holds the publisher: an
// OnDemand publisher encodes only then, and its source need only be made
// then.
func (p *Publisher) InUse() bool { return p.users.Load() > 0 }

// Kind is the track's RTP codec type.
func (p *Publisher) Kind() webrtc.RTPCodecType { return p.track.Kind() }

// RequestKeyframe asks for a keyframe: the next encoded video frame is
// one unless the last forced keyframe is less than MinKeyframeInterval
// old, in which case the first frame after that is. For audio it does
// nothing. Safe from any goroutine.
func (p *Publisher) RequestKeyframe() {
	p.requests.Add(1)
	p.keyframe.Store(true)
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() PublisherStats {
	st := PublisherStats{
		Frames: p.frames.Load(), Samples: p.samples.Load(), Keyframes: p.keyframes.Load(), ForcedKeyframes: p.forced.Load(),
		Skipped: p.skipped.Load(), KeyframeRequests: p.requests.Load(),
		LastLatency: time.Duration(p.lastLatency.Load()), LastFanout: time.Duration(p.lastFanout.Load()),
		TargetBitrate: int(p.bwe.target.Load()),
	}
	if p.Kind() == webrtc.RTPCodecTypeVideo {
		st.Viewers, _ = p.bwe.estimates()
	}
	return st
}

// Err reports why the encode loop ended (ErrEnded-wrapping from the track,
// or context.Canceled after Close); nil while it runs.
func (p *Publisher) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Done is closed when the encode loop has ended (Close, or the track ended).
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Close stops the encoder and detaches from the source track. It is
// idempotent and waits for the encode goroutine. PeerConnections the track is
// bound to stay open; they just receive no more media.
func (p *Publisher) Close() error {
	p.cancel()
	<-p.done
	return nil
}

// Attach adds the publisher's track to pc and returns the sender. The caller
// must run ReadRTCP(sender) on its own goroutine for the life of the
// connection: without it PLI/FIR are never seen (and the interceptors'
// RTCP processing stalls).
func (p *Publisher) Attach(pc *webrtc.PeerConnection) (*webrtc.RTPSender, error) {
	return pc.AddTrack(p.track)
}

// ReadRTCP reads RTCP from sender until it fails (the PeerConnection or the
// sender was closed) and turns PLI and FIR into a keyframe request.
func (p *Publisher) ReadRTCP(sender *webrtc.RTPSender) {
	readKeyframeRequests(sender, p.RequestKeyframe)
}

// readKeyframeRequests reads sender's RTCP until it fails and calls
// request for each PLI and FIR.
func readKeyframeRequests(sender *webrtc.RTPSender, request func()) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				request()
			}
		}
	}
}

// rtpClock turns frame timestamps into Sample.Duration values.
// TrackLocalStaticSample ignores Sample.Timestamp: each sample's RTP time is
// the sum of the previous samples' durations. A sample's duration is really
// the gap to the NEXT frame, which is unknown when it must be sent, so we
// send an estimate (the frame's own duration, else the last observed gap)
// and correct the error on the next sample: the duration is chosen so the
// next sample lands at "this frame's time + estimate". A gap left by frames
// the sink dropped (or we skipped) is thereby carried into the next sample
// instead of being lost, keeping RTP time locked to media time. Durations are
// never 0 (Chromium decodes nothing then).
type rtpClock struct {
	started   bool
	t0, prev  int64 // µs: first and previous timestamps
	written   int64 // µs of RTP time handed to pion so far
	lastGap   int64 // µs: last observed inter-frame gap
	longGap   bool  // the previous gap was ignored as a likely drop
	defaultUS int64
}

func (c *rtpClock) duration(ts, hint int64) time.Duration {
	if !c.started {
		c.started, c.t0, c.prev = true, ts, ts
		c.lastGap = c.defaultUS
	} else if g := ts - c.prev; g > 0 {
		// A gap much longer than the last one is usually dropped
		// frames, not a new frame rate: keep the estimate (the gap itself
		// is corrected below) unless it happens twice in a row.
		if g <= c.lastGap*3/2 || c.longGap {
			c.lastGap, c.longGap = g, false
		} else {
			c.longGap = true
		}
		c.prev = ts
	}
	est := hint
	if est <= 0 {
		est = c.lastGap
	}
	d := (ts - c.t0) + est - c.written
	// Never 0 and never tiny: if frames came in faster than estimated,
	// still give this one at least 1 ms (the next corrects).
	if d < 1000 {
		d = 1000
	}
	c.written += d
	return time.Duration(d) * time.Microsecond
}

func (p *Publisher) finish(err error) {
	p.once.Do(func() {
		p.err = err
		p.cancel()
		p.sink.Close()
		close(p.done)
	})
}

// defaultOpusBitratePerChannel is the opus package's default (0 in
// opus.EncoderConfig.Bitrate), spelled out because the audio bitrate is
// reserved in every viewer's bandwidth estimate.
const defaultOpusBitratePerChannel = 32000

// adapt applies the rate policy (adaptTarget) to the shared encoder.
func (p *Publisher) adapt(enc videoEncoder) {
	b := &p.bwe
	_, shares := b.estimates()
	cur := int(b.target.Load())
	next := adaptTarget(cur, b.configured, b.floor, b.ceiling, shares)
	if next == cur {
		return
	}
	// Without an encoder yet, the next one is created at the target.
	if enc != nil && enc.SetBitrate(next) != nil {
		return
	}
	b.target.Store(int64(next))
}

func (p *Publisher) runVideo(cfg VideoConfig) {
	var (
		enc   videoEncoder
		buf   []byte
		clock = rtpClock{defaultUS: int64(1e6 / cfg.FrameRate)}
		lastT int64
		have  bool
		// lastAdapt paces adaptTarget; it runs on this goroutine so the
		// target needs no goroutine of its own and changes between
		// frames only.
		lastAdapt time.Time
		// lastForced is when the last forced keyframe was encoded (see
		// VideoConfig.MinKeyframeInterval).
		lastForced time.Time
	)
	defer func() {
		if enc != nil {
			enc.Close()
		}
	}()
	ctx := p.ctx
	for {
		f, err := p.sink.Next(ctx)
		if err != nil {
			p.finish(err)
			return
		}
		received := time.Now()
		p.frames.Add(1)
		if received.Sub(lastAdapt) >= adaptInterval {
			lastAdapt = received
			p.adapt(enc)
		}
		if cfg.OnDemand && p.users.Load() == 0 {
			// Nobody watches: no encode. The encoder goes too, so the
			// next viewer starts with a keyframe from a fresh one. The
			// frame's time is carried by rtpClock into the next sample.
			f.Close()
			if enc != nil {
				enc.Close()
				enc = nil
			}
			continue
		}
		vf, ok := f.(media.VideoFrame)
		// Only I420 is encoded; conversion is the producer's job (the
		// compositor already renders I420). A skipped frame's time is
		// carried by rtpClock into the next sample.
		if !ok || vf.Format() != media.I420 || (have && vf.Timestamp() <= lastT) {
			f.Close()
			p.skipped.Add(1)
			continue
		}
		w, h := vf.CodedWidth(), vf.CodedHeight()
		if enc == nil || !sizeIs(enc, w, h) {
			// A new size needs a new encoder; its first frame is a
			// keyframe, which is what every viewer needs anyway.
			if enc != nil {
				enc.Close()
			}
			enc, err = newVideoEncoder(p.codec, cfg, w, h, int(p.bwe.target.Load()), vf.ColorSpace())
			if err != nil {
				enc = nil
				f.Close()
				p.skipped.Add(1)
				continue
			}
		}
		// A pending request waits, still set, until the interval has
		// passed; Swap then takes every request made meanwhile at once.
		force := received.Sub(lastForced) >= cfg.MinKeyframeInterval && p.keyframe.Swap(false)
		data, key, err := enc.Encode(vf, force, buf[:0])
		ts, hint := vf.Timestamp(), vf.Duration()
		f.Close()
		if err != nil {
			if force {
				p.keyframe.Store(true) // not made: do not lose the request
			}
			p.skipped.Add(1)
			continue
		}
		if force {
			lastForced = received
			p.forced.Add(1)
		}
		buf = data
		lastT, have = ts, true
		d := clock.duration(ts, hint)
		// WriteSample copies the payload into RTP packets before it
		// returns, so reusing buf for the next frame is safe.
		sent := time.Now()
		err = p.track.WriteSample(pmedia.Sample{Data: data, Duration: d})
		written := time.Now()
		if err == nil {
			p.samples.Add(1)
			if key {
				p.keyframes.Add(1)
			}
		}
		p.lastLatency.Store(int64(sent.Sub(received)))
		p.lastFanout.Store(int64(written.Sub(sent)))
		if cfg.OnSample != nil {
			cfg.OnSample(SampleInfo{Timestamp: ts, Keyframe: key, Bytes: len(data), Data: data,
				Received: received, Sent: sent, Written: written})
		}
	}
}

func sizeIs(e videoEncoder, w, h int) bool {
	ew, eh := e.Size()
	return ew == w && eh == h
}

func (p *Publisher) runAudio(cfg AudioConfig) {
	var (
		enc   *opus.Encoder
		ch    int
		rate  float64
		clock = rtpClock{defaultUS: opus.FrameDuration}
	)
	defer func() {
		if enc != nil {
			enc.Close()
		}
	}()
	ctx := p.ctx
	for {
		f, err := p.sink.Next(ctx)
		if err != nil {
			p.finish(err)
			return
		}
		p.frames.Add(1)
		a, ok := f.(media.AudioData)
		if !ok {
			f.Close()
			p.skipped.Add(1)
			continue
		}
		// A new channel count or sample rate needs a new encoder: ours
		// refuses a rate change mid-stream (its resampler has state).
		if enc == nil || a.NumberOfChannels() != ch || a.SampleRate() != rate {
			if enc != nil {
				enc.Close()
			}
			ch, rate = a.NumberOfChannels(), a.SampleRate()
			ab := cfg.Bitrate
			if ab == 0 {
				ab = defaultOpusBitratePerChannel * ch
			}
			p.bwe.target.Store(int64(ab))
			enc, err = opus.NewEncoder(opus.EncoderConfig{Channels: ch, Bitrate: ab})
			if err != nil {
				enc = nil
				f.Close()
				p.skipped.Add(1)
				continue
			}
		}
		pkts, err := enc.Encode(a)
		f.Close()
		if err != nil {
			// The packets made before the error are good: send them.
			p.skipped.Add(1)
		}
		for _, pk := range pkts {
			d := clock.duration(pk.PTS, pk.Duration)
			if err := p.track.WriteSample(pmedia.Sample{Data: pk.Data, Duration: d}); err == nil {
				p.samples.Add(1)
			}
			if cfg.OnSample != nil {
				cfg.OnSample(AudioSampleInfo{Data: pk.Data, PTS: pk.PTS, Duration: pk.Duration, Channels: ch, PreSkip: enc.Lookahead()})
			}
		}
	}
}

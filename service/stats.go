package service

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/whep"
)

// latencyTracker remembers when each output frame's input was created, by
// output timestamp, until the encoder reports the frame sent; then it
// keeps the last latencies for percentiles. Fixed-size rings: nothing
// grows, a frame the encoder skipped is simply overwritten.
type latencyTracker struct {
	mu      sync.Mutex
	pending [64]struct {
		ts      int64
		created time.Time
	}
	next    int
	window  [512]time.Duration
	n       int // samples in window (capped)
	w       int // next write
	lastPut atomic.Int64
}

func (l *latencyTracker) put(ts int64, created time.Time) {
	l.mu.Lock()
	l.pending[l.next%len(l.pending)] = struct {
		ts      int64
		created time.Time
	}{ts, created}
	l.next++
	l.mu.Unlock()
	l.lastPut.Store(time.Now().UnixNano())
}

func (l *latencyTracker) take(ts int64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.pending {
		if p := &l.pending[i]; p.ts == ts && !p.created.IsZero() {
			c := p.created
			p.created = time.Time{}
			return c, true
		}
	}
	return time.Time{}, false
}

func (l *latencyTracker) observe(d time.Duration) {
	l.mu.Lock()
	l.window[l.w] = d
	l.w = (l.w + 1) % len(l.window)
	l.n = min(l.n+1, len(l.window))
	l.mu.Unlock()
}

// percentiles returns p50 and p95 of the recent window.
func (l *latencyTracker) percentiles() (p50, p95 time.Duration, n int) {
	l.mu.Lock()
	s := slices.Clone(l.window[:l.n])
	l.mu.Unlock()
	if len(s) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*95/100)], len(s)
}

// Stats is GET /api/stats.
type Stats struct {
	UptimeSeconds float64           `json:"uptimeSeconds"`
	Input         InputView         `json:"input"`
	Frames        FrameStats        `json:"frames"`
	Drops         map[string]uint64 `json:"drops"`
	Compositor    compositor.Stats  `json:"compositor"`
	// Encoder is the VP8 encoder's; H264 the H.264 encoder's (each runs
	// only while somebody receives its codec).
	Encoder      EncoderStats     `json:"encoder"`
	H264         EncoderStats     `json:"h264"`
	Audio        AudioStats       `json:"audio"`
	Viewers      int              `json:"viewers"`
	EventClients int              `json:"eventClients"`
	Latency      LatencyStats     `json:"latency"`
	Push         any              `json:"whipPush,omitempty"`
	Ingest       any              `json:"whipIngest,omitempty"`
	Recording    []RecordingStats `json:"recording,omitempty"`
	// Renditions are the ladder's rungs: the canvas's first, then those
	// below it (--renditions).
	Renditions []RenditionStats `json:"renditions"`
}

// RenditionStats describe one rung of the rendition ladder: made and
// encoded per codec only while somebody receives it.
type RenditionStats struct {
	Name   string `json:"name"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	InUse  bool   `json:"inUse"`
	// Frames counts the frames made at the rung's size; Viewers the WHEP
	// viewers receiving it.
	Frames  uint64 `json:"frames"`
	Viewers int    `json:"viewers"`
	// VP8 and H264 count the frames encoded and give the encoder's target.
	VP8  RungEncoderStats `json:"vp8"`
	H264 RungEncoderStats `json:"h264"`
}

// RungEncoderStats are one codec's encode of a rung: frames encoded, the
// target, and the last frame's queueing plus encode time.
type RungEncoderStats struct {
	Samples       uint64  `json:"samples"`
	TargetBitrate int     `json:"targetBitrate"`
	EncodeMillis  float64 `json:"encodeMs"`
}

// FrameStats count video frames through the service.
type FrameStats struct {
	In         uint64 `json:"in"`
	Out        uint64 `json:"out"`
	Repeated   uint64 `json:"repeated"`
	Detections uint64 `json:"withBarcodes"`
	Errors     uint64 `json:"errors"`
}

// EncoderStats describe the shared VP8 encode.
type EncoderStats struct {
	Frames        uint64  `json:"frames"`
	Samples       uint64  `json:"samples"`
	Keyframes     uint64  `json:"keyframes"`
	Skipped       uint64  `json:"skipped"`
	KeyRequests   uint64  `json:"keyframeRequests"`
	EncodeMillis  float64 `json:"encodeMs"`
	TargetBitrate int     `json:"targetBitrate"`
	// Bitrate is what was actually sent over the last seconds.
	Bitrate float64 `json:"bitrate"`
}

// AudioStats describe the sound path.
type AudioStats struct {
	Blocks  uint64 `json:"blocks"`
	Silence uint64 `json:"silenceBlocks"`
	Drops   uint64 `json:"drops"`
	Samples uint64 `json:"encoded"`
}

// LatencyStats are frame creation to first RTP packet, over the last
// 512 frames.
type LatencyStats struct {
	P50Millis float64 `json:"p50Ms"`
	P95Millis float64 `json:"p95Ms"`
	Samples   int     `json:"samples"`
}

func (s *Service) snapshotStats() Stats {
	st := Stats{UptimeSeconds: time.Since(s.start).Seconds(), Compositor: s.pl.Stats()}
	v := s.pipelineView()
	st.Input = v.Input
	st.Frames = FrameStats{In: s.stats.framesIn.Load(), Out: s.stats.framesOut.Load(), Repeated: s.stats.repeats.Load(),
		Detections: s.stats.detections.Load(), Errors: s.stats.processErrors.Load()}
	st.Drops = map[string]uint64{
		"queue":         s.stats.dropsQueue.Load(),
		"inactiveInput": s.stats.dropsInactive.Load(),
		"late":          s.stats.dropsLate.Load(),
		"inputErrors":   s.stats.inputErrors.Load(),
	}
	for k, n := range st.Compositor.Drops {
		st.Drops["compositor."+k] = n
	}
	gs := s.video.Stats()
	st.Drops["generator"] = gs.DroppedOverflow
	for _, p := range s.pubs {
		ps := p.Stats()
		es := EncoderStats{Frames: ps.Frames, Samples: ps.Samples, Keyframes: ps.Keyframes, Skipped: ps.Skipped,
			KeyRequests: ps.KeyframeRequests, EncodeMillis: float64(ps.LastLatency) / 1e6, TargetBitrate: ps.TargetBitrate}
		switch p.Codec() {
		case webrtc.MimeTypeVP8:
			es.Bitrate = s.rate.bitsPerSecond()
			st.Encoder = es
		case webrtc.MimeTypeH264:
			st.H264 = es
		default:
			st.Audio.Samples = ps.Samples
		}
	}
	st.Renditions = s.renditionStats()
	st.Audio.Blocks, st.Audio.Silence, st.Audio.Drops = s.stats.audioIn.Load(), s.stats.silence.Load(), s.stats.audioDrops.Load()
	st.Viewers = s.whepH.Sessions()
	st.EventClients = s.hub.subscribers()
	p50, p95, n := s.lat.percentiles()
	st.Latency = LatencyStats{P50Millis: float64(p50) / 1e6, P95Millis: float64(p95) / 1e6, Samples: n}
	if s.push != nil {
		st.Push = s.push.Stats()
	}
	var ingest []map[string]any
	for _, p := range s.whipH.Publications() {
		ingest = append(ingest, map[string]any{"id": p.ID, "videoCodec": p.VideoCodec(), "stats": p.Stats()})
	}
	if ingest != nil {
		st.Ingest = ingest
	}
	if s.rec != nil {
		st.Recording = s.rec.stats()
	}
	return st
}

// renditionStats describe the ladder: the canvas's rung, then the others.
func (s *Service) renditionStats() []RenditionStats {
	viewers := s.whepH.Stats().Renditions
	out := []RenditionStats{rungStats(rungName(s.cfg.Height), s.cfg.Width, s.cfg.Height, s.pubs[:2])}
	out[0].Frames, out[0].Viewers = s.stats.framesOut.Load(), viewers[out[0].Name]
	for _, r := range s.rungs {
		rs := rungStats(r.name, r.w, r.h, r.pubs)
		rs.Frames, rs.Viewers = r.frames.Load(), viewers[r.name]
		out = append(out, rs)
	}
	return out
}

// rungStats describes a rung from its publishers (VP8, H.264).
func rungStats(name string, w, h int, pubs []*whep.Publisher) RenditionStats {
	rs := RenditionStats{Name: name, Width: w, Height: h}
	for _, p := range pubs {
		ps := p.Stats()
		e := RungEncoderStats{Samples: ps.Samples, TargetBitrate: ps.TargetBitrate, EncodeMillis: float64(ps.LastLatency) / 1e6}
		rs.InUse = rs.InUse || p.InUse()
		if p.Codec() == webrtc.MimeTypeH264 {
			rs.H264 = e
		} else {
			rs.VP8 = e
		}
	}
	return rs
}

func (s *Service) apiStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.snapshotStats())
}

// rateMeter measures the sent video bitrate over a sliding second window.
type rateMeter struct {
	mu    sync.Mutex
	slots [8]struct {
		sec   int64
		bytes int
	}
}

func (r *rateMeter) add(n int, now time.Time) {
	sec := now.Unix()
	r.mu.Lock()
	sl := &r.slots[sec%int64(len(r.slots))]
	if sl.sec != sec {
		sl.sec, sl.bytes = sec, 0
	}
	sl.bytes += n
	r.mu.Unlock()
}

// bitsPerSecond averages the last few complete seconds.
func (r *rateMeter) bitsPerSecond() float64 {
	now := time.Now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	total, secs := 0, 0
	for back := int64(1); back <= 4; back++ {
		sl := r.slots[(now-back)%int64(len(r.slots))]
		if sl.sec == now-back {
			total += sl.bytes
		}
		secs++
	}
	return float64(total*8) / float64(secs)
}

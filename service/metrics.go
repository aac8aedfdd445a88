package service

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics exposes the service's counters in Prometheus format. Most are
// read from the same atomics /api/stats reads, at scrape time (GaugeFunc
// and CounterFunc), so there is one source of truth and no per-frame cost.
type metrics struct {
	reg       *prometheus.Registry
	latency   prometheus.Histogram
	apiErrors prometheus.Counter
}

func newMetrics(s *Service) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "shadercast", Name: name, Help: help}, f))
	}
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "shadercast", Name: name, Help: help}, f))
	}
	u := func(a interface{ Load() uint64 }) func() float64 { return func() float64 { return float64(a.Load()) } }
	counter("frames_in_total", "Input frames that reached the compositor.", u(&s.stats.framesIn))
	counter("frames_out_total", "Composited frames written to the video track.", u(&s.stats.framesOut))
	counter("frames_repeated_total", "Frames re-sent while the input stalled or was missing.", u(&s.stats.repeats))
	counter("frames_with_barcodes_total", "Composited frames with at least one barcode.", u(&s.stats.detections))
	counter("frame_errors_total", "Frames the compositor refused or failed.", u(&s.stats.processErrors))
	counter("input_errors_total", "Input failures (open, read, decode).", u(&s.stats.inputErrors))
	counter("scenes_errors_total", "Versions of the --scenes file not applied (bad, or changing the canvas); each error once.", u(&s.stats.scenesErrors))
	counter("panics_recovered_total", "Panics recovered where untrusted input is handled (the input, decoder or plugin failed; the service went on).", u(&s.stats.panics))
	m.reg.MustRegister(&dropCollector{s: s})
	counter("audio_blocks_total", "Input audio blocks sent.", u(&s.stats.audioIn))
	counter("audio_silence_blocks_total", "Silence blocks sent while the input had no sound.", u(&s.stats.silence))
	counter("events_sent_total", "Events delivered to SSE and data-channel subscribers.", u(&s.hub.sent))
	counter("events_dropped_total", "Events dropped for slow subscribers.", u(&s.hub.dropped))
	gauge("viewers", "Connected WHEP sessions.", func() float64 { return float64(s.whepH.Sessions()) })
	gauge("event_subscribers", "SSE clients and data channels receiving events.", func() float64 { return float64(s.hub.subscribers()) })
	gauge("video_bitrate_bits_per_second", "VP8 bitrate sent over the last seconds.", s.rate.bitsPerSecond)
	gauge("video_target_bitrate_bits_per_second", "VP8 encoder target.", func() float64 { return float64(s.pubs[0].Stats().TargetBitrate) })
	gauge("encode_seconds", "Last video frame's queueing plus encode time.", func() float64 { return s.pubs[0].Stats().LastLatency.Seconds() })
	gauge("input_live", "1 while the input delivers frames.", func() float64 {
		s.inputs.mu.Lock()
		defer s.inputs.mu.Unlock()
		if s.inputs.state == "live" {
			return 1
		}
		return 0
	})
	m.reg.MustRegister(&passCollector{s: s})
	if s.scenes != nil {
		m.reg.MustRegister(&sceneCollector{s: s})
		counter("scenes_audio_dropped_frames_total", "Sources' audio frames dropped: a source's buffer was full (its clock ran ahead of the mixer's), or not 48 kHz.", u(&s.stats.audioDropped))
	}
	registerShaderMetrics(m, s)
	m.reg.MustRegister(&rtcCollector{s: s})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "shadercast", Name: "frame_latency_seconds",
		Help:    "Frame creation to its first RTP packet.",
		Buckets: prometheus.ExponentialBuckets(0.002, 1.5, 16)})
	m.apiErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "shadercast", Name: "api_errors_total", Help: "Refused control API requests."})
	m.reg.MustRegister(m.latency, m.apiErrors)
	return m
}

// dropCollector reports drops by reason from /api/stats' numbers.
type dropCollector struct{ s *Service }

var dropDesc = prometheus.NewDesc("shadercast_frames_dropped_total", "Frames dropped, by reason.", []string{"reason"}, nil)

func (c *dropCollector) Describe(ch chan<- *prometheus.Desc) { ch <- dropDesc }
func (c *dropCollector) Collect(ch chan<- prometheus.Metric) {
	st := &c.s.stats
	for reason, n := range map[string]uint64{
		"queue": st.dropsQueue.Load(), "inactive_input": st.dropsInactive.Load(), "late": st.dropsLate.Load(),
		"generator": c.s.video.Stats().DroppedOverflow,
	} {
		ch <- prometheus.MustNewConstMetric(dropDesc, prometheus.CounterValue, float64(n), reason)
	}
}

// sceneCollector reports the scenes' sources by state (a bounded label:
// the states, not the sources' names).
type sceneCollector struct{ s *Service }

var sceneSourcesDesc = prometheus.NewDesc("shadercast_scene_sources", "Sources of the scenes in force, by state (opening, waiting, live, stalled, ended, failed).", []string{"state"}, nil)

func (c *sceneCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sceneSourcesDesc }
func (c *sceneCollector) Collect(ch chan<- prometheus.Metric) {
	n := map[string]int{"opening": 0, "waiting": 0, "live": 0, "stalled": 0, "ended": 0, "failed": 0}
	for _, st := range c.s.sourceStates(c.s.scenes.cur.Load()) {
		n[st.State]++
	}
	for state, k := range n {
		ch <- prometheus.MustNewConstMetric(sceneSourcesDesc, prometheus.GaugeValue, float64(k), state)
	}
}

// passCollector reports per-pass GPU time.
type passCollector struct{ s *Service }

var passDesc = prometheus.NewDesc("shadercast_pass_gpu_seconds", "GPU time per frame of each pass (moving average).", []string{"pass"}, nil)

func (c *passCollector) Describe(ch chan<- *prometheus.Desc) { ch <- passDesc }
func (c *passCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.s.pl.Stats().Passes {
		ch <- prometheus.MustNewConstMetric(passDesc, prometheus.GaugeValue, p.GPUMillis/1000, p.Name)
	}
}

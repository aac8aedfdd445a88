package service

import "github.com/prometheus/client_golang/prometheus"

// rtcCollector reports what the WebRTC doors refused or dropped (see
// whep.HandlerStats, whip.HandlerStats) and the shared encoder's keyframe
// requests against the keyframes they forced, read at scrape time.
type rtcCollector struct{ s *Service }

var (
	rtcTimeoutDesc = prometheus.NewDesc("shadercast_rtc_connect_timeouts_total",
		"Sessions dropped because they had not connected (WHIP: sent no picture) within --connect-timeout.", []string{"endpoint"}, nil)
	rtcAddrDesc = prometheus.NewDesc("shadercast_rtc_connecting_refused_total",
		"Offers refused (429) because their address had --max-connecting-per-ip sessions still connecting.", []string{"endpoint"}, nil)
	whipTooLargeDesc = prometheus.NewDesc("shadercast_whip_refused_too_large_total",
		"WHIP publishers refused for video over --max-video-width/--max-video-height (or frames over 1 MiB), before decoding.", nil, nil)
	keyRequestsDesc = prometheus.NewDesc("shadercast_keyframe_requests_total",
		"Keyframe requests (viewers' PLI/FIR) received by the shared video encoder.", nil, nil)
	keyForcedDesc = prometheus.NewDesc("shadercast_keyframes_forced_total",
		"Keyframes the requests forced, after coalescing and rate limiting.", nil, nil)
	nacksRefusedDesc = prometheus.NewDesc("shadercast_whep_nacks_refused_total",
		"Viewers' NACKs not served: they asked for more resends than the bound (a flood).", nil, nil)
	rungInUseDesc = prometheus.NewDesc("shadercast_rendition_in_use",
		"1 while somebody receives the rendition (it is made and encoded only then).", []string{"rendition"}, nil)
	rungFramesDesc = prometheus.NewDesc("shadercast_rendition_encoded_frames_total",
		"Frames of the rendition encoded, per codec.", []string{"rendition", "codec"}, nil)
)

func (c *rtcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rtcTimeoutDesc, rtcAddrDesc, whipTooLargeDesc, keyRequestsDesc, keyForcedDesc, nacksRefusedDesc, rungInUseDesc, rungFramesDesc} {
		ch <- d
	}
}

func (c *rtcCollector) Collect(ch chan<- prometheus.Metric) {
	n := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	we, wi := c.s.whepH.Stats(), c.s.whipH.Stats()
	n(rtcTimeoutDesc, we.ConnectTimeouts, "whep")
	n(rtcTimeoutDesc, wi.ConnectTimeouts, "whip")
	n(rtcAddrDesc, we.AddrRefusals, "whep")
	n(rtcAddrDesc, wi.AddrRefusals, "whip")
	n(whipTooLargeDesc, wi.TooLarge)
	n(nacksRefusedDesc, we.NACKsRefused)
	ps := c.s.pubs[0].Stats()
	n(keyRequestsDesc, ps.KeyframeRequests)
	n(keyForcedDesc, ps.ForcedKeyframes)
	for _, r := range c.s.renditionStats() {
		inUse := 0.0
		if r.InUse {
			inUse = 1
		}
		ch <- prometheus.MustNewConstMetric(rungInUseDesc, prometheus.GaugeValue, inUse, r.Name)
		n(rungFramesDesc, r.VP8.Samples, r.Name, "vp8")
		n(rungFramesDesc, r.H264.Samples, r.Name, "h264")
	}
}

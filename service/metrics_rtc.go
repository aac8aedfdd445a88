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
)

func (c *rtcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rtcTimeoutDesc, rtcAddrDesc, whipTooLargeDesc, keyRequestsDesc, keyForcedDesc} {
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
	ps := c.s.pubs[0].Stats()
	n(keyRequestsDesc, ps.KeyframeRequests)
	n(keyForcedDesc, ps.ForcedKeyframes)
}

package whep

import (
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/generator"
)

func TestAdaptTarget(t *testing.T) {
	const (
		conf    = 1_000_000
		floor   = 150_000
		ceiling = 1_500_000
	)
	for _, tc := range []struct {
		name   string
		cur    int
		shares []int
		want   int
	}{
		{"no viewers: configured", 400_000, nil, conf},
		{"no viewers: configured, from the ceiling", ceiling, []int{}, conf},
		{"weakest viewer sets the pace", 1_000_000, []int{2_000_000, 600_000, 900_000}, 600_000},
		{"decrease applies at once", 1_000_000, []int{200_000}, 200_000},
		{"clamped to the floor", 1_000_000, []int{50_000, 3_000_000}, floor},
		{"zero share (estimate below audio): floor", 300_000, []int{0}, floor},
		{"raise limited to +25%", 400_000, []int{1_400_000}, 500_000},
		{"raise clamped to the ceiling", 1_400_000, []int{5_000_000}, ceiling},
		{"small raise ignored (<5%)", 1_000_000, []int{1_040_000}, 1_000_000},
		{"small decrease ignored (<5%)", 1_000_000, []int{960_000}, 1_000_000},
		{"5% decrease applies", 1_000_000, []int{950_000}, 950_000},
		{"5% raise applies", 1_000_000, []int{1_050_000}, 1_050_000},
		{"steady", 800_000, []int{800_000, 900_000}, 800_000},
		{"current above the ceiling is pulled in", 2_000_000, []int{1_950_000}, ceiling},
	} {
		if got := adaptTarget(tc.cur, conf, floor, ceiling, tc.shares); got != tc.want {
			t.Errorf("%s: adaptTarget(%d, %v) = %d, want %d", tc.name, tc.cur, tc.shares, got, tc.want)
		}
	}
	// Configured outside the bounds is clamped too.
	if got := adaptTarget(500_000, 5_000_000, floor, ceiling, nil); got != ceiling {
		t.Errorf("configured above the ceiling: %d", got)
	}
	// Repeated steps converge without overshoot: +25% per step up to the share.
	cur := 200_000
	var steps []int
	for i := 0; i < 10; i++ {
		cur = adaptTarget(cur, conf, floor, ceiling, []int{700_000})
		steps = append(steps, cur)
	}
	if want := []int{250_000, 312_500, 390_625, 488_281, 610_351, 700_000}; !equalPrefix(steps, want) || cur != 700_000 {
		t.Errorf("ramp %v, want %v then steady", steps, want)
	}
}

func equalPrefix(a, b []int) bool {
	if len(a) < len(b) {
		return false
	}
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVideoShare(t *testing.T) {
	for _, tc := range []struct{ est, audio, n, want int }{
		{1_000_000, 0, 1, 900_000},
		{1_064_000, 64_000, 1, 900_000},
		{1_064_000, 64_000, 2, 450_000},
		{50_000, 64_000, 1, 0},
		{1_000_000, 0, 0, 900_000},
	} {
		if got := videoShare(tc.est, tc.audio, tc.n); got != tc.want {
			t.Errorf("videoShare(%d, %d, %d) = %d, want %d", tc.est, tc.audio, tc.n, got, tc.want)
		}
	}
}

func TestVideoBitrateBounds(t *testing.T) {
	v, _ := generator.New("video")
	defer v.Writable().Close()
	for _, tc := range []struct {
		cfg                 VideoConfig
		target, floor, ceil int
	}{
		{VideoConfig{}, 1_500_000, DefaultMinBitrate, 1_500_000},
		{VideoConfig{Bitrate: 100_000}, 100_000, 100_000, 100_000},
		{VideoConfig{Bitrate: 500_000, MinBitrate: 200_000, MaxBitrate: 2_000_000}, 500_000, 200_000, 2_000_000},
		{VideoConfig{Bitrate: 3_000_000, MaxBitrate: 2_000_000}, 2_000_000, DefaultMinBitrate, 2_000_000},
	} {
		p, err := NewVideoPublisher(v, tc.cfg)
		if err != nil {
			t.Fatalf("%+v: %v", tc.cfg, err)
		}
		if st := p.Stats(); st.TargetBitrate != tc.target || p.bwe.floor != tc.floor || p.bwe.ceiling != tc.ceil || st.Viewers != nil {
			t.Errorf("%+v: target %d in [%d, %d], viewers %v; want %d in [%d, %d]", tc.cfg,
				st.TargetBitrate, p.bwe.floor, p.bwe.ceiling, st.Viewers, tc.target, tc.floor, tc.ceil)
		}
		p.Close()
	}
	for _, cfg := range []VideoConfig{
		{MinBitrate: 2_000_000, MaxBitrate: 1_000_000},
		{MinBitrate: 1000},
	} {
		if p, err := NewVideoPublisher(v, cfg); err == nil {
			p.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestBandwidthEstimation runs a real pion viewer (pion's default
// interceptors: it sends TWCC feedback) over loopback. Loopback never
// congests, so what is certain is: transport-cc is negotiated, feedback
// reaches the session's estimator, GCC moves off its initial value, and the
// encoder target stays in [MinBitrate, MaxBitrate]. After the viewer
// leaves, the configured bitrate applies again.
func TestBandwidthEstimation(t *testing.T) {
	const conf, lo, hi = 300_000, 150_000, 1_000_000
	s := newSourceWith(t, VideoConfig{Bitrate: conf, MinBitrate: lo, MaxBitrate: hi, Threads: 1})
	h, srv := newTestHandler(t, s, nil)
	// The audio bitrate (part of GCC's initial value) is settled by the
	// first audio block.
	for deadline := time.Now().Add(2 * time.Second); s.apub.Stats().Samples == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no audio encoded")
		}
	}
	initial := h.bweLimits().initial
	if st := s.vpub.Stats(); st.TargetBitrate != conf || len(st.Viewers) != 0 {
		t.Fatalf("before any viewer: target %d, viewers %v", st.TargetBitrate, st.Viewers)
	}

	v := connect(t, srv, "", true)
	ans := v.PC.RemoteDescription().SDP
	if !strings.Contains(ans, "transport-cc") || !strings.Contains(ans, "transport-wide-cc") {
		t.Fatalf("answer lacks transport-cc feedback or the TWCC extension:\n%s", ans)
	}
	id := path.Base(v.Location)
	var last ViewerEstimate
	moved := false
	for deadline := time.Now().Add(6 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := s.vpub.Stats()
		if st.TargetBitrate < lo || st.TargetBitrate > hi {
			t.Fatalf("target %d outside [%d, %d]", st.TargetBitrate, lo, hi)
		}
		if len(st.Viewers) != 1 || st.Viewers[0].Session != id {
			t.Fatalf("viewers %+v, want one estimate for session %s", st.Viewers, id)
		}
		last = st.Viewers[0]
		moved = moved || st.TargetBitrate != conf
		if last.Feedback > 0 && last.Estimate != initial && last.Share > 0 && moved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 6 s: estimate %+v (initial %d), target %d (configured %d)", last, initial, st.TargetBitrate, conf)
		}
	}
	t.Logf("estimate %+v (initial %d), target %d", last, initial, s.vpub.Stats().TargetBitrate)

	if resp := do(t, http.MethodDelete, srv.URL+v.Location, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := s.vpub.Stats()
		if len(st.Viewers) == 0 && st.TargetBitrate == conf {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after DELETE: target %d, viewers %+v; want %d and none", st.TargetBitrate, st.Viewers, conf)
		}
	}
}

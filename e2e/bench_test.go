package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/chromium"
	"github.com/shadercast/shadercast/internal/rtctest"
)

// The benchmarks here measure the whole service as a user runs it: the
// built binary, real viewers. Each runs for a fixed window (b.N is not a
// loop count for them) and reports its figures with b.ReportMetric; run
// them one at a time on a quiet machine:
//
//	go test -run '^$' -bench 'BenchmarkServe' -benchtime 1x ./e2e

// cpuSeconds is the user+system CPU time of a process so far.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" that ends the command name; utime and stime
	// are fields 14 and 15 of the whole line, in clock ticks (100 Hz on
	// Linux for /proc).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// watchRaw connects a viewer that counts video frames by marker bit
// without decoding: a cheap client, so that many of them fit beside the
// service on this machine.
func watchRaw(b testing.TB, s *service) *rtctest.Viewer {
	b.Helper()
	return watchRawCodecs(b, s)
}

// watchRawCodecs is watchRaw offering only the video codecs mimes (pion's
// defaults when none).
func watchRawCodecs(b testing.TB, s *service, mimes ...string) *rtctest.Viewer {
	b.Helper()
	v := rtctest.NewViewer(b, rtctest.ViewerConfig{Codecs: mimes, Raw: true})
	v.Watch(b, s.URL+"whep", "")
	return v
}

// window measures the service over d: CPU share of the machine (100% =
// all cores busy), frames out, drops, and the latency percentiles the
// service itself reports (frame creation to first RTP packet).
type window struct {
	cpuPct, fps, drops, p50, p95 float64
}

func measure(b testing.TB, s *service, d time.Duration) window {
	var st0, st1 stats
	s.getJSON(b, "api/stats", "", &st0)
	c0, t0 := cpuSeconds(s.cmd.Process.Pid), time.Now()
	time.Sleep(d)
	c1, t1 := cpuSeconds(s.cmd.Process.Pid), time.Now()
	s.getJSON(b, "api/stats", "", &st1)
	el := t1.Sub(t0).Seconds()
	drops := 0.0
	for k, v := range st1.Drops {
		if k == "inactiveInput" {
			continue
		}
		drops += float64(v - st0.Drops[k])
	}
	return window{
		cpuPct: 100 * (c1 - c0) / el / float64(numCPU()),
		fps:    float64(st1.Frames.Out-st0.Frames.Out) / el,
		drops:  drops,
		p50:    st1.Latency.P50, p95: st1.Latency.P95,
	}
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	n := strings.Count(string(b), "processor\t:")
	return max(n, 1)
}

// BenchmarkServe720p: the default service (720p30 test source, barcode
// pass, VP8) with one viewer, measured over 20 s after a 5 s warm-up.
func BenchmarkServe720p(b *testing.B) {
	s := start(b, nil, nil)
	v := watchRaw(b, s)
	time.Sleep(5 * time.Second)
	f0 := int64(v.FrameCount())
	w := measure(b, s, 20*time.Second)
	recv := float64(int64(v.FrameCount())-f0) / 20
	b.ReportMetric(w.cpuPct, "cpu%")
	b.ReportMetric(w.fps, "fps")
	b.ReportMetric(recv, "viewer-fps")
	b.ReportMetric(w.drops, "drops")
	b.ReportMetric(w.p50, "p50-ms")
	b.ReportMetric(w.p95, "p95-ms")
}

// BenchmarkServeCodecs: the default service (720p30, barcode pass) with
// one VP8 viewer, then with a VP8 and an H.264 viewer at once, then with
// the H.264 viewer alone, 20 s each after 5 s: each codec is encoded
// while watched, so the three figures are one encode, both, the other.
func BenchmarkServeCodecs(b *testing.B) {
	s := start(b, nil, nil)
	vp8v := watchRawCodecs(b, s, webrtc.MimeTypeVP8)
	serveStep(b, s, "vp8", vp8v)
	h264v := watchRawCodecs(b, s, webrtc.MimeTypeH264)
	serveStep(b, s, "both", vp8v, h264v)
	vp8v.PC.Close()
	serveStep(b, s, "h264", h264v)
}

// BenchmarkServeLadder: the default service (720p30, barcode pass) with
// one VP8 viewer of the top rendition, then with one more on each rung of
// the default ladder (360p, 180p): what the ladder costs when all of it is
// watched (the GPU scaling and readback, two more encodes).
func BenchmarkServeLadder(b *testing.B) {
	s := start(b, nil, nil)
	top := watchRawCodecs(b, s, webrtc.MimeTypeVP8)
	serveStep(b, s, "top", top)
	var vs []*rtctest.Viewer
	for _, rung := range []string{"360p", "180p"} {
		v := rtctest.NewViewer(b, rtctest.ViewerConfig{Codecs: []string{webrtc.MimeTypeVP8}, Raw: true})
		v.Watch(b, s.URL+"whep?rendition="+rung, "")
		vs = append(vs, v)
	}
	serveStep(b, s, "ladder", append([]*rtctest.Viewer{top}, vs...)...)
	// Each rung's encode time, the mean of samples of the last frame's
	// queueing plus encode, taken every 100 ms for 5 s.
	sum := map[string]float64{}
	for i := 0; i < 50; i++ {
		for _, r := range s.stats(b, "").Renditions {
			sum[r.Name] += r.VP8.EncodeMs
		}
		time.Sleep(100 * time.Millisecond)
	}
	for name, ms := range sum {
		b.ReportMetric(ms/50, "encode-ms-"+name)
	}
}

// BenchmarkServeThrottled: the default service with n WHEP viewers (raw:
// they count frames without decoding), half of them behind a 300 kbit/s
// link, for n = 2 and 20: the cost of a viewer when half the audience
// moves down the ladder (viewers per core is the inverse of the marginal
// CPU per viewer).
func BenchmarkServeThrottled(b *testing.B) {
	s := start(b, nil, nil, "--max-viewers", "50", "--max-connecting-per-ip", "-1")
	var vs []*rtctest.Viewer
	for _, n := range []int{2, 20} {
		for len(vs) < n {
			cfg := rtctest.ViewerConfig{Codecs: []string{webrtc.MimeTypeVP8}, Raw: true}
			if len(vs)%2 == 1 {
				cfg.Throttle = 300_000
			}
			v := rtctest.NewViewer(b, cfg)
			v.Watch(b, s.URL+"whep", "")
			vs = append(vs, v)
		}
		time.Sleep(10 * time.Second) // the throttled ones move down
		w := measure(b, s, 15*time.Second)
		b.ReportMetric(w.cpuPct, fmt.Sprintf("cpu%%-%dv", n))
		b.ReportMetric(w.fps, fmt.Sprintf("fps-%dv", n))
		b.ReportMetric(w.p95, fmt.Sprintf("p95ms-%dv", n))
		rungs := map[string]int{}
		for _, r := range s.stats(b, "").Renditions {
			rungs[r.Name] = r.Viewers
		}
		for name, v := range rungs {
			b.ReportMetric(float64(v), fmt.Sprintf("viewers-%s-%dv", name, n))
		}
	}
}

// serveStep measures the service for 20 s after 5 s of settling, with the
// viewers vs: its CPU, frames out, drops, p95 latency, and each viewer's
// frames per second, as metrics suffixed with name.
func serveStep(b *testing.B, s *service, name string, vs ...*rtctest.Viewer) {
	time.Sleep(5 * time.Second)
	f0 := make([]int64, len(vs))
	for i, v := range vs {
		f0[i] = int64(v.FrameCount())
	}
	w := measure(b, s, 20*time.Second)
	b.ReportMetric(w.cpuPct, "cpu%-"+name)
	b.ReportMetric(w.fps, "fps-"+name)
	b.ReportMetric(w.drops, "drops-"+name)
	b.ReportMetric(w.p95, "p95ms-"+name)
	for i, v := range vs {
		b.ReportMetric(float64(int64(v.FrameCount())-f0[i])/20, fmt.Sprintf("viewer%d-fps-%s", i, name))
	}
}

// BenchmarkServeViewers: CPU of the service as viewers are added (1 to
// 100 non-decoding pion viewers in this process), 10 s per step. The
// viewers share the machine with the service, so the step figures are
// the service process's own CPU only.
func BenchmarkServeViewers(b *testing.B) {
	s := start(b, nil, nil, "--max-viewers", "120")
	var vs []*rtctest.Viewer
	for _, n := range []int{1, 10, 25, 50, 100} {
		for len(vs) < n {
			vs = append(vs, watchRaw(b, s))
		}
		time.Sleep(3 * time.Second)
		w := measure(b, s, 10*time.Second)
		b.ReportMetric(w.cpuPct, fmt.Sprintf("cpu%%-%dv", n))
		b.ReportMetric(w.fps, fmt.Sprintf("fps-%dv", n))
		b.ReportMetric(w.p95, fmt.Sprintf("p95ms-%dv", n))
	}
}

// BenchmarkGlassToGlass: Chromium plays the stream; the page reads the
// timecode strip (--timecode) of every presented frame and compares it
// with its own clock: creation of the frame to its display.
func BenchmarkGlassToGlass(b *testing.B) {
	s := start(b, nil, nil, "--timecode")
	br := chromium.Launch(b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := br.OpenPage(ctx, s.URL)
	if err != nil {
		b.Fatal(err)
	}
	eventually(b, 30*time.Second, "playback", func() bool {
		var n int
		return page.Eval(ctx, `window.shadercast ? window.shadercast.framesRendered : 0`, &n) == nil && n > 30
	})
	// For 8 s, at every presented frame: draw it, read the 32 cells
	// (centre pixel of each), rebuild the millisecond value and subtract
	// it from Date.now() modulo 2^32.
	const js = `new Promise((resolve) => {
		const v = document.getElementById('video');
		const c = document.createElement('canvas');
		const out = [];
		const end = performance.now() + 8000;
		function frame(now, meta) {
			const w = v.videoWidth, h = v.videoHeight;
			if (c.width !== w) { c.width = w; c.height = h; }
			const g = c.getContext('2d', {willReadFrequently: true});
			g.drawImage(v, 0, 0, w, h);
			const row = g.getImageData(0, h - 8, 32 * 16, 1).data;
			let ms = 0;
			for (let i = 0; i < 32; i++) if (row[4 * (i * 16 + 8)] > 128) ms = (ms | (1 << i)) >>> 0;
			const wall = performance.timeOrigin + meta.expectedDisplayTime;
			const lat = ((Math.round(wall) % 4294967296) - ms + 4294967296) % 4294967296;
			if (lat < 10000) out.push(lat);
			if (performance.now() < end) v.requestVideoFrameCallback(frame); else resolve(out);
		}
		v.requestVideoFrameCallback(frame);
	})`
	var lat []float64
	if err := page.Eval(ctx, js, &lat); err != nil {
		b.Fatalf("%v\n%s", err, br.Diagnostics())
	}
	if len(lat) < 50 {
		b.Fatalf("only %d frames with a readable timecode", len(lat))
	}
	sort.Float64s(lat)
	b.ReportMetric(lat[len(lat)/2], "g2g-p50-ms")
	b.ReportMetric(lat[len(lat)*95/100], "g2g-p95-ms")
	b.ReportMetric(float64(len(lat)), "frames")
}

// BenchmarkServeScenesGrid: issue 11's service figure. Four live 720p
// sources (the service's own test scene, recorded once as I420 Y4M and
// played by four y4m sources that loop) in a 2x2 grid of the 720p canvas,
// one viewer: without a pass, with the barcode pass in the first layer's
// own chain (the case: it analyses that source at its 720p), and
// in all four layers' chains; and, in the same run, the default
// one-source service. Each measured over 20 s after a 5 s warm-up.
func BenchmarkServeScenesGrid(b *testing.B) {
	dir := b.TempDir()
	clip := filepath.Join(dir, "scene.y4m")
	rec := start(b, nil, nil, "--record", clip)
	time.Sleep(2500 * time.Millisecond)
	rec.stop(b)
	grid := func(name string, withPass int) string {
		var sources, layers, mirrored []string
		for i := range 4 {
			sources = append(sources, fmt.Sprintf(`"s%d": {"type": "y4m", "path": %q, "loop": true}`, i, clip))
			passes := ""
			if i < withPass {
				passes = `, "passes": ["barcode"]`
			}
			layers = append(layers, fmt.Sprintf(`{"source": "s%d", "rect": [%d, %d, 640, 360]%s}`, i, 640*(i%2), 360*(i/2), passes))
			mirrored = append(mirrored, fmt.Sprintf(`{"source": "s%d", "rect": [%d, %d, 640, 360]%s}`, i, 640*(1-i%2), 360*(1-i/2), passes))
		}
		file := filepath.Join(dir, name+".json")
		desc := `{"sources": {` + strings.Join(sources, ", ") + `}, "scenes": {"grid": {"layers": [` +
			strings.Join(layers, ", ") + `]}, "mirror": {"layers": [` + strings.Join(mirrored, ", ") + `]}}, "program": "grid"}`
		if err := os.WriteFile(file, []byte(desc), 0o644); err != nil {
			b.Fatal(err)
		}
		return file
	}
	for _, run := range []struct {
		name string
		args []string
		// switching: a dissolve of 1 s between the grid and its mirror
		// every 2 s while measured, half the time in a transition.
		switching bool
	}{
		{"one", nil, false},
		{"grid", []string{"--scenes", grid("grid", 0)}, false},
		{"grid-barcode1", []string{"--scenes", grid("grid-barcode1", 1)}, false},
		{"grid-barcode4", []string{"--scenes", grid("grid-barcode4", 4)}, false},
		{"grid-dissolves", []string{"--scenes", grid("grid-dissolves", 0)}, true},
	} {
		s := start(b, nil, nil, run.args...)
		v := watchRaw(b, s)
		time.Sleep(5 * time.Second)
		f0 := int64(v.FrameCount())
		stop := make(chan struct{})
		switched := make(chan int)
		if run.switching {
			go func() {
				n := 0
				defer func() { switched <- n }()
				for scene, other := "mirror", "grid"; ; scene, other = other, scene {
					if code, body := s.request(b, "POST", "api/scenes/"+scene+"/activate", "", "application/json", `{"transition": "dissolve", "duration": 1}`); code != 200 {
						b.Errorf("activate %s: %d %s", scene, code, body)
						return
					}
					n++
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Second):
					}
				}
			}()
		}
		w := measure(b, s, 20*time.Second)
		close(stop)
		if run.switching {
			b.ReportMetric(float64(<-switched), "switches-"+run.name)
		}
		recv := float64(int64(v.FrameCount())-f0) / 20
		s.stop(b)
		b.ReportMetric(w.cpuPct, "cpu%-"+run.name)
		b.ReportMetric(w.fps, "fps-"+run.name)
		b.ReportMetric(recv, "viewer-fps-"+run.name)
		b.ReportMetric(w.drops, "drops-"+run.name)
		b.ReportMetric(w.p95, "p95-ms-"+run.name)
	}
}

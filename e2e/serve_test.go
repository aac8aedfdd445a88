package e2e

import (
	"image/png"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// isHighlight says whether a decoded pixel has the barcode pass's outline
// green (26, 255, 89), allowing for VP8 and chroma subsampling.
func isHighlight(r, g, b float64) bool {
	return g > 160 && g-r > 70 && g-b > 50
}

// greenPixels counts highlight-green pixels on a 2-pixel grid.
func greenPixels(f frame) int {
	n := 0
	w, h := f.VideoFrame.CodedWidth(), f.VideoFrame.CodedHeight()
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x += 2 {
			if isHighlight(rgbAt(f.VideoFrame, x, y)) {
				n++
			}
		}
	}
	return n
}

// outlineHits samples the edges of a detection's corner polygon and
// returns the fraction of samples with highlight green within 6 pixels.
func outlineHits(f frame, pts []struct{ X, Y float64 }) float64 {
	w, h := f.VideoFrame.CodedWidth(), f.VideoFrame.CodedHeight()
	hits, n := 0, 0
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		for k := 0; k < 16; k++ {
			t := (float64(k) + 0.5) / 16
			cx, cy := a.X+(b.X-a.X)*t, a.Y+(b.Y-a.Y)*t
			n++
		search:
			for dy := -6; dy <= 6; dy++ {
				for dx := -6; dx <= 6; dx++ {
					x, y := int(cx)+dx, int(cy)+dy
					if x < 0 || y < 0 || x >= w || y >= h {
						continue
					}
					if isHighlight(rgbAt(f.VideoFrame, x, y)) {
						hits++
						break search
					}
				}
			}
		}
	}
	return float64(hits) / float64(max(n, 1))
}

// goertzel is the power of freq in pcm at 48 kHz.
func goertzel(pcm []float32, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/48000)
	var s1, s2 float64
	for _, x := range pcm {
		s := float64(x) + k*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// TestDefaultService is a newcomer's `make run`: the built binary with
// its defaults. A WHEP viewer decodes the video and finds the highlight
// outline where the detection events say the barcodes are; the sound is the
// 440 Hz tone; the API, metrics, snapshot and health endpoints answer.
func TestDefaultService(t *testing.T) {
	s := start(t, nil, nil)
	sse := subscribe(t, s, "")
	v := watch(t, s, "")
	v.WaitFrames(t, 30, 30*time.Second)

	// Wait for events that carry all three of the scene's codes.
	want := map[string]string{"ean_13": "4006381333931", "code_128": "SHADERCAST-128", "qr_code": "https://shadercast.example/qr"}
	eventually(t, 20*time.Second, "detection events on the data channel with the three codes", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		seen := map[string]bool{}
		for _, e := range v.events {
			for _, b := range e.Barcodes {
				if want[b.Format] == b.RawValue {
					seen[b.Format] = true
				}
			}
		}
		return len(seen) == len(want)
	})
	if sse.count("detections") == 0 {
		t.Error("no detections on /api/events")
	}

	// Match decoded frames to events through their timestamps: RTP time
	// (90 kHz) and the event's µs differ by one constant offset, found
	// as the median over frames paired with the event that arrived
	// closest to them.
	matched, checked := 0, 0
	deadline := time.Now().Add(20 * time.Second)
	for matched < 5 && time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		frames := v.Frames()
		v.mu.Lock()
		events := append([]detections(nil), v.events...)
		v.mu.Unlock()
		var cands []float64
		for _, f := range frames {
			best, bestD := -1, time.Hour
			for i, e := range events {
				if d := absDur(f.Arrived.Sub(e.arrived)); d < bestD {
					best, bestD = i, d
				}
			}
			if best >= 0 {
				cands = append(cands, float64(f.RTP)*1000/90-float64(events[best].Timestamp))
			}
		}
		off := median(cands)
		for _, f := range frames {
			for _, e := range events {
				if math.Abs(float64(f.RTP)*1000/90-off-float64(e.Timestamp)) > 8000 {
					continue
				}
				for _, b := range e.Barcodes {
					if b.RawValue == "" || len(b.CornerPoints) != 4 {
						continue
					}
					checked++
					if hit := outlineHits(f, b.CornerPoints); hit >= 0.8 {
						matched++
					} else {
						t.Logf("frame rtp %d: %s outline found at %.0f%% of its edge samples", f.RTP, b.Format, hit*100)
					}
				}
			}
			f.Close()
		}
	}
	if matched < 5 {
		t.Fatalf("highlight outlines found around %d of %d reported barcodes (want ≥ 5)\n%s", matched, checked, s.stderr)
	}

	// Sound: the tone dominates the decoded audio.
	pcm := v.SecondOfAudio(t, false)
	p440, p300, p700 := goertzel(pcm, 440), goertzel(pcm, 300), goertzel(pcm, 700)
	if p440 < 20*p300 || p440 < 20*p700 {
		t.Errorf("440 Hz tone not dominant: power 440 %.3g, 300 %.3g, 700 %.3g", p440, p300, p700)
	}

	// The HTTP surface.
	var st stats
	if code := s.getJSON(t, "api/stats", "", &st); code != http.StatusOK {
		t.Fatalf("/api/stats: %d", code)
	}
	if st.Frames.Out == 0 || st.Viewers != 1 || st.Input.Active != "testsrc" || st.Input.State != "live" {
		t.Errorf("stats: %+v", st)
	}
	if st.Latency.P50 <= 0 || st.Latency.P95 < st.Latency.P50 {
		t.Errorf("latency percentiles %+v", st.Latency)
	}
	if code, body := s.request(t, http.MethodGet, "metrics", "", "", ""); code != http.StatusOK ||
		!strings.Contains(body, "shadercast_frames_out_total") || !strings.Contains(body, `shadercast_pass_gpu_seconds{pass="barcode"}`) {
		t.Errorf("/metrics: %d\n%.2000s", code, body)
	}
	if code, body := s.request(t, http.MethodGet, "healthz", "", "", ""); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	resp, err := http.Get(s.URL + "api/snapshot.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(resp.Body)
	resp.Body.Close()
	if err != nil || img.Bounds().Dx() != 1280 || img.Bounds().Dy() != 720 {
		t.Errorf("snapshot: %v %v", err, img)
	}
	if code, body := s.request(t, http.MethodGet, "", "", "", ""); code != http.StatusOK || !strings.Contains(body, "viewer.js") {
		t.Errorf("viewer page: %d", code)
	}

	// API change visible in the next frames: with the barcode pass
	// disabled the green disappears, enabled it returns.
	before, _ := v.Latest()
	greenOn := greenPixels(before)
	before.Close()
	if code, body := s.request(t, http.MethodPatch, "api/pipeline", "", "application/json", `{"passes":{"barcode":{"enabled":false}}}`); code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	v.WaitFrames(t, 10, 10*time.Second)
	off, _ := v.Latest()
	greenOff := greenPixels(off)
	off.Close()
	if greenOn < 200 || greenOff > greenOn/20 {
		t.Errorf("highlight pixels: %d with the barcode pass, %d without (want many, then ~none)", greenOn, greenOff)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

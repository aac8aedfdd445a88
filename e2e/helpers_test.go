package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/media"
)

// needTool fails the test (never skips) when a reference tool is missing.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed by this test and is not installed (apt-get install ffmpeg): %v", name, err)
	}
	return p
}

// ffmpegFile runs ffmpeg with args (output last) and fails on error.
func ffmpegFile(t testing.TB, args ...string) {
	t.Helper()
	needTool(t, "ffmpeg")
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// meanRGB is the mean colour of the rectangle [x0,x1)×[y0,y1) of an I420
// frame, converted with the BT.709 limited-range matrix (what the service
// sends).
func meanRGB(f media.VideoFrame, x0, y0, x1, y1 int) (r, g, b float64) {
	n := 0.0
	for y := y0; y < y1; y += 2 {
		for x := x0; x < x1; x += 2 {
			rr, gg, bb := rgbAt(f, x, y)
			r, g, b = r+rr, g+gg, b+bb
			n++
		}
	}
	return r / n, g / n, b / n
}

func near(got, want [3]float64, tol float64) bool {
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			return false
		}
	}
	return true
}

// maxGap is the longest time between two consecutive decoded frames
// arriving within [from, to].
func maxGap(log []frameInfo, from, to time.Time) time.Duration {
	var gap time.Duration
	var prev time.Time
	for _, f := range log {
		if f.Arrived.Before(from) || f.Arrived.After(to) {
			continue
		}
		if !prev.IsZero() && f.Arrived.Sub(prev) > gap {
			gap = f.Arrived.Sub(prev)
		}
		prev = f.Arrived
	}
	if !prev.IsZero() && to.Sub(prev) > gap {
		gap = to.Sub(prev)
	}
	return gap
}

// framesIn counts the decoded frames that arrived within [from, to].
func framesIn(log []frameInfo, from, to time.Time) int {
	n := 0
	for _, f := range log {
		if !f.Arrived.Before(from) && !f.Arrived.After(to) {
			n++
		}
	}
	return n
}

// latestSized waits for a decoded frame of the given size and returns a
// clone.
func (v *viewer) latestSized(t testing.TB, w, h int, within time.Duration) frame {
	t.Helper()
	var got frame
	deadline := time.Now().Add(within)
	for {
		f, ok := v.Latest()
		if ok && f.VideoFrame.CodedWidth() == w && f.VideoFrame.CodedHeight() == h {
			return f
		}
		if ok {
			got = f
			got.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %dx%d frame decoded within %v (last %dx%d)", w, h, within, got.VideoFrame.CodedWidth(), got.VideoFrame.CodedHeight())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// getStats reads /api/stats.
func (s *service) stats(t testing.TB, token string) stats {
	t.Helper()
	var st stats
	if code := s.getJSON(t, "api/stats", token, &st); code != http.StatusOK {
		t.Fatalf("/api/stats: %d", code)
	}
	return st
}

// y4mFrames renders a testsrc2 clip to a Y4M file with ffmpeg.
func y4mClip(t testing.TB, path string, w, h int, seconds float64) {
	t.Helper()
	ffmpegFile(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h), "-t", fmt.Sprint(seconds),
		"-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", path)
}

// readAll reads r fully (for HTTP bodies in goroutines that must not
// call t.Fatal).
func readAll(r io.Reader) string {
	var b bytes.Buffer
	io.Copy(&b, r)
	return b.String()
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// metricValue is the value of the metric line starting with name, or -1.
func metricValue(text, name string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}

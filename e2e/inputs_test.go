package e2e

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadercast/shadercast/media"
)

// blockGrid is the mean RGB of each 40×40 block of a picture: coarse
// enough that chroma subsampling and VP8 do not matter, fine enough that
// testsrc2's bars, gradient and moving parts tell frames apart.
type blockGrid [][3]float64

const gridBlock = 40

func gridOfFrame(f media.VideoFrame) blockGrid {
	w, h := f.CodedWidth(), f.CodedHeight()
	var g blockGrid
	for by := 0; by+gridBlock <= h; by += gridBlock {
		for bx := 0; bx+gridBlock <= w; bx += gridBlock {
			r, gg, b := meanRGB(f, bx, by, bx+gridBlock, by+gridBlock)
			g = append(g, [3]float64{r, gg, b})
		}
	}
	return g
}

func gridOfRGB(pix []byte, w, h int) blockGrid {
	var g blockGrid
	for by := 0; by+gridBlock <= h; by += gridBlock {
		for bx := 0; bx+gridBlock <= w; bx += gridBlock {
			var s [3]float64
			for y := by; y < by+gridBlock; y++ {
				for x := bx; x < bx+gridBlock; x++ {
					o := 3 * (y*w + x)
					s[0] += float64(pix[o])
					s[1] += float64(pix[o+1])
					s[2] += float64(pix[o+2])
				}
			}
			n := float64(gridBlock * gridBlock)
			g = append(g, [3]float64{s[0] / n, s[1] / n, s[2] / n})
		}
	}
	return g
}

// gridDiff is the mean absolute difference over blocks and channels.
func gridDiff(a, b blockGrid) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		for c := 0; c < 3; c++ {
			d += math.Abs(a[i][c] - b[i][c])
		}
	}
	return d / float64(3*len(a))
}

// referenceGrids renders the same testsrc2 frames to RGB with ffmpeg (the
// independent reference) and returns their block grids.
func referenceGrids(t *testing.T, w, h int, seconds string) []blockGrid {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h), "-t", seconds,
		"-pix_fmt", "rgb24", "-f", "rawvideo", "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(out, 1<<20)
	buf := make([]byte, w*h*3)
	var grids []blockGrid
	for {
		if _, err := io.ReadFull(br, buf); err != nil {
			break
		}
		grids = append(grids, gridOfRGB(buf, w, h))
	}
	if err := cmd.Wait(); err != nil || len(grids) == 0 {
		t.Fatalf("ffmpeg rgb24 reference: %v (%d frames)", err, len(grids))
	}
	return grids
}

// TestY4MStdin: ffmpeg's testsrc2 as Y4M on stdin. The viewer decodes
// 640x360 frames that look like ffmpeg's own RGB rendering of the same
// source; when ffmpeg ends, the service ends the tracks and exits 0.
func TestY4MStdin(t *testing.T) {
	needTool(t, "ffmpeg")
	ref := referenceGrids(t, 640, 360, "3")

	// The pipe is the service's stdin before ffmpeg writes anything, so
	// that the viewer is watching when the first frame comes.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, pr, "--input", "-")
	pr.Close()
	v := watch(t, s, "")
	v.WaitFrames(t, 5, 30*time.Second) // the "no signal" slate meanwhile

	ff := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "3",
		"-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-")
	ff.Stdout = pw
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	ffDone := make(chan error, 1)
	go func() { ffDone <- ff.Wait() }()

	// Compare a few decoded frames with the best-matching reference
	// frame (the viewer cannot know which source frame it got).
	var diffs []float64
	for i := 0; i < 4; i++ {
		f := v.latestSized(t, 640, 360, 15*time.Second)
		g := gridOfFrame(f.VideoFrame)
		f.Close()
		best := math.Inf(1)
		for _, r := range ref {
			best = min(best, gridDiff(g, r))
		}
		diffs = append(diffs, best)
		time.Sleep(300 * time.Millisecond)
	}
	if m := median(diffs); m > 10 {
		t.Errorf("decoded frames differ from ffmpeg's RGB testsrc2 by %.1f (mean abs per block channel; want ≤ 10): %v", m, diffs)
	}
	t.Logf("block differences to the closest reference frame: %.1f", diffs)

	select {
	case err := <-ffDone:
		if err != nil {
			t.Fatalf("ffmpeg: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ffmpeg did not finish within 20 s")
	}
	select {
	case <-s.exited:
		if s.err != nil {
			t.Fatalf("shadercast exited with %v after its stdin ended\n%s", s.err, s.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("shadercast still running 10 s after its stdin ended\n%s", s.stderr)
	}
	select {
	case <-v.Ended():
	case <-time.After(5 * time.Second):
		t.Fatal("the viewer's video track did not end after the service exited")
	}
	n := 0
	for _, f := range v.Log() {
		if f.W == 640 && f.H == 360 {
			n++
		}
	}
	// The machine is shared and loaded: the encoder may skip frames, but
	// most of the input must have reached the viewer.
	if n < 30 {
		t.Errorf("decoded %d 640x360 frames of a 90-frame input (want ≥ 30)", n)
	}
}

// TestY4MLoop: a one-second clip with --loop keeps playing for three
// seconds with increasing timestamps, and the input really loops (more
// input frames than the file has, not repeats of its last one).
func TestY4MLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.y4m")
	y4mClip(t, path, 320, 180, 1)
	s := start(t, nil, nil, "--input", path, "--loop")
	v := watch(t, s, "")
	f := v.latestSized(t, 320, 180, 30*time.Second)
	f.Close()
	from := time.Now()
	time.Sleep(3 * time.Second)
	log := v.Log()
	var rtps []uint32
	for _, fi := range log {
		if !fi.Arrived.Before(from) {
			if fi.W != 320 || fi.H != 180 {
				t.Fatalf("a %dx%d frame while looping a 320x180 clip", fi.W, fi.H)
			}
			rtps = append(rtps, fi.RTP)
		}
	}
	if len(rtps) < 60 {
		t.Fatalf("decoded %d frames in 3 s of a looping 30 fps clip (want ≥ 60)", len(rtps))
	}
	for i := 1; i < len(rtps); i++ {
		if int32(rtps[i]-rtps[i-1]) <= 0 {
			t.Fatalf("RTP timestamps do not increase at frame %d: %d then %d", i, rtps[i-1], rtps[i])
		}
	}
	if span := float64(rtps[len(rtps)-1]-rtps[0]) / 90000; span < 2.5 {
		t.Errorf("timestamps span %.2f s over 3 s of playback", span)
	}
	st := s.stats(t, "")
	if st.Frames.In < 75 || st.Input.State != "live" {
		t.Errorf("after ~4 s of a 30-frame clip: %d input frames, state %q (want > 75, live: the file loops)", st.Frames.In, st.Input.State)
	}
	if st.Frames.Repeated > st.Frames.Out/4 {
		t.Errorf("%d of %d output frames were repeats: the loop stalls", st.Frames.Repeated, st.Frames.Out)
	}
}

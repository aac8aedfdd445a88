package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/barcodetest"
	"github.com/shadercast/shadercast/source/testsrc"
)

// Barcodes in live video (issue 10), measured as an outsider would: the
// photo set (with zxing-cpp's corners) synthesized into 1280x720 30 fps
// Y4M, each photo moving (rotation, pan, zoom) and held for 10 or 30 frames,
// played through the binary at its DEFAULTS with --input, and scored from
// /api/events against the true corners of every frame. The same frames go
// through `shadercast detect` as the reference for what the stills path
// reads. Then the default test scene, whose corners are exact, frame by
// frame.
//
// The floors below are the service's level when this test was written
// minus a margin: a ratchet that fails on regression. The targets
// stand beside them; the floors go up as the fixes land.
//
// SHADERCAST_BARCODE_VIDEO=full plays every photo (about 7 minutes of
// video) instead of the CI subset.

const (
	videoLead = 20 // background frames before the first photo: the service settles
	videoTail = 20 // and after the last, so that its frames' events get out before the input ends
	// videoBatch bounds one service run's clip (30 s): the full set is
	// played in several runs rather than as one 12 GB file.
	videoBatch = 900
)

// videoRun is one clip's configuration and floors.
type videoRun struct {
	hold          int
	every, everyF int // subset: every n-th photo with codes, every n-th without
	// Floors: today's level (docs/PERFORMANCE.md, "Barcodes in video")
	// with a margin for run-to-run spread on a shared 2-core machine.
	minReadOfRef    float64 // share of the codes detect reads that the service reads
	minBoxed        float64 // share of code-frames with a box on the code
	maxFirstMedian  float64 // frames from a code's first frame to its first read
	maxFirstP95     float64
	maxCornerMedian float64 // px, worst corner per detection per frame
	maxCornerP95    float64
	// The same for the 2D codes (QR, DataMatrix), whose true corners are
	// the symbol's own (a 1D code's span only the lines zxing read).
	max2DCornerMedian float64
	max2DCornerP95    float64
	maxFalsePhotos    int     // photos without codes with a detection
	maxNotInViewFrac  float64 // detections with a value not in view, per matched detection
}

func TestBarcodeVideo(t *testing.T) {
	// The targets, for both holds: corner error ≤ 3 px median and
	// ≤ 8 px p95; first read ≤ 3 frames median and ≤ 10 p95; no detection on
	// photos without codes and no value that is not in view; a box on every
	// code in every frame; of the codes detect reads, ≥ 95% read when in
	// view for 10 frames and ≥ 99% for 30.
	runs := []videoRun{
		// Raised after codes began following their own region (median
		// 5.0 / 7.8 px, p95 33 / 41 px, every code detect reads, 4% / 0.3%
		// values not in view, on a loaded machine); 1D codes' corners are
		// zxing's scan-line span, which keeps the p95 up.
		// The 2D codes' ceilings: at the median, and above the
		// p95 reached here (10-11 px at both holds) with a margin.
		// The all-format p95s were raised (from 70 and 80) when 1D codes
		// began to be placed on every line of the frame that reads them
		// (zxing's own convention, the stills' truth): a 1D code's truth
		// here is the photo's reading lines turned and scaled with the
		// photo, and a turned code reads on the frame's rows in a band
		// sheared against it (tall ITF codes most). Full set: EAN/UPC
		// median 23-29 px, p95 80-95; all formats p95 84-87 px.
		{hold: 10, every: 7, everyF: 9, minReadOfRef: 0.80, minBoxed: 0.15, maxFirstMedian: 3, maxFirstP95: 12,
			maxCornerMedian: 12, maxCornerP95: 100, max2DCornerMedian: 3, max2DCornerP95: 15, maxFalsePhotos: 1, maxNotInViewFrac: 0.05},
		{hold: 30, every: 20, everyF: 12, minReadOfRef: 0.90, minBoxed: 0.25, maxFirstMedian: 3, maxFirstP95: 30,
			maxCornerMedian: 15, maxCornerP95: 100, max2DCornerMedian: 3, max2DCornerP95: 15, maxFalsePhotos: 1, maxNotInViewFrac: 0.02},
	}
	full := os.Getenv("SHADERCAST_BARCODE_VIDEO") == "full"
	cases := barcodetest.Load(t)
	for _, run := range runs {
		t.Run(fmt.Sprintf("hold%d", run.hold), func(t *testing.T) {
			var sel []barcodetest.Case
			nc, nf := 0, 0
			for _, c := range cases {
				if c.FalsePositive {
					if full || nf%run.everyF == 0 {
						sel = append(sel, c)
					}
					nf++
					continue
				}
				if full || nc%run.every == 0 {
					sel = append(sel, c)
				}
				nc++
			}
			clip, err := barcodetest.NewClip(sel, barcodetest.ClipOptions{Hold: run.hold})
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			dets := map[int][]barcodetest.Seen{}
			for i := 0; i < len(clip.Segments); {
				j := i + 1
				for j < len(clip.Segments) && clip.Segments[j].End-clip.Segments[i].Start <= videoBatch {
					j++
				}
				from, to := clip.SegmentRange(i, j)
				for n, d := range playClip(t, clip, from, to) {
					dets[n] = d
				}
				i = j
			}
			t1 := time.Now()
			ref := detectFrames(t, clip)
			t.Logf("played (with writing the clip) in %v, detect in %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
			r := barcodetest.ScoreVideo(clip, dets, ref)
			t.Logf("hold %d frames, %d photos (%d frames), service defaults:\n%s", run.hold, len(sel), clip.Frames, r)
			if len(r.MissedByVideoOf) > 0 {
				t.Logf("read by detect, not by the service: %s", strings.Join(r.MissedByVideoOf, "; "))
			}
			checkVideoFloors(t, run, r)
		})
	}
}

func checkVideoFloors(t *testing.T, run videoRun, r barcodetest.VideoReport) {
	t.Helper()
	if r.RefRead == 0 || r.Matched == 0 {
		t.Fatalf("nothing to score: detect read %d codes, %d detections matched", r.RefRead, r.Matched)
	}
	if got := r.ReadOfRefRate(); got < run.minReadOfRef {
		t.Errorf("read %.1f%% of the codes detect reads, floor %.1f%%", 100*got, 100*run.minReadOfRef)
	}
	if got := float64(r.CodeFramesBoxed) / float64(r.CodeFrames); got < run.minBoxed {
		t.Errorf("a box on the code in %.1f%% of code-frames, floor %.1f%%", 100*got, 100*run.minBoxed)
	}
	if got := barcodetest.Percentile(r.FramesToRead, 0.5); got > run.maxFirstMedian {
		t.Errorf("frames to first read: median %.0f, ceiling %.0f", got, run.maxFirstMedian)
	}
	if got := barcodetest.Percentile(r.FramesToRead, 0.95); got > run.maxFirstP95 {
		t.Errorf("frames to first read: p95 %.0f, ceiling %.0f", got, run.maxFirstP95)
	}
	if got := barcodetest.Percentile(r.CornerErr, 0.5); got > run.maxCornerMedian {
		t.Errorf("corner error median %.1f px, ceiling %.1f", got, run.maxCornerMedian)
	}
	if got := barcodetest.Percentile(r.CornerErr, 0.95); got > run.maxCornerP95 {
		t.Errorf("corner error p95 %.1f px, ceiling %.1f", got, run.maxCornerP95)
	}
	twoD := r.CornerErrIn("qr_code", "data_matrix")
	if got := barcodetest.Percentile(twoD, 0.5); got > run.max2DCornerMedian {
		t.Errorf("2D codes: corner error median %.1f px, ceiling %.1f", got, run.max2DCornerMedian)
	}
	if got := barcodetest.Percentile(twoD, 0.95); got > run.max2DCornerP95 {
		t.Errorf("2D codes: corner error p95 %.1f px, ceiling %.1f", got, run.max2DCornerP95)
	}
	if r.FalsePosPhotos > run.maxFalsePhotos {
		t.Errorf("%d photos without codes had detections, ceiling %d", r.FalsePosPhotos, run.maxFalsePhotos)
	}
	if got := float64(r.NotInView) / float64(r.Matched); got > run.maxNotInViewFrac {
		t.Errorf("%d detections carried a value not on view (%.1f%% of matched), ceiling %.1f%%", r.NotInView, 100*got, 100*run.maxNotInViewFrac)
	}
}

// playClip writes clip frames [from, to) (with lead and tail) to a Y4M
// file, plays it through the binary at its defaults and returns each clip
// frame's detections, keyed by clip frame index.
func playClip(t *testing.T, clip *barcodetest.Clip, from, to int) map[int][]barcodetest.Seen {
	t.Helper()
	t0 := time.Now()
	path := filepath.Join(t.TempDir(), "clip.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := clip.WriteY4MPadded(bw, from, to, videoLead, videoTail); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// 1.4 MB a frame: gone as soon as the service is done with it.
	defer os.Remove(path)

	total := videoLead + to - from + videoTail // stream frame k is clip frame from-videoLead+k
	t.Logf("clip frames %d..%d written (%d stream frames) in %v", from, to-1, total, time.Since(t0).Round(time.Millisecond))
	s := start(t, nil, nil, "--input", path)
	ev := collectDetections(t, s)
	// Anchor: the Y4M frame k has source time floor(k*1e6/30) µs, and the
	// service adds one offset when the input starts. Snapshots tell it:
	// their X-Frame-Timestamp, and the frame they show, by the background
	// marker (k mod 256) next to /api/stats' count of input frames.
	var offsets []int64
	type snap struct {
		img *image.RGBA
		n   int // clip frame shown, by the marker
	}
	var snaps []snap
	var last stats
	deadline := time.Now().Add(time.Duration(total)*time.Second/30 + 30*time.Second)
	nextSnap := time.Now().Add(700 * time.Millisecond)
	for {
		select {
		case <-s.exited:
		default:
			if time.Now().After(deadline) {
				t.Fatalf("the input did not end within %v of its length", 30*time.Second)
			}
			time.Sleep(100 * time.Millisecond)
			st, err := statsOrErr(s)
			if err != nil {
				continue
			}
			last = st
			if time.Now().After(nextSnap) && st.Frames.In > 0 && int(st.Frames.In+st.Drops["queue"]) < total-15 {
				nextSnap = time.Now().Add(1500 * time.Millisecond)
				img, ts, err := snapshotTS(s)
				if err != nil {
					continue
				}
				c := patch(img, 12, 12)
				m := barcodetest.MarkerFromRGB(c[0], c[1], c[2])
				// The frame shown is at or after the last one read from the
				// input by the time of the count just before (composited
				// plus dropped from the queue), with some slack for counts
				// taken between frames. The marker is the clip frame's
				// (Y4M frame k shows clip frame k-videoLead): the clip frame
				// ≡ m (mod 256) nearest above the estimate.
				est := from - videoLead + int(st.Frames.In+st.Drops["queue"]) - 1 - 32
				n := est + ((m-est)%256+256)%256
				k := n - from + videoLead
				// Y4M frame k's source time is the clip's Timestamp(k): the
				// same rate from 0.
				offsets = append(offsets, ts-clip.Timestamp(k))
				snaps = append(snaps, snap{img, n})
			}
			continue
		}
		break
	}
	if s.err != nil {
		t.Fatalf("shadercast exited with %v\n%s", s.err, s.stderr)
	}
	t.Logf("load average %s; service: %d input frames of %d, %d out, %d repeated, drops %v", loadAverage(), last.Frames.In, total, last.Frames.Out, last.Frames.Repeated, last.Drops)
	tm := newTimeMap(t, offsets, float64(clip.FPS), clip.Timestamp)
	// Cross-check the marker with the picture: the clip frame that looks
	// most like each snapshot (highlights drawn on it aside) should be the
	// one the marker named. At the still points of a motion neighbours
	// look alike, so this is reported, not required.
	fr := clip.NewFrame()
	agreed := 0
	for _, sn := range snaps {
		best, bestD := 0, math.Inf(1)
		for n := sn.n - 2; n <= sn.n+2; n++ {
			if n < from || n >= to {
				clip.RenderBlank(n, fr)
			} else {
				clip.Render(n, fr)
			}
			if d := meanAbsDiff(sn.img, fr.RGBA()); d < bestD {
				best, bestD = n, d
			}
		}
		if best == sn.n {
			agreed++
		}
	}
	dets := map[int][]barcodetest.Seen{}
	unmapped := 0
	for _, e := range ev.all() {
		k, ok := tm.frame(e.Timestamp)
		if !ok {
			unmapped++
			continue
		}
		n := from - videoLead + k
		if n < from || n >= to {
			continue
		}
		dets[n] = seenOf(e)
	}
	t.Logf("anchor: snapshot offsets %v µs; the picture agrees with the marker in %d of %d snapshots; %d events fit no offset (repeated frames)",
		offsets, agreed, len(snaps), unmapped)
	return dets
}

// seenOf reduces an event's barcodes to what scoring uses.
func seenOf(e detections) []barcodetest.Seen {
	out := make([]barcodetest.Seen, 0, len(e.Barcodes))
	for _, b := range e.Barcodes {
		s := barcodetest.Seen{Format: b.Format, RawValue: b.RawValue}
		for k := 0; k < 4 && k < len(b.CornerPoints); k++ {
			s.Corners[k] = [2]float64{b.CornerPoints[k].X, b.CornerPoints[k].Y}
		}
		out = append(out, s)
	}
	return out
}

// timeMap maps output timestamps back to input frames. The service adds
// one offset to an input's timestamps, chosen at its first frame and moved
// forward when the input stalls and repeated frames got ahead of it. Each
// snapshot tells the offset in force at its time; an event's frame is then
// the one whose source time plus one of these offsets is exactly the
// event's timestamp (offsets differ in their microseconds, so one fits).
// Events that fit none are repeated frames (or come after a shift no
// snapshot saw): they are left out and counted.
type timeMap struct {
	offsets []int64           // distinct, as the snapshots found them
	frameTS func(k int) int64 // source time of input frame k
	fps     float64
}

func newTimeMap(t *testing.T, offsets []int64, fps float64, frameTS func(int) int64) *timeMap {
	t.Helper()
	if len(offsets) == 0 {
		t.Fatal("no snapshot anchored the input's timestamps")
	}
	m := &timeMap{frameTS: frameTS, fps: fps}
	count := map[int64]int{}
	for _, o := range offsets {
		if count[o] == 0 {
			m.offsets = append(m.offsets, o)
		}
		count[o]++
	}
	// A snapshot whose frame was misidentified by one gives an offset one
	// frame off, which fits the same events one frame off: the offsets
	// more snapshots agree on are tried first.
	sort.SliceStable(m.offsets, func(i, j int) bool { return count[m.offsets[i]] > count[m.offsets[j]] })
	return m
}

// loadAverage is /proc/loadavg's first three fields ("" elsewhere): the
// figures depend on what else the machine is doing.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// frame returns the input frame an output timestamp shows.
func (m *timeMap) frame(ts int64) (int, bool) {
	for _, o := range m.offsets {
		k := int(math.Round(float64(ts-o) * m.fps / 1e6))
		if k >= 0 && m.frameTS(k)+o == ts {
			return k, true
		}
	}
	return 0, false
}

// detectFrames runs `shadercast detect` on the middle frame of each
// photo's time in the clip: what the stills path reads on the identical
// picture. (One frame per photo keeps the test short; the service gets
// every frame, so the comparison, if anything, favours the service.)
func detectFrames(t *testing.T, clip *barcodetest.Clip) map[int][]barcodetest.Seen {
	t.Helper()
	dir := t.TempDir()
	var files []string
	byFile := map[string]int{}
	fr := clip.NewFrame()
	for _, s := range clip.Segments {
		for _, n := range []int{(s.Start + s.End) / 2} {
			clip.Render(n, fr)
			p := filepath.Join(dir, fmt.Sprintf("%05d.png", n))
			w, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, fr.RGBA()); err != nil {
				t.Fatal(err)
			}
			w.Close()
			files = append(files, p)
			byFile[p] = n
		}
	}
	out, err := exec.Command(binary, append([]string{"detect", "--json"}, files...)...).Output()
	if err != nil {
		t.Fatalf("shadercast detect: %v", err)
	}
	ref := map[int][]barcodetest.Seen{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var res struct {
			File string `json:"file"`
			detections
		}
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("detect --json: %v: %s", err, line)
		}
		n, ok := byFile[res.File]
		if !ok {
			t.Fatalf("detect --json: unknown file %q", res.File)
		}
		ref[n] = seenOf(res.detections)
	}
	if len(ref) != len(files) {
		t.Fatalf("detect answered for %d of %d frames", len(ref), len(files))
	}
	return ref
}

// detectionLog keeps every "detections" event of one SSE stream (the
// harness's sseClient keeps the last few hundred; scoring needs them all).
// A run is finite, and maxEvents bounds it anyway.
type detectionLog struct {
	mu     sync.Mutex
	events []detections
	done   chan struct{}
}

const maxEvents = 200000

func collectDetections(t *testing.T, s *service) *detectionLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET /api/events: %d", resp.StatusCode)
	}
	l := &detectionLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == "detections":
				var d detections
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d) == nil {
					l.mu.Lock()
					if len(l.events) < maxEvents {
						l.events = append(l.events, d)
					}
					l.mu.Unlock()
				}
			case line == "":
				name = ""
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-l.done })
	return l
}

// all returns the events received so far.
func (l *detectionLog) all() []detections {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]detections(nil), l.events...)
}

// statsOrErr reads /api/stats, or says why not (the service may be
// stopping at the end of its input).
func statsOrErr(s *service) (stats, error) {
	var st stats
	resp, err := http.Get(s.URL + "api/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("/api/stats: %d", resp.StatusCode)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// snapshotTS fetches /api/snapshot.png with the timestamp of the frame it
// shows.
func snapshotTS(s *service) (*image.RGBA, int64, error) {
	resp, err := http.Get(s.URL + "api/snapshot.png")
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("snapshot: %d", resp.StatusCode)
	}
	ts, err := strconv.ParseInt(resp.Header.Get("X-Frame-Timestamp"), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot timestamp: %v", err)
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
	return rgba, ts, nil
}

// TestBarcodeTestScene checks every frame's detections of the default test
// scene against the exact corners testsrc draws (Barcodes(frame)). Events
// map to frames by timestamp, anchored by snapshots: the frame a snapshot
// shows is found by rendering the candidates (the clock and frame counter
// differ in every frame).
func TestBarcodeTestScene(t *testing.T) {
	src, err := testsrc.NewSource(1280, 720, 30, testsrc.SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pat := src.Pattern()
	s := start(t, nil, nil)
	ev := collectDetections(t, s)
	var offsets []int64
	var last stats
	ref := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := 0; i < 3; i++ {
		time.Sleep(1200 * time.Millisecond)
		st, err := statsOrErr(s)
		if err != nil {
			t.Fatal(err)
		}
		img, ts, err := snapshotTS(s)
		if err != nil {
			t.Fatal(err)
		}
		last = st
		// Composited or dropped from the queue: the frames read so far;
		// the one shown is among the next few.
		read := int(st.Frames.In + st.Drops["queue"])
		best, bestD := -1, math.Inf(1)
		for k := max(0, read-5); k < read+40; k++ {
			pat.Render(k, ref)
			if d := meanAbsDiff(img, ref); d < bestD {
				best, bestD = k, d
			}
		}
		offsets = append(offsets, ts-src.FrameTimestamp(best))
	}
	s.stop(t)
	tm := newTimeMap(t, offsets, 30, src.FrameTimestamp)
	per := map[string][]float64{}
	var all []float64
	frames, readFrames := 0, map[string]int{}
	type worstCase struct {
		err       float64
		frame     int
		got, want [4][2]float64
	}
	worst := map[string]worstCase{}
	other, unmapped := 0, 0
	for _, e := range ev.all() {
		i, ok := tm.frame(e.Timestamp)
		if !ok {
			unmapped++
			continue
		}
		frames++
		truth := pat.Barcodes(i)
		for _, d := range seenOf(e) {
			found := false
			for _, p := range truth {
				if d.RawValue == p.Value && d.Format == p.Format {
					var want [4][2]float64
					for k, c := range p.Corners {
						want[k] = [2]float64{c.X, c.Y}
					}
					ce := barcodetest.CornerError(d.Corners, want)
					if w, ok := worst[p.Format]; !ok || ce > w.err {
						worst[p.Format] = worstCase{ce, i, d.Corners, want}
					}
					per[p.Format] = append(per[p.Format], ce)
					all = append(all, ce)
					readFrames[p.Format]++
					found = true
				}
			}
			if !found {
				other++
			}
		}
	}
	t.Logf("load average %s; test scene: %d frames with events, %d events fitting no offset (by the last snapshot %d frames in, %d out, drops %v; offsets %v µs), %d detections not matching a drawn code",
		loadAverage(), frames, unmapped, last.Frames.In, last.Frames.Out, last.Drops, offsets, other)
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		xs := per[n]
		w := worst[n]
		t.Logf("  %-9s read in %d frames; corner error median %.1f, mean %.1f, p95 %.1f, max %.1f px (frame %d: %.0f, want %.0f)", n, readFrames[n],
			barcodetest.Percentile(xs, 0.5), barcodetest.Mean(xs), barcodetest.Percentile(xs, 0.95), w.err, w.frame, w.got, w.want)
	}
	t.Logf("  all       corner error median %.1f, mean %.1f, p95 %.1f px", barcodetest.Percentile(all, 0.5), barcodetest.Mean(all), barcodetest.Percentile(all, 0.95))
	if len(all) == 0 {
		t.Fatal("no detection matched the test scene's codes")
	}
	if len(names) != 3 {
		t.Errorf("codes read: %v, want the scene's three", names)
	}
	// Floors: today's level with a margin (docs/PERFORMANCE.md); the
	// issue's target is ≤ 3 px median and ≤ 8 px p95 in every frame. The
	// p95 ceiling is loose because some runs have frames where the linear
	// codes' boxes come out turned by about 5° (70 px at the far corner of
	// the Code 128), which the median does not see.
	const maxMedian, maxP95 = 5.0, 40.0
	if got := barcodetest.Percentile(all, 0.5); got > maxMedian {
		t.Errorf("test scene corner error median %.1f px, ceiling %.1f", got, maxMedian)
	}
	if got := barcodetest.Percentile(all, 0.95); got > maxP95 {
		t.Errorf("test scene corner error p95 %.1f px, ceiling %.1f", got, maxP95)
	}
	if other > 0 {
		t.Errorf("%d detections matched none of the scene's codes", other)
	}
}

// meanAbsDiff compares two same-size RGBA images on a sparse grid.
func meanAbsDiff(a, b *image.RGBA) float64 {
	var d float64
	n := 0
	for y := 1; y < a.Rect.Dy(); y += 3 {
		for x := 1; x < a.Rect.Dx(); x += 3 {
			oa, ob := y*a.Stride+4*x, y*b.Stride+4*x
			for c := 0; c < 3; c++ {
				d += math.Abs(float64(a.Pix[oa+c]) - float64(b.Pix[ob+c]))
			}
			n++
		}
	}
	return d / float64(n)
}

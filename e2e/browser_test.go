package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/chromium"
)

// TestBrowserCameraToViewer is the seed example end to end: headless
// Chromium publishes a "camera" (a Y4M clip of a real barcode photo from
// ../shared/testdata, through Chromium's fake capture device) to /whip;
// shadercast decodes it, finds and reads the barcode on the GPU pipeline and
// highlights it; a second Chromium page views / over WHEP and shows the
// highlighted barcode and its decoded value.
func TestBrowserCameraToViewer(t *testing.T) {
	const photo, want = "../../shared/testdata/barcodes/ean13-2/08.png", "9780345348036"
	clip := filepath.Join(t.TempDir(), "camera.y4m")
	ff := exec.Command("ffmpeg", "-v", "error", "-loop", "1", "-i", photo, "-t", "3", "-r", "30",
		"-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:(oh-ih)/2,format=yuv420p", "-f", "yuv4mpegpipe", clip)
	if out, err := ff.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (install with scripts/install-deps): %v\n%s", err, out)
	}

	s := start(t, nil, nil, "--input", "whip")
	br := chromium.Launch(t, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		"--use-file-for-fake-video-capture="+clip)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pub, err := br.OpenPage(ctx, s.URL+"publish.html?autostart=1")
	if err != nil {
		t.Fatalf("publisher page: %v\n%s", err, br.Diagnostics())
	}
	view, err := br.OpenPage(ctx, s.URL)
	if err != nil {
		t.Fatalf("viewer page: %v\n%s", err, br.Diagnostics())
	}

	type decoded struct{ Format, RawValue string }
	var state struct {
		Publisher string
		Frames    int
		Decoded   []decoded
		ScanLog   []struct {
			TrackID          int64
			Format, RawValue string
			InView           bool
		}
		Corners []struct{ X, Y float64 }
		W, H    int
	}
	const probe = `(() => {
		const p = window.shadercastPublisher, v = window.shadercast;
		const d = v && v.detections && v.detections.barcodes || [];
		const b = d.find((x) => x.rawValue);
		return {Publisher: p ? p.state : '', Frames: v ? v.framesRendered : 0,
			Decoded: v && v.decoded || [], ScanLog: (v && v.scanLog || []).map((e) => ({TrackID: e.trackId || 0, Format: e.format, RawValue: e.rawValue, InView: !!e.inView})), Corners: b ? b.cornerPoints : [], W: v ? v.width : 0, H: v ? v.height : 0};
	})()`
	deadline := time.Now().Add(60 * time.Second)
	found := false
	for time.Now().Before(deadline) && !found {
		time.Sleep(500 * time.Millisecond)
		var raw map[string]any
		if err := pub.Eval(ctx, probe, &raw); err != nil {
			continue
		}
		if err := view.Eval(ctx, probe, &state); err != nil {
			continue
		}
		state.Publisher = fmt.Sprint(raw["Publisher"])
		for _, d := range state.Decoded {
			if d.RawValue == want && d.Format == "ean_13" {
				found = len(state.Corners) == 4 && state.Frames > 10
			}
		}
	}
	if !found {
		var st stats
		s.getJSON(t, "api/stats", "", &st)
		t.Fatalf("viewer did not show %q: %+v\nservice stats: %+v\n%s\nservice log:\n%s", want, state, st, br.Diagnostics(), s.stderr)
	}
	// The page's scan log lists the code once, in view, with its track.
	logged := 0
	for _, e := range state.ScanLog {
		if e.RawValue == want {
			logged++
			if !e.InView || e.TrackID == 0 || e.Format != "ean_13" {
				t.Errorf("scan log entry %+v: want ean_13 in view with a track id", e)
			}
		}
	}
	if logged != 1 {
		t.Errorf("the scan log lists %q %d times, want once: %+v", want, logged, state.ScanLog)
	}
	if state.Publisher != "connected" {
		t.Errorf("publisher page state %q", state.Publisher)
	}
	if state.W != 1280 || state.H != 720 {
		t.Errorf("viewer plays %dx%d, want 1280x720", state.W, state.H)
	}
	var st stats
	s.getJSON(t, "api/stats", "", &st)
	if !strings.HasPrefix(st.Input.Active, "whip:") {
		t.Errorf("input on air %q, want the WHIP publisher", st.Input.Active)
	}

	// The highlight is in the picture the browser shows: the outline runs
	// along the reported edges. Sample small patches at edge midpoints.
	// The corners are the latest event's and the picture is the frame on
	// screen, a moment apart; a 1D code's box spans the lines that read,
	// whose extent changes from frame to frame of a camera (21 to 311 px
	// tall here). So the corners are taken afresh for each of a few tries,
	// and one try must find the outline on 3 of the 4 edges.
	greenEdges := 0
	for try := 0; try < 8 && greenEdges < 3; try++ {
		if try > 0 {
			time.Sleep(250 * time.Millisecond)
			if err := view.Eval(ctx, probe, &state); err != nil || len(state.Corners) != 4 {
				continue
			}
		}
		greenEdges = 0
		for i := range state.Corners {
			a, b := state.Corners[i], state.Corners[(i+1)%4]
			x, y := int((a.X+b.X)/2)-2, int((a.Y+b.Y)/2)-2
			var c struct{ R, G, B float64 }
			if err := view.Eval(ctx, fmt.Sprintf(`window.shadercast.samplePatch(%d, %d, 5, 5)`, x, y), &c); err != nil {
				t.Fatal(err)
			}
			if c.G > c.R+40 && c.G > c.B+30 {
				greenEdges++
			} else {
				t.Logf("try %d, edge %d at (%d,%d): rgb %.0f %.0f %.0f", try, i, x, y, c.R, c.G, c.B)
			}
		}
	}
	if greenEdges < 3 {
		t.Errorf("highlight green on %d of 4 edges of the reported barcode (corners %v)", greenEdges, state.Corners)
	}
}

// TestBrowserH264: Chromium forced to H.264 both ways (its pages'
// ?codec=h264, which orders the codecs with setCodecPreferences):
// publish.html sends its camera (a clip with a barcode) as H.264, which
// shadercast decodes; the viewer page receives H.264 and plays the
// composited 1280x720 picture with the code read from it.
func TestBrowserH264(t *testing.T) {
	const photo, want = "../../shared/testdata/barcodes/ean13-2/08.png", "9780345348036"
	clip := filepath.Join(t.TempDir(), "camera.y4m")
	ff := exec.Command("ffmpeg", "-v", "error", "-loop", "1", "-i", photo, "-t", "3", "-r", "30",
		"-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:(oh-ih)/2,format=yuv420p", "-f", "yuv4mpegpipe", clip)
	if out, err := ff.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (install with scripts/install-deps): %v\n%s", err, out)
	}
	s := start(t, nil, nil, "--input", "whip")
	br := chromium.Launch(t, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		"--use-file-for-fake-video-capture="+clip)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pub, err := br.OpenPage(ctx, s.URL+"publish.html?autostart=1&codec=h264")
	if err != nil {
		t.Fatalf("publisher page: %v\n%s", err, br.Diagnostics())
	}
	view, err := br.OpenPage(ctx, s.URL+"?codec=h264")
	if err != nil {
		t.Fatalf("viewer page: %v\n%s", err, br.Diagnostics())
	}
	var got struct {
		PubCodec, ViewCodec string
		Frames, W, H        int
		Read                bool
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		var p struct{ Codec string }
		if pub.Eval(ctx, `({Codec: (window.shadercastPublisher || {}).codec || ''})`, &p) != nil {
			continue
		}
		var v struct {
			Codec        string
			Frames, W, H int
			Read         bool
		}
		if view.Eval(ctx, fmt.Sprintf(`(() => { const v = window.shadercast || {};
			return {Codec: v.codec || '', Frames: v.framesRendered || 0, W: v.width || 0, H: v.height || 0,
				Read: (v.decoded || []).some((d) => d.rawValue === %q)}; })()`, want), &v) != nil {
			continue
		}
		got.PubCodec, got.ViewCodec, got.Frames, got.W, got.H, got.Read = p.Codec, v.Codec, v.Frames, v.W, v.H, v.Read
		if got.Read && got.Frames > 30 && got.PubCodec != "" && got.ViewCodec != "" {
			break
		}
	}
	if !strings.EqualFold(got.PubCodec, "video/H264") || !strings.EqualFold(got.ViewCodec, "video/H264") {
		t.Errorf("the publisher sent %q, the viewer received %q: want H.264 both ways\n%s", got.PubCodec, got.ViewCodec, br.Diagnostics())
	}
	if !got.Read || got.Frames <= 30 || got.W != 1280 || got.H != 720 {
		t.Errorf("viewer: %+v, want the code %s read from a 1280x720 picture\nservice log:\n%s", got, want, s.stderr)
	}
	var st struct {
		Ingest []struct {
			VideoCodec string `json:"videoCodec"`
		} `json:"whipIngest"`
		H264 struct {
			Samples uint64 `json:"samples"`
		} `json:"h264"`
	}
	s.getJSON(t, "api/stats", "", &st)
	if len(st.Ingest) != 1 || st.Ingest[0].VideoCodec != "video/H264" || st.H264.Samples == 0 {
		t.Errorf("service stats: %+v", st)
	}

	// The rendition menu (the WHEP layer extension): the 180p rung, then
	// the server's choice again; Chromium follows the H.264 ladder's
	// switches at keyframes.
	layerSize := func(choice string, w, h int) {
		t.Helper()
		var done bool
		if err := view.Eval(ctx, fmt.Sprintf(`(() => { const s = document.getElementById('layer');
			s.value = %q; s.dispatchEvent(new Event('change')); return true; })()`, choice), &done); err != nil {
			t.Fatalf("choosing %q: %v", choice, err)
		}
		var v struct {
			W, H int
			Mode string
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && (v.W != w || v.H != h) {
			time.Sleep(300 * time.Millisecond)
			view.Eval(ctx, `(() => { const v = window.shadercast || {};
				return {W: v.width || 0, H: v.height || 0, Mode: (v.layers || {}).mode || ''}; })()`, &v)
		}
		if v.W != w || v.H != h {
			t.Errorf("rendition %q: the viewer shows %dx%d, want %dx%d\n%s", choice, v.W, v.H, w, h, br.Diagnostics())
		}
	}
	layerSize("180p", 320, 180)
	layerSize("", 1280, 720)
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/chromium"
)

// solidY4M writes a second of one BT.601 limited-range colour at 30 fps as
// a Y4M clip, a Chromium fake camera's picture.
func solidY4M(t *testing.T, path string, w, h int, y, u, v byte) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n", w, h)
	for range 30 {
		b.WriteString("FRAME\n")
		b.Write(bytes.Repeat([]byte{y}, w*h))
		b.Write(bytes.Repeat([]byte{u}, w*h/4))
		b.Write(bytes.Repeat([]byte{v}, w*h/4))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserScenesCameras: two Chromium cameras with different fake
// videos (red and blue) publish to /whip/a and /whip/b, whip sources of a
// scene that puts them side by side; a Chromium viewer of the programme
// shows each in its place.
func TestBrowserScenesCameras(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 640, "height": 360, "fps": 30},
 "sources": {"a": {"type": "whip"}, "b": {"type": "whip"}},
 "scenes": {"side": {"layers": [{"source": "a", "rect": [0, 0, 320, 360], "fit": "cover"},
                                {"source": "b", "rect": [320, 0, 320, 360], "fit": "cover"}]}},
 "program": "side"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	red, blue := filepath.Join(dir, "red.y4m"), filepath.Join(dir, "blue.y4m")
	solidY4M(t, red, 640, 360, 81, 90, 240)
	solidY4M(t, blue, 640, 360, 41, 240, 110)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var pages []*chromium.Page
	var browsers []*chromium.Browser
	for _, cam := range []struct{ name, clip string }{{"a", red}, {"b", blue}} {
		br := chromium.Launch(t, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
			"--use-file-for-fake-video-capture="+cam.clip)
		p, err := br.OpenPage(ctx, s.URL+"publish.html?autostart=1&audio=0&whip=./whip/"+cam.name)
		if err != nil {
			t.Fatalf("publisher %s: %v\n%s", cam.name, err, br.Diagnostics())
		}
		pages, browsers = append(pages, p), append(browsers, br)
	}
	view, err := browsers[0].OpenPage(ctx, s.URL)
	if err != nil {
		t.Fatalf("viewer page: %v\n%s", err, browsers[0].Diagnostics())
	}
	// The viewer's picture, sampled at the middle of each half.
	const probe = `(() => {
		const v = document.querySelector('video');
		if (!v || !v.videoWidth) return [];
		const c = document.createElement('canvas');
		c.width = v.videoWidth; c.height = v.videoHeight;
		const g = c.getContext('2d');
		g.drawImage(v, 0, 0);
		const at = (x, y) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3));
		return [...at(c.width / 4, c.height / 2), ...at(3 * c.width / 4, c.height / 2)];
	})()`
	near := func(got []float64, want [3]float64) bool {
		for k := range want {
			if math.Abs(got[k]-want[k]) > 40 {
				return false
			}
		}
		return true
	}
	var got []float64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		if err := view.Eval(ctx, probe, &got); err != nil || len(got) != 6 {
			continue
		}
		if near(got[:3], [3]float64{255, 0, 0}) && near(got[3:], [3]float64{0, 0, 255}) {
			return
		}
	}
	var states [2]string
	for i, p := range pages {
		p.Eval(ctx, `window.shadercastPublisher ? window.shadercastPublisher.state : ''`, &states[i])
	}
	t.Fatalf("the viewer shows %v (left, right), want red beside blue; publishers %v\n%s", got, states, s.stderr)
}

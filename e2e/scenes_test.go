package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/chromium"
	"github.com/shadercast/shadercast/internal/codetest"
	"github.com/shadercast/shadercast/internal/rtctest"
)

// TestScenesComposeSources: a scenes file with a colour background, a
// still image shown twice (contained in a square, and stretched at half
// opacity) and an image source that cannot be opened. The snapshot shows
// each source where its layers put it, the letterbox shows the layer
// below, the failing source's layer shows a slate while the rest goes on,
// and /api/scenes says which source failed and why.
func TestScenesComposeSources(t *testing.T) {
	dir := t.TempDir()
	// 200x100: green left half, blue right half.
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			c := color.RGBA{0, 200, 0, 255}
			if x >= 100 {
				c = color.RGBA{0, 0, 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	pic := filepath.Join(dir, "pic.png")
	writePNG(t, pic, img)
	file := filepath.Join(dir, "scenes.json")
	desc := fmt.Sprintf(`{"canvas": {"width": 640, "height": 360, "fps": 15},
 "sources": {"bg": {"type": "color", "color": "#402010"},
             "pic": {"type": "image", "path": %q},
             "gone": {"type": "image", "path": %q},
             "title": {"type": "text", "text": "OK {{clock}}", "size": 40, "width": 300, "height": 60}},
 "scenes": {"main": {"layers": [
   {"source": "bg"},
   {"source": "pic", "rect": [40, 40, 200, 200], "fit": "contain"},
   {"source": "gone", "rect": [300, 40, 100, 100]},
   {"source": "pic", "rect": [400, 200, 200, 100], "fit": "stretch", "opacity": 0.5},
   {"source": "title", "rect": [20, 280, 300, 60]}]}},
 "program": "main"}`, pic, filepath.Join(dir, "missing.png"))
	if err := os.WriteFile(file, []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	bg := [3]float64{0x40, 0x20, 0x10}
	green, blue := [3]float64{0, 200, 0}, [3]float64{0, 0, 220}
	half := [3]float64{(green[0] + bg[0]) / 2, (green[1] + bg[1]) / 2, (green[2] + bg[2]) / 2}
	checks := []struct {
		what string
		x, y int
		want [3]float64
	}{
		{"contained image, left half", 90, 140, green},
		{"contained image, right half", 190, 140, blue},
		{"letterbox above the contained image", 140, 60, bg},
		// A canvas-size slate contained in the 100x100 layer, from 3 s on.
		{"the failing source's slate", 310, 70, [3]float64{24, 24, 32}},
		{"stretched image at half opacity", 450, 250, half},
		{"outside every layer but the background", 600, 20, bg},
	}
	eventually(t, 20*time.Second, "a first composed frame", func() bool {
		code, _ := s.request(t, "GET", "api/snapshot.png", "", "", "")
		return code == 200
	})
	var last string
	eventually(t, 20*time.Second, "the composed picture", func() bool {
		snap := s.snapshot(t, "")
		if snap.Bounds().Dx() != 640 || snap.Bounds().Dy() != 360 {
			last = fmt.Sprintf("snapshot %v", snap.Bounds())
			return false
		}
		// The title's white ink over the brown background.
		ink := 0
		for y := 280; y < 340; y++ {
			for x := 20; x < 320; x++ {
				r, g, b, _ := snap.At(x, y).RGBA()
				if r>>8 > 200 && g>>8 > 200 && b>>8 > 200 {
					ink++
				}
			}
		}
		if ink < 100 {
			last = fmt.Sprintf("the title: %d white pixels", ink)
			return false
		}
		for _, c := range checks {
			got := patch(snap, c.x, c.y)
			for k := range got {
				if math.Abs(got[k]-c.want[k]) > 16 {
					last = fmt.Sprintf("%s at (%d, %d): %.0f, want %.0f", c.what, c.x, c.y, got, c.want)
					return false
				}
			}
		}
		return true
	})
	if t.Failed() {
		t.Log(last)
		return
	}
	var v struct {
		Program      string `json:"program"`
		SourceStates map[string]struct {
			State     string `json:"state"`
			Frames    uint64 `json:"frames"`
			LastError string `json:"lastError"`
		} `json:"sourceStates"`
	}
	if code := s.getJSON(t, "api/scenes", "", &v); code != 200 {
		t.Fatalf("GET /api/scenes: %d", code)
	}
	st := v.SourceStates
	if v.Program != "main" || st["bg"].State != "live" || st["pic"].State != "live" || st["pic"].Frames == 0 || st["title"].State != "live" {
		t.Errorf("/api/scenes: %+v", v)
	}
	if st["gone"].State != "failed" || !strings.Contains(st["gone"].LastError, "missing.png") {
		t.Errorf("the missing image's source: %+v", st["gone"])
	}
}

// TestScenesFileRefused: a scenes file with a mistake stops the service
// at start with the mistake's line and path, and one it cannot compose yet
// is named as such.
func TestScenesFileRefused(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ text, want string }{
		"typo": {`{"sources": {"a": {"type": "testsrc"}},
 "scenes": {"main": {"layers": [
   {"source": "a", "opactiy": 0.5}]}},
 "program": "main"}`, `line 3: scenes.main.layers[0].opactiy: unknown key "opactiy"`},
		"unknown source": {`{"sources": {"a": {"type": "testsrc"}},
 "scenes": {"main": {"layers": [{"source": "a"},
   {"source": "b"}]}},
 "program": "main"}`, `line 3: scenes.main.layers[1].source: no source "b"`},
		"a cycle": {`{"sources": {"bg": {"type": "color", "color": "#000"}, "pip": {"type": "scene", "scene": "main"}},
 "scenes": {"main": {"layers": [{"source": "bg"}, {"source": "pip"}]}},
 "program": "main"}`, `cycle`},
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(file, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(binary, "--scenes", file, "--listen", "127.0.0.1:0").CombinedOutput()
		if err == nil {
			t.Errorf("%s: the service started", name)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%s: output lacks %q:\n%s", name, c.want, out)
		}
	}
}

// TestScenesReload: the scenes file changed while the service runs. A
// version with a mistake changes nothing: the picture stays, the error
// with its line is announced (SSE scenes-error), shown by /api/scenes and
// counted; a good version then replaces the programme, and a source it
// keeps as it was goes on without reopening.
func TestScenesReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "scenes.json")
	write := func(text string) {
		t.Helper()
		// Through a new file renamed over the old, as editors save.
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	version := func(colour string) string {
		return fmt.Sprintf(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"bg": {"type": "color", "color": %q}, "pattern": {"type": "testsrc", "width": 320, "height": 180}},
 "scenes": {"main": {"layers": [{"source": "bg"}, {"source": "pattern", "rect": [0, 0, 0.25, 0.25]}]}},
 "program": "main"}`, colour)
	}
	write(version("#c02020"))
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	sse := subscribe(t, s, "")
	colour := func(want [3]float64) func() bool { return colourIs(t, s, 240, 130, want) }
	eventually(t, 20*time.Second, "the first version's red", colour([3]float64{0xc0, 0x20, 0x20}))
	var before struct {
		SourceStates map[string]struct{ Frames uint64 } `json:"sourceStates"`
	}
	s.getJSON(t, "api/scenes", "", &before)

	// A typo on line 3.
	write(strings.Replace(version("#2040c0"), `{"source": "bg"}`, `{"source": "bg", "opactiy": 1}`, 1))
	eventually(t, 10*time.Second, "the bad version's error", func() bool { return sse.count("scenes-error") > 0 })
	if e := sse.last("scenes-error"); !strings.Contains(e, "line 3") || !strings.Contains(e, "opactiy") {
		t.Errorf("scenes-error event: %s", e)
	}
	var v struct {
		ReloadError string `json:"reloadError"`
	}
	s.getJSON(t, "api/scenes", "", &v)
	if !strings.Contains(v.ReloadError, `unknown key "opactiy"`) {
		t.Errorf("/api/scenes reloadError %q", v.ReloadError)
	}
	time.Sleep(time.Second)
	if !colour([3]float64{0xc0, 0x20, 0x20})() {
		t.Error("a bad version changed the picture")
	}
	if _, m := s.request(t, "GET", "metrics", "", "", ""); !strings.Contains(m, "shadercast_scenes_errors_total 1") {
		t.Error("the bad version was not counted once")
	}

	// Fixed: blue, and the test source kept running.
	write(version("#2040c0"))
	eventually(t, 10*time.Second, "the good version's blue", colour([3]float64{0x20, 0x40, 0xc0}))
	var after struct {
		ReloadError  string                             `json:"reloadError"`
		SourceStates map[string]struct{ Frames uint64 } `json:"sourceStates"`
	}
	s.getJSON(t, "api/scenes", "", &after)
	if after.ReloadError != "" {
		t.Errorf("reloadError after a good version: %q", after.ReloadError)
	}
	if a, b := after.SourceStates["pattern"].Frames, before.SourceStates["pattern"].Frames; a <= b {
		t.Errorf("the kept test source has %d frames, %d before the change: it was reopened", a, b)
	}
}

// TestScenesActivate: POST /api/scenes/{name}/activate puts a scene on air
// (a cut), announced by SSE; an unknown scene, a transition not built yet
// and a bad body are refused and change nothing.
func TestScenesActivate(t *testing.T) {
	file := redBlueScenes(t)
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	sse := subscribe(t, s, "")
	colour := func(want [3]float64) func() bool { return colourIs(t, s, 160, 90, want) }
	red, blue := [3]float64{0xc0, 0x20, 0x20}, [3]float64{0x20, 0x40, 0xc0}
	eventually(t, 20*time.Second, "scene a (red)", colour(red))
	for _, c := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"api/scenes/nope/activate", "", 422, `no scene \"nope\"`},
		{"api/scenes/b/activate", `{"transition": "Swirl", "duration": 1.5}`, 422, `no transition \"Swirl\" (the transitions: dip, dissolve, wipe)`},
		{"api/scenes/b/activate", `{"transition": "invert"}`, 422, `no transition \"invert\"`},
		{"api/scenes/b/activate", `{"transition": "wipe", "inputs": {"angel": 90}}`, 422, `angel`},
		{"api/scenes/b/activate", `{"transition": "wipe", "inputs": {"progress": 1}}`, 422, `progress is the transition's own`},
		{"api/scenes/b/activate", `{"inputs": {"angle": 90}}`, 422, `a cut has none`},
		{"api/scenes/b/activate", `{"transition": "dissolve", "duration": 61}`, 422, `want 0 to 60 seconds`},
		{"api/scenes/b/activate", `{"transition": "cut", "durration": 1}`, 400, "unknown field"},
		{"api/scenes/b/switch", "", 404, "want /api/scenes/{name}/activate"},
	} {
		code, body := s.request(t, "POST", c.path, "", "application/json", c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("POST %s %s: %d %s, want %d with %q", c.path, c.body, code, body, c.code, c.want)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if !colour(red)() {
		t.Fatal("a refused request changed the picture")
	}
	if code, body := s.request(t, "POST", "api/scenes/b/activate", "", "application/json", `{"transition": "cut"}`); code != 200 {
		t.Fatalf("activate b: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "scene b (blue)", colour(blue))
	if e := sse.last("scenes"); !strings.Contains(e, `"program":"b"`) {
		t.Errorf("SSE scenes: %q", e)
	}
	var v struct {
		Program string `json:"program"`
	}
	s.getJSON(t, "api/scenes", "", &v)
	if v.Program != "b" {
		t.Errorf("/api/scenes program %q", v.Program)
	}
}

// TestScenesTransition: a switch through an ISF transition shows both
// scenes mixed while it runs (the dissolve: between red and blue, the
// programme already b, the progress in /api/scenes), then the new scene
// alone; SSE says which transition and how long. A wipe with its own
// input (top to bottom) shows the incoming scene above the outgoing one
// halfway through.
func TestScenesTransition(t *testing.T) {
	s := start(t, nil, nil, "--scenes", redBlueScenes(t), "--no-barcode")
	sse := subscribe(t, s, "")
	red, blue := [3]float64{0xc0, 0x20, 0x20}, [3]float64{0x20, 0x40, 0xc0}
	eventually(t, 20*time.Second, "scene a (red)", colourIs(t, s, 160, 90, red))
	if code, body := s.request(t, "POST", "api/scenes/b/activate", "", "application/json", `{"transition": "dissolve", "duration": 4}`); code != 200 {
		t.Fatalf("activate b: %d %s", code, body)
	}
	var v struct {
		Program     string   `json:"program"`
		Transitions []string `json:"transitions"`
		Transition  *struct {
			Name, From string
			Progress   float64
		} `json:"transition"`
	}
	mixed := false
	eventually(t, 10*time.Second, "a mixed picture while the transition runs", func() bool {
		s.getJSON(t, "api/scenes", "", &v)
		got := patch(s.snapshot(t, ""), 160, 90)
		// Halfway between red and blue in every channel, within reach.
		mixed = got[0] > 0x40 && got[0] < 0xa8 && got[2] > 0x38 && got[2] < 0xb0
		return mixed && v.Transition != nil
	})
	if v.Program != "b" || v.Transition.Name != "dissolve" || v.Transition.From != "a" || v.Transition.Progress <= 0 || v.Transition.Progress >= 1 {
		t.Errorf("/api/scenes during the transition: program %q, transition %+v", v.Program, v.Transition)
	}
	// A change that keeps the programme (a layer's gain) lets it go on.
	if code, body := s.request(t, "PATCH", "api/scenes", "", "application/merge-patch+json", `{"scenes": {"b": {"layers": [{"source": "blue", "gain": 0.5}]}}}`); code != 200 {
		t.Fatalf("PATCH during the transition: %d %s", code, body)
	}
	v.Transition = nil
	s.getJSON(t, "api/scenes", "", &v)
	if v.Transition == nil || v.Transition.Name != "dissolve" {
		t.Errorf("a PATCH keeping the programme ended the transition: %+v", v.Transition)
	}
	if strings.Join(v.Transitions, ",") != "dip,dissolve,wipe" {
		t.Errorf("transitions %v", v.Transitions)
	}
	if e := sse.last("scenes"); !strings.Contains(e, `"transition":"dissolve"`) || !strings.Contains(e, `"duration":4`) || !strings.Contains(e, `"from":"a"`) {
		t.Errorf("SSE scenes: %s", e)
	}
	eventually(t, 10*time.Second, "the transition's end", func() bool {
		v.Transition = nil // absent from the JSON: left as it was
		s.getJSON(t, "api/scenes", "", &v)
		return v.Transition == nil
	})
	eventually(t, 5*time.Second, "scene b alone (blue)", colourIs(t, s, 160, 90, blue))
	// A wipe from the top (angle 270: ISF's y points up), 6 s: partway,
	// the top of the frame is red (a, incoming) and the bottom still blue.
	if code, body := s.request(t, "POST", "api/scenes/a/activate", "", "application/json", `{"transition": "wipe", "duration": 6, "inputs": {"angle": 270, "softness": 0}}`); code != 200 {
		t.Fatalf("activate a: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the wipe's edge between top and bottom", func() bool {
		img := s.snapshot(t, "")
		top, bottom := patch(img, 160, 10), patch(img, 160, 170)
		near := func(got, want [3]float64) bool {
			return math.Abs(got[0]-want[0]) < 24 && math.Abs(got[2]-want[2]) < 24
		}
		return near(top, red) && near(bottom, blue)
	})
}

// TestBrowserScenes: the viewer page shows a button per scene, the one on
// air pressed; pressing another puts it on air, and a change made through
// the API shows on the page.
func TestBrowserScenes(t *testing.T) {
	file := redBlueScenes(t)
	s := start(t, []string{"SHADERCAST_CONTROL_TOKEN=ctl"}, nil, "--scenes", file, "--no-barcode")
	s.controlToken = "ctl"
	br := chromium.Launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := br.OpenPage(ctx, s.URL+"?control_token=ctl")
	if err != nil {
		t.Fatal(err)
	}
	pressed := func() map[string]string {
		var m map[string]string
		err := page.Eval(ctx, `(() => {
			const o = {};
			document.querySelectorAll('#scenes button[data-scene]').forEach((b) => { o[b.dataset.scene] = b.getAttribute('aria-pressed'); });
			return o;
		})()`, &m)
		if err != nil {
			return nil
		}
		return m
	}
	eventually(t, 20*time.Second, "scene buttons, a pressed", func() bool {
		m := pressed()
		return m["a"] == "true" && m["b"] == "false"
	})
	var ok bool
	if err := page.Eval(ctx, `(() => { document.querySelector('#scenes button[data-scene="b"]').click(); return true; })()`, &ok); err != nil {
		t.Fatalf("click: %v\n%s", err, br.Diagnostics())
	}
	eventually(t, 10*time.Second, "scene b on air through the button", func() bool {
		var v struct {
			Program string `json:"program"`
		}
		s.getJSON(t, "api/scenes", "ctl", &v)
		m := pressed()
		return v.Program == "b" && m["b"] == "true" && m["a"] == "false"
	})
	eventually(t, 10*time.Second, "the blue scene in the stream", func() bool {
		c := snapshotAt(t, s, 160, 90)
		return c.B > 150 && c.R < 80
	})
	// Through the API: the page follows (SSE scenes).
	if code, body := s.request(t, "POST", "api/scenes/a/activate", "ctl", "application/json", ""); code != 200 {
		t.Fatalf("activate a: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the page following an API change", func() bool {
		m := pressed()
		return m["a"] == "true" && m["b"] == "false"
	})
	// A transition chosen on the page: the switch is made through it.
	sse := subscribe(t, s, "ctl")
	js := `(() => {
		const sel = document.getElementById('scene-transition');
		const opts = [...sel.options].map((o) => o.value).join(',');
		sel.value = 'dip';
		sel.dispatchEvent(new Event('change'));
		const d = document.getElementById('scene-duration');
		d.value = '2.5';
		d.dispatchEvent(new Event('change'));
		document.querySelector('#scenes button[data-scene="b"]').click();
		return opts;
	})()`
	var opts string
	if err := page.Eval(ctx, js, &opts); err != nil {
		t.Fatalf("%v\n%s", err, br.Diagnostics())
	}
	if opts != "cut,dip,dissolve,wipe" {
		t.Errorf("transition choices %q", opts)
	}
	eventually(t, 10*time.Second, "the switch through the chosen transition", func() bool {
		e := sse.last("scenes")
		return strings.Contains(e, `"transition":"dip"`) && strings.Contains(e, `"duration":2.5`) && strings.Contains(e, `"program":"b"`)
	})
	// The layers on air: b's only layer moved to the left half on the page
	// leaves black on the right; hidden, black everywhere.
	eventually(t, 10*time.Second, "the placement controls of scene b", func() bool {
		var legend string
		page.Eval(ctx, `(() => { const l = document.querySelectorAll('#layers fieldset.layer > legend'); return l.length === 1 ? l[0].textContent : ''; })()`, &legend)
		return legend == "0: blue" // scene b's, not a's from before the switch
	})
	if err := page.Eval(ctx, `(() => { const w = document.querySelector('#layers fieldset.layer input[data-layer-key="rect2"]'); w.value = '160'; w.dispatchEvent(new Event('change')); return true; })()`, &ok); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "black right of the narrowed layer", func() bool {
		c, l := snapshotAt(t, s, 240, 90), snapshotAt(t, s, 80, 90)
		return c.R < 20 && c.G < 20 && c.B < 20 && l.B > 150
	})
	// Placed by dragging on the video: the layer (now the left half) moved
	// right by a quarter of the canvas, then resized from its corner; each
	// release sends the rect, in canvas pixels.
	eventually(t, 20*time.Second, "the video playing", func() bool {
		var w int
		page.Eval(ctx, `document.getElementById('video').videoWidth`, &w)
		return w > 0
	})
	drag := func(from, to [2]float64) {
		t.Helper()
		// Synthetic pointer events at canvas points, mapped to the screen
		// as the page maps them (the video letterboxed, object-fit:
		// contain).
		js := fmt.Sprintf(`(() => {
			const b = document.querySelector('#layers fieldset.layer button[data-layer-key="place"]');
			if (!b) return 'no drag button';
			b.click();
			if (document.getElementById('place-box').hidden) return 'no box shown';
			const v = document.getElementById('video'), r = v.getBoundingClientRect();
			const s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
			const k = s * v.videoWidth / 320;
			const ox = r.left + (r.width - v.videoWidth * s) / 2, oy = r.top + (r.height - v.videoHeight * s) / 2;
			const at = (x, y) => ({ clientX: ox + x * k, clientY: oy + y * k, pointerId: 7, bubbles: true });
			v.dispatchEvent(new PointerEvent('pointerdown', at(%g, %g)));
			v.dispatchEvent(new PointerEvent('pointermove', at(%g, %g)));
			v.dispatchEvent(new PointerEvent('pointerup', at(%g, %g)));
			return 'ok';
		})()`, from[0], from[1], to[0], to[1], to[0], to[1])
		var res string
		if err := page.Eval(ctx, js, &res); err != nil || res != "ok" {
			t.Fatalf("drag: %q %v\n%s", res, err, br.Diagnostics())
		}
	}
	rectOf := func() []float64 {
		var d struct {
			Scenes map[string]struct {
				Layers []struct {
					Rect []float64 `json:"rect"`
				} `json:"layers"`
			} `json:"scenes"`
		}
		s.getJSON(t, "api/scenes", "ctl", &d)
		if l := d.Scenes["b"].Layers; len(l) == 1 {
			return l[0].Rect
		}
		return nil
	}
	drag([2]float64{80, 90}, [2]float64{160, 90})
	eventually(t, 10*time.Second, "the layer moved right by 80 canvas pixels", func() bool {
		return fmt.Sprint(rectOf()) == "[80 0 160 180]"
	})
	eventually(t, 15*time.Second, "black left of the moved layer, blue right", func() bool {
		l, r := snapshotAt(t, s, 40, 90), snapshotAt(t, s, 200, 90)
		return l.R < 20 && l.G < 20 && l.B < 20 && r.B > 150
	})
	// From its bottom-right corner (240, 180): 20 wider, 30 shorter.
	eventually(t, 10*time.Second, "the moved layer's controls", func() bool {
		var v string
		page.Eval(ctx, `document.querySelector('#layers fieldset.layer input[data-layer-key="rect0"]').value`, &v)
		return v == "80"
	})
	drag([2]float64{239, 179}, [2]float64{259, 149})
	eventually(t, 10*time.Second, "the layer resized from its corner", func() bool {
		return fmt.Sprint(rectOf()) == "[80 0 180 150]"
	})
	eventually(t, 10*time.Second, "the layer controls of scene b", func() bool {
		var n int
		page.Eval(ctx, `document.querySelectorAll('#layers fieldset.layer input[data-layer-key="visible"]').length`, &n)
		return n == 1
	})
	if err := page.Eval(ctx, `(() => { const c = document.querySelector('#layers fieldset.layer input[data-layer-key="visible"]'); c.checked = false; c.dispatchEvent(new Event('change')); return true; })()`, &ok); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "black once the layer is hidden", func() bool {
		c := snapshotAt(t, s, 160, 90)
		return c.R < 20 && c.G < 20 && c.B < 20
	})
}

// TestScenesTextFields: POST /api/sources/{name}/fields sets a text
// source's field, which the next frames show; fields of a source that is
// not text, of an unknown source, or named clock, are refused.
func TestScenesTextFields(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"bg": {"type": "color", "color": "#000000"}, "score": {"type": "text", "text": "{{score}}", "size": 60}},
 "scenes": {"a": {"layers": [{"source": "bg"}, {"source": "score"}]}},
 "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	white := func() int {
		if code, _ := s.request(t, "GET", "api/snapshot.png", "", "", ""); code != 200 {
			return -1
		}
		snap := s.snapshot(t, "")
		n := 0
		for y := 0; y < 180; y++ {
			for x := 0; x < 320; x++ {
				r, g, b, _ := snap.At(x, y).RGBA()
				if r>>8 > 200 && g>>8 > 200 && b>>8 > 200 {
					n++
				}
			}
		}
		return n
	}
	eventually(t, 20*time.Second, "a first frame, with an empty field", func() bool { return white() == 0 })
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"api/sources/bg/fields", `{"x": "1"}`, 422},
		{"api/sources/nope/fields", `{"x": "1"}`, 422},
		{"api/sources/score/fields", `{"clock": "1"}`, 422},
		{"api/sources/score/fields", `{"score": 3}`, 400},
		{"api/sources/score/fields", `{"score": "` + strings.Repeat("9", 300) + `"}`, 422},
	} {
		if code, body := s.request(t, "POST", c.path, "", "application/json", c.body); code != c.code {
			t.Errorf("POST %s %.40s: %d %s, want %d", c.path, c.body, code, body, c.code)
		}
	}
	if code, body := s.request(t, "POST", "api/sources/score/fields", "", "application/json", `{"score": "3-1"}`); code != 200 {
		t.Fatalf("set score: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the score on screen", func() bool { return white() > 300 })
}

// colourIs reports whether the snapshot's patch around (x, y) is want,
// within 16 levels; false while no frame is composited yet.
func colourIs(t *testing.T, s *service, x, y int, want [3]float64) func() bool {
	return func() bool {
		if code, _ := s.request(t, "GET", "api/snapshot.png", "", "", ""); code != 200 {
			return false
		}
		got := patch(s.snapshot(t, ""), x, y)
		for k := range got {
			if math.Abs(got[k]-want[k]) > 16 {
				return false
			}
		}
		return true
	}
}

// redBlueScenes writes a scenes file of two scenes, a (red) on air and b
// (blue), on a 320x180 canvas, and returns its path.
func redBlueScenes(t *testing.T) string {
	file := filepath.Join(t.TempDir(), "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"red": {"type": "color", "color": "#c02020"}, "blue": {"type": "color", "color": "#2040c0"}},
 "scenes": {"a": {"layers": [{"source": "red"}]}, "b": {"layers": [{"source": "blue"}]}},
 "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// TestScenesPutPatch: the control API changes the description in force.
// PATCH (a JSON merge patch) changes one source's colour and replaces one
// scene's layers; PUT replaces the whole; what is wrong gets 422 with each
// error placed, and changes nothing; a description may name files only
// within --media or that the scenes file names; GET /api/sources lists the
// sources with their states.
func TestScenesPutPatch(t *testing.T) {
	media := t.TempDir()
	writeSolidPNG(t, filepath.Join(media, "pic.png"), 32, 18, color.RGBA{240, 240, 0, 255})
	s := start(t, nil, nil, "--scenes", redBlueScenes(t), "--no-barcode", "--media", media)
	red, blue, green := [3]float64{0xc0, 0x20, 0x20}, [3]float64{0x20, 0x40, 0xc0}, [3]float64{0x20, 0xc0, 0x20}
	eventually(t, 20*time.Second, "scene a (red)", colourIs(t, s, 160, 90, red))
	var sources struct {
		Sources map[string]struct{ Type, Color, State string }
	}
	s.getJSON(t, "api/sources", "", &sources)
	if r := sources.Sources["red"]; r.Type != "color" || r.Color != "#c02020" || r.State != "live" || len(sources.Sources) != 2 {
		t.Errorf("GET /api/sources: %+v", sources)
	}
	patch := func(body string) (int, string) {
		t.Helper()
		return s.request(t, "PATCH", "api/scenes", "", "application/merge-patch+json", body)
	}
	if code, body := patch(`{"sources": {"red": {"color": "#20c020"}}}`); code != 200 || !strings.Contains(body, `"#20c020"`) {
		t.Fatalf("PATCH a source: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the patched colour", colourIs(t, s, 160, 90, green))
	if code, body := patch(`{"scenes": {"a": {"layers": [{"source": "blue", "rect": [0, 0, 160, 180]}, {"source": "red", "rect": [160, 0, 160, 180]}]}}}`); code != 200 {
		t.Fatalf("PATCH a scene's layers: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the patched layers", func() bool {
		return colourIs(t, s, 80, 90, blue)() && colourIs(t, s, 240, 90, green)()
	})
	// Wrong: every error placed, nothing changed.
	bad := `{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"red": {"type": "color", "color": "#c02020"}},
 "scenes": {"a": {"layers": [{"source": "nope"}, {"source": "red", "opacity": 2}]}},
 "program": "a"}`
	code, body := s.request(t, "PUT", "api/scenes", "", "application/json", bad)
	var e struct {
		Errors []struct {
			Path    string
			Line    int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || code != 422 || len(e.Errors) != 2 ||
		e.Errors[0].Path != "scenes.a.layers[0].source" || e.Errors[1].Path != "scenes.a.layers[1].opacity" || e.Errors[1].Line != 3 {
		t.Errorf("PUT with two mistakes: %d %s", code, body)
	}
	for _, c := range []struct{ what, body, want string }{
		{"a file outside --media", `{"sources": {"pic": {"type": "image", "path": "/etc/hostname"}}}`, "sources.pic.path"},
		{"a way out of --media", `{"sources": {"pic": {"type": "image", "path": "../pic.png"}}}`, "sources.pic.path"},
		{"a new canvas", `{"canvas": {"width": 640}}`, "the canvas cannot change"},
		{"not JSON", `{"sources": `, "merge patch"},
	} {
		if code, body := patch(c.body); code/100 != 4 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want a 4xx with %q", c.what, code, body, c.want)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if !colourIs(t, s, 80, 90, blue)() || !colourIs(t, s, 240, 90, green)() {
		t.Error("a refused request changed the picture")
	}
	// A file in --media, by its name there.
	if code, body := patch(`{"sources": {"pic": {"type": "image", "path": "pic.png"}}, "scenes": {"a": {"layers": [{"source": "pic"}]}}}`); code != 200 {
		t.Fatalf("PATCH an image in --media: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the image from --media", colourIs(t, s, 160, 90, [3]float64{240, 240, 0}))
	// PUT the whole: back to one scene of blue.
	if code, body := s.request(t, "PUT", "api/scenes", "", "application/json", `{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"blue": {"type": "color", "color": "#2040c0"}}, "scenes": {"only": {"layers": [{"source": "blue"}]}}, "program": "only"}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the PUT description", colourIs(t, s, 160, 90, blue))
	sources.Sources = nil // decoding merges into a map
	s.getJSON(t, "api/sources", "", &sources)
	if len(sources.Sources) != 1 {
		t.Errorf("sources after PUT: %+v", sources.Sources)
	}
}

// TestScenesSlate: a live source that stops sending (Y4M on stdin, the
// writer quiet) is shown as a slate once it has had no frame for 3 s, and
// /api/scenes says "stalled"; the programme goes on, and when frames come
// again the source shows them.
func TestScenesSlate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"cam": {"type": "y4m", "path": "-"}},
 "scenes": {"a": {"layers": [{"source": "cam"}]}}, "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	s := start(t, nil, pr, "--scenes", file, "--no-barcode")
	// Light grey 160x90 frames (Y 180, no colour), 15 a second, while
	// sending is on.
	var sending atomic.Bool
	sending.Store(true)
	go func() {
		frame := append([]byte("FRAME\n"), bytes.Repeat([]byte{180}, 160*90)...)
		frame = append(frame, bytes.Repeat([]byte{128}, 160*90/2)...)
		if _, err := pw.Write([]byte("YUV4MPEG2 W160 H90 F15:1 Ip A1:1 C420jpeg\n")); err != nil {
			return
		}
		for {
			if sending.Load() {
				if _, err := pw.Write(frame); err != nil {
					return
				}
			}
			time.Sleep(66 * time.Millisecond)
		}
	}()
	grey := [3]float64{189, 189, 189} // Y 180, limited range
	slateBg := [3]float64{24, 24, 32}
	eventually(t, 20*time.Second, "the camera's picture", colourIs(t, s, 20, 20, grey))
	state := func() string {
		var v struct {
			SourceStates map[string]struct{ State string } `json:"sourceStates"`
		}
		s.getJSON(t, "api/scenes", "", &v)
		return v.SourceStates["cam"].State
	}
	sending.Store(false)
	eventually(t, 10*time.Second, "the slate", colourIs(t, s, 20, 20, slateBg))
	if st := state(); st != "stalled" {
		t.Errorf("state %q while quiet, want stalled", st)
	}
	if _, m := s.request(t, "GET", "metrics", "", "", ""); !strings.Contains(m, `shadercast_scene_sources{state="stalled"} 1`) {
		t.Error("the metrics do not count the stalled source")
	}
	sending.Store(true)
	eventually(t, 10*time.Second, "the camera's picture again", colourIs(t, s, 20, 20, grey))
	if st := state(); st != "live" {
		t.Errorf("state %q once sending again, want live", st)
	}
}

// TestScenesWHIPSources: two whip sources, each a publisher at
// /whip/{name}, side by side on the canvas: each pion publisher's picture
// shows in its own layer; a second publisher for a taken source gets 409;
// a publisher that leaves (DELETE) gives its layer a slate and its source
// the state "waiting", and the next publisher takes its place; one that
// vanishes leaves its last picture, then a slate, while the other goes on;
// plain /whip publishes nothing in a scenes description.
func TestScenesWHIPSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"cam1": {"type": "whip"}, "cam2": {"type": "whip"}},
 "scenes": {"a": {"layers": [{"source": "cam1", "rect": [0, 0, 160, 180], "fit": "stretch"},
                             {"source": "cam2", "rect": [160, 0, 160, 180], "fit": "stretch"}]}}, "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	sse := subscribe(t, s, "")
	state := func(name string) string {
		var v struct {
			SourceStates map[string]struct{ State string } `json:"sourceStates"`
		}
		s.getJSON(t, "api/scenes", "", &v)
		return v.SourceStates[name].State
	}
	// sourceEvent reports whether SSE told of source name in state.
	sourceEvent := func(name, state string) bool {
		sse.mu.Lock()
		defer sse.mu.Unlock()
		for _, e := range sse.events["source"] {
			if strings.Contains(e, `"source":"`+name+`"`) && strings.Contains(e, `"state":"`+state+`"`) {
				return true
			}
		}
		return false
	}
	eventually(t, 10*time.Second, "cam1 waiting", func() bool { return state("cam1") == "waiting" })
	red, blue, green := [3]float64{200, 40, 40}, [3]float64{40, 60, 200}, [3]float64{40, 180, 60}
	p1 := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
	p1.Publish(t, s.URL+"whip/cam1", "")
	p1.Start(t, rtctest.SplitPicture(320, 240, yuv601(red), yuv601(red)))
	p2 := rtctest.NewPublisher(t, rtctest.PublisherConfig{Codec: webrtc.MimeTypeH264}) // the other codec
	p2.Publish(t, s.URL+"whip/cam2", "")
	p2.Start(t, rtctest.SplitPicture(320, 240, yuv601(blue), yuv601(blue)))
	eventually(t, 20*time.Second, "both publishers on the canvas", func() bool {
		return colourIs(t, s, 80, 90, red)() && colourIs(t, s, 240, 90, blue)()
	})
	if st := state("cam1"); st != "live" {
		t.Errorf("cam1 %q with a publisher, want live", st)
	}
	if !sourceEvent("cam1", "live") {
		t.Errorf("SSE source events %v, want cam1 live", sse.events["source"])
	}
	// A second publisher for cam1: 409.
	extra := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
	if code, body, _ := postSDP(t, s.URL+"whip/cam1", "", extra.Offer(t)); code != http.StatusConflict {
		t.Errorf("a second publisher for cam1: %d %s", code, body)
	}
	// cam1's publisher leaves: a slate there, cam2 goes on.
	if !strings.HasPrefix(p1.Location, "/whip/cam1/") {
		t.Errorf("cam1's resource %q", p1.Location)
	}
	if code, _, _ := httpDo(t, "DELETE", s.URL+strings.TrimPrefix(p1.Location, "/"), nil, ""); code != http.StatusOK {
		t.Fatalf("DELETE %s: %d", p1.Location, code)
	}
	eventually(t, 10*time.Second, "cam1's slate beside cam2", func() bool {
		return colourIs(t, s, 20, 20, [3]float64{24, 24, 32})() && colourIs(t, s, 240, 90, blue)()
	})
	if st := state("cam1"); st != "stalled" && st != "waiting" {
		t.Errorf("cam1 %q after its publisher left", st)
	}
	if !sourceEvent("cam1", "waiting") {
		t.Errorf("SSE source events %v, want cam1 waiting after its publisher left", sse.events["source"])
	}
	// The next publisher takes cam1.
	p3 := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
	p3.Publish(t, s.URL+"whip/cam1", "")
	p3.Start(t, rtctest.SplitPicture(320, 240, yuv601(green), yuv601(green)))
	eventually(t, 20*time.Second, "the next publisher on cam1", colourIs(t, s, 80, 90, green))
	// cam2's publisher vanishes (no DELETE, its network gone): its layer
	// keeps its last picture, then a slate, while cam1 goes on.
	p2.Vanish()
	time.Sleep(time.Second)
	if !colourIs(t, s, 240, 90, blue)() || !colourIs(t, s, 80, 90, green)() {
		t.Error("cam2's last picture or cam1 lost a second after cam2 vanished")
	}
	eventually(t, 10*time.Second, "cam2's slate beside cam1", func() bool {
		return colourIs(t, s, 180, 20, [3]float64{24, 24, 32})() && colourIs(t, s, 80, 90, green)()
	})
	// A whip source added while running takes a publisher at once.
	if code, body := s.request(t, "PATCH", "api/scenes", "", "application/merge-patch+json", `{"sources": {"cam3": {"type": "whip"}}}`); code != 200 {
		t.Fatalf("PATCH adding cam3: %d %s", code, body)
	}
	p5 := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
	if code, body, _ := postSDP(t, s.URL+"whip/cam3", "", p5.Offer(t)); code != http.StatusCreated {
		t.Errorf("a publisher for the new cam3: %d %s", code, body)
	}
	// Plain /whip has no source here.
	p4 := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
	code, _, _ := postSDP(t, s.URL+"whip", "", p4.Offer(t))
	time.Sleep(time.Second)
	if code == http.StatusCreated && (!colourIs(t, s, 80, 90, green)() || !colourIs(t, s, 180, 20, [3]float64{24, 24, 32})()) {
		t.Error("a publisher at plain /whip changed the picture")
	}
}

// TestScenesNested: a scene source shows another scene as one layer (its
// layers drawn at the source's size, then placed, here at half size in a
// corner over a background), follows what that scene's sources show, and
// a barcode pass inside it reports the code with its own source's name, in
// canvas pixels through both placements.
func TestScenesNested(t *testing.T) {
	dir := t.TempDir()
	img := codetest.QROnGrey(t, "nested", 120, 320, 180, 100, 30, 230)
	writePNG(t, filepath.Join(dir, "qr.png"), img)
	file := filepath.Join(dir, "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 640, "height": 360, "fps": 15},
 "sources": {"bg": {"type": "color", "color": "#203040"}, "red": {"type": "color", "color": "#c02020"},
             "qr": {"type": "image", "path": "qr.png"}, "pip": {"type": "scene", "scene": "split"}},
 "scenes": {"split": {"layers": [{"source": "red", "rect": [0, 0, 320, 360]}, {"source": "qr", "rect": [320, 0, 320, 360], "fit": "stretch", "passes": ["barcode"]}]},
            "main": {"layers": [{"source": "bg"}, {"source": "pip", "rect": [320, 180, 320, 180]}]}},
 "program": "main"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file)
	sse := subscribe(t, s, "")
	red, bg := [3]float64{0xc0, 0x20, 0x20}, [3]float64{0x20, 0x30, 0x40}
	eventually(t, 20*time.Second, "the nested scene in its corner", func() bool {
		return colourIs(t, s, 160, 90, bg)() && colourIs(t, s, 400, 270, red)()
	})
	// The code is at (100..220, 30..150) of the 320x180 qr source, which
	// the split scene stretches to (320..640, 0..360) of its 640x360 frame
	// (x1, x2), which main places at half size from (320, 180): the code's
	// centre (160, 90) is (480, 180) in the split scene and lands at
	// (320 + 480 / 2, 180 + 180 / 2).
	var ev layerDetections
	eventually(t, 20*time.Second, "the nested layer's barcode", func() bool {
		e := sse.last("detections")
		return e != "" && json.Unmarshal([]byte(e), &ev) == nil && len(ev.Barcodes) == 1
	})
	b := ev.Barcodes[0]
	var cx, cy float64
	for _, p := range b.CornerPoints {
		cx, cy = cx+p.X/4, cy+p.Y/4
	}
	if b.Source != "qr" || b.RawValue != "nested" || math.Hypot(cx-560, cy-270) > 4 {
		t.Errorf("nested barcode from %q %q at (%.1f, %.1f), want from qr at (560, 270)", b.Source, b.RawValue, cx, cy)
	}
	// The nested scene's source changes: so does the corner.
	if code, body := s.request(t, "PATCH", "api/scenes", "", "application/merge-patch+json", `{"sources": {"red": {"color": "#20c020"}}}`); code != 200 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the nested scene's new colour", colourIs(t, s, 400, 270, [3]float64{0x20, 0xc0, 0x20}))
}

// TestScenesAudio: the programme's sound is the mix of its scene's
// audible layers. Two test sources with tones of 440 and 660 Hz: in scene
// a the 660 one is muted, and a viewer hears 440 Hz; in scene b it is the
// other way round; during a dissolve back to a, both are heard; in scene c
// both are, the 660 one at half the gain (a quarter of the power).
func TestScenesAudio(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"t440": {"type": "testsrc", "width": 320, "height": 180, "tone": 440},
             "t660": {"type": "testsrc", "width": 320, "height": 180, "tone": 660}},
 "scenes": {"a": {"layers": [{"source": "t440", "rect": [0, 0, 160, 90]}, {"source": "t660", "rect": [160, 0, 160, 90], "muted": true}]},
            "b": {"layers": [{"source": "t440", "rect": [0, 0, 160, 90], "muted": true}, {"source": "t660", "rect": [160, 0, 160, 90], "gain": 1.5}]},
            "c": {"layers": [{"source": "t440", "rect": [0, 0, 160, 90]}, {"source": "t660", "rect": [160, 0, 160, 90], "gain": 0.5}]}},
 "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	v := watch(t, s, "")
	// powers of the last second heard, from a fresh second.
	listen := func() (p440, p660 float64) {
		t.Helper()
		pcm := v.SecondOfAudio(t, true)
		return goertzel(pcm, 440), goertzel(pcm, 660)
	}
	time.Sleep(time.Second) // the sources' sound primed
	if p440, p660 := listen(); p440 < 20*p660 {
		t.Errorf("scene a: 440 Hz %.3g, 660 Hz %.3g: want 440 alone", p440, p660)
	}
	if code, body := s.request(t, "POST", "api/scenes/b/activate", "", "application/json", ""); code != 200 {
		t.Fatalf("activate b: %d %s", code, body)
	}
	time.Sleep(300 * time.Millisecond)
	if p440, p660 := listen(); p660 < 20*p440 {
		t.Errorf("scene b: 440 Hz %.3g, 660 Hz %.3g: want 660 alone", p440, p660)
	}
	if code, body := s.request(t, "POST", "api/scenes/a/activate", "", "application/json", `{"transition": "dissolve", "duration": 6}`); code != 200 {
		t.Fatalf("dissolve to a: %d %s", code, body)
	}
	time.Sleep(2 * time.Second)
	if p440, p660 := listen(); p440 < p660/50 || p660 < p440/50 {
		t.Errorf("during the dissolve: 440 Hz %.3g, 660 Hz %.3g: want both", p440, p660)
	}
	if code, body := s.request(t, "POST", "api/scenes/c/activate", "", "application/json", ""); code != 200 {
		t.Fatalf("activate c: %d %s", code, body)
	}
	time.Sleep(300 * time.Millisecond)
	// Gains 1 and 0.5: powers 4 to 1 (the codec moves it a little).
	if p440, p660 := listen(); p440/p660 < 2.5 || p440/p660 > 6.5 {
		t.Errorf("scene c: 440 Hz %.3g, 660 Hz %.3g: power ratio %.2f, want about 4", p440, p660, p440/p660)
	}
}

// TestScenesAudioReactive: an ISF generator with an audioFFT input sees the
// programme's sound: the bins around a 440 Hz tone light it while the
// tone's layer is audible, and go dark once it is muted.
func TestScenesAudioReactive(t *testing.T) {
	dir := t.TempDir()
	shader := filepath.Join(dir, "meter.fs")
	// 1024-sample FFT at 48 kHz: 440 Hz falls between bins 9 and 10.
	err := os.WriteFile(shader, []byte(`/*{"INPUTS": [{"NAME": "fft", "TYPE": "audioFFT"}]}*/
void main() {
	float m = max(IMG_PIXEL(fft, vec2(9.5, 0.5)).r, IMG_PIXEL(fft, vec2(10.5, 0.5)).r);
	gl_FragColor = vec4(vec3(min(m * 8.0, 1.0)), 1.0);
}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "scenes.json")
	version := func(muted bool) string {
		return fmt.Sprintf(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"tone": {"type": "testsrc", "width": 320, "height": 180, "tone": 440}, "meter": {"type": "isf", "path": %q, "width": 64, "height": 36}},
 "scenes": {"a": {"layers": [{"source": "meter", "fit": "stretch"}, {"source": "tone", "rect": [0, 0, 80, 45], "muted": %t}]}},
 "program": "a"}`, shader, muted)
	}
	if err := os.WriteFile(file, []byte(version(false)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	lit := func() float64 { return patch(s.snapshot(t, ""), 240, 120)[1] }
	eventually(t, 20*time.Second, "the meter lit by the tone", func() bool {
		code, _ := s.request(t, "GET", "api/snapshot.png", "", "", "")
		return code == 200 && lit() > 150
	})
	if code, body := s.request(t, "PATCH", "api/scenes", "", "application/merge-patch+json",
		`{"scenes": {"a": {"layers": [{"source": "meter", "fit": "stretch"}, {"source": "tone", "rect": [0, 0, 80, 45], "muted": true}]}}}`); code != 200 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the meter dark once the tone is muted", func() bool { return lit() < 30 })
}

// TestScenesExamples: the example scenes files a newcomer runs (README)
// load, compose, and have every source live (a camera waiting for its
// publisher), and every scene of them goes on air.
func TestScenesExamples(t *testing.T) {
	for _, file := range []string{"../examples/scenes/studio/studio.json", "../examples/scenes/picture-in-picture.json"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s := start(t, nil, nil, "--scenes", file)
			var v struct {
				Scenes       map[string]any `json:"scenes"`
				SourceStates map[string]struct {
					State, LastError string
				} `json:"sourceStates"`
			}
			eventually(t, 20*time.Second, "every source live", func() bool {
				v.SourceStates = nil
				s.getJSON(t, "api/scenes", "", &v)
				for _, st := range v.SourceStates {
					if st.State != "live" && st.State != "waiting" {
						return false
					}
				}
				return len(v.SourceStates) > 0
			})
			for name := range v.Scenes {
				if code, body := s.request(t, "POST", "api/scenes/"+name+"/activate", "", "application/json", `{"transition": "dissolve", "duration": 0.2}`); code != 200 {
					t.Errorf("activate %s: %d %s", name, code, body)
				}
				time.Sleep(300 * time.Millisecond)
				if code, _ := s.request(t, "GET", "api/snapshot.png", "", "", ""); code != 200 {
					t.Errorf("no snapshot in scene %s", name)
				}
			}
		})
	}
}

// TestScenesLayerInputs: a layer's pass has inputs like the pipeline's:
// GET /api/scenes lists them by scene and layer, and POST
// /api/scenes/{scene}/layers/{i}/inputs sets them (the invert pass's
// amount 0 shows the red source as it is, 1 inverts it to cyan); a wrong
// layer, pass or value is refused.
func TestScenesLayerInputs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"red": {"type": "color", "color": "#c02020"}},
 "scenes": {"a": {"layers": [{"source": "red", "passes": ["invert"]}]}}, "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode")
	var v struct {
		LayerPasses map[string][][]struct {
			Name     string
			Uniforms []struct {
				Name  string
				Value any
			}
		} `json:"layerPasses"`
	}
	s.getJSON(t, "api/scenes", "", &v)
	if ps := v.LayerPasses["a"]; len(ps) != 1 || len(ps[0]) != 1 || ps[0][0].Name != "invert" || len(ps[0][0].Uniforms) == 0 {
		t.Fatalf("layerPasses %+v", v.LayerPasses)
	}
	cyan := [3]float64{255 - 0xc0, 255 - 0x20, 255 - 0x20}
	eventually(t, 20*time.Second, "the red source inverted", colourIs(t, s, 160, 90, cyan))
	set := func(path, body string) (int, string) {
		return s.request(t, "POST", path, "", "application/json", body)
	}
	if code, body := set("api/scenes/a/layers/0/inputs", `{"pass": "invert", "inputs": {"uAmount": 0}}`); code != 200 {
		t.Fatalf("set uAmount: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the red source as it is", colourIs(t, s, 160, 90, [3]float64{0xc0, 0x20, 0x20}))
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"api/scenes/a/layers/1/inputs", `{"pass": "invert", "inputs": {"uAmount": 1}}`, 404},
		{"api/scenes/nope/layers/0/inputs", `{"pass": "invert", "inputs": {"uAmount": 1}}`, 404},
		{"api/scenes/a/layers/0/inputs", `{"pass": "blur", "inputs": {"uAmount": 1}}`, 422},
		{"api/scenes/a/layers/0/inputs", `{"pass": "invert", "inputs": {"uAmount": "loud"}}`, 422},
		{"api/scenes/a/layers/0/inputs", `{"pass": "invert", "inputz": {}}`, 400},
	} {
		if code, body := set(c.path, c.body); code != c.code {
			t.Errorf("POST %s %s: %d %s, want %d", c.path, c.body, code, body, c.code)
		}
	}
}

// TestScenesLayerPassReload: a layer's plugin pass follows its file as the
// pipeline's passes do: an edit shows on the layer, with the input value
// set through the API kept.
func TestScenesLayerPassReload(t *testing.T) {
	dir := t.TempDir()
	shaders := filepath.Join(dir, "shaders")
	if err := os.Mkdir(shaders, 0o755); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(shaders, "tint.fs")
	write := func(green string) {
		t.Helper()
		src := `/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}, {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.5}]}*/
void main() { gl_FragColor = vec4(amount, ` + green + `, 0.2, 1.0); }
`
		if err := os.WriteFile(plugin+".tmp", []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(plugin+".tmp", plugin); err != nil {
			t.Fatal(err)
		}
	}
	write("0.2")
	file := filepath.Join(dir, "scenes.json")
	err := os.WriteFile(file, []byte(`{"canvas": {"width": 320, "height": 180, "fps": 15},
 "sources": {"bg": {"type": "color", "color": "#000000"}},
 "scenes": {"a": {"layers": [{"source": "bg", "passes": ["tint"]}]}}, "program": "a"}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--scenes", file, "--no-barcode", "--shaders", shaders)
	eventually(t, 20*time.Second, "the tint", colourIs(t, s, 160, 90, [3]float64{0.5 * 255, 0.2 * 255, 0.2 * 255}))
	if code, body := s.request(t, "POST", "api/scenes/a/layers/0/inputs", "", "application/json", `{"pass": "tint", "inputs": {"amount": 0.8}}`); code != 200 {
		t.Fatalf("set amount: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the amount set", colourIs(t, s, 160, 90, [3]float64{0.8 * 255, 0.2 * 255, 0.2 * 255}))
	write("0.6")
	eventually(t, 10*time.Second, "the edited plugin, the amount kept", colourIs(t, s, 160, 90, [3]float64{0.8 * 255, 0.6 * 255, 0.2 * 255}))
}

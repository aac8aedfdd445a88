package e2e

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/chromium"
)

// writeSolidPNG writes a w×h PNG of one colour.
func writeSolidPNG(t testing.TB, path string, w, h int, c color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	writePNG(t, path, img)
}

// snapshotAt returns the snapshot's pixel at (x, y), or transparent
// black while there is none yet.
func snapshotAt(t testing.TB, s *service, x, y int) color.RGBA {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"api/snapshot.png", nil)
	if s.controlToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.controlToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return color.RGBA{} // no frame yet: callers poll
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	r, g, b, _ := img.At(x, y).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
}

const tintV1 = `/*{
  "DESCRIPTION": "tints towards a colour",
  "INPUTS": [
    {"NAME": "inputImage", "TYPE": "image"},
    {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0},
    {"NAME": "tint", "TYPE": "color", "DEFAULT": [1.0, 0.0, 0.0, 1.0]}
  ]
}*/
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	gl_FragColor = vec4(mix(c.rgb, tint.rgb, amount), 1.0);
}
`

// TestServiceHotReload: a plugin in a --shaders folder, edited while the
// service runs: a good edit shows in the stream, a broken one keeps the
// previous version running and reports the plugin's own file and line
// (API, events stream), a fix recovers.
func TestServiceHotReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tint.fs")
	if err := os.WriteFile(file, []byte(tintV1), 0o644); err != nil {
		t.Fatal(err)
	}
	still := filepath.Join(t.TempDir(), "grey.png")
	writeSolidPNG(t, still, 320, 240, color.RGBA{128, 128, 128, 255})
	s := start(t, nil, nil, "--input", still, "--no-barcode", "--shaders", dir, "--pass", "tint")
	sse := subscribe(t, s, "")

	red := func(c color.RGBA) bool { return c.R > 200 && c.G < 60 && c.B < 60 }
	blue := func(c color.RGBA) bool { return c.B > 200 && c.R < 60 && c.G < 60 }
	eventually(t, 10*time.Second, "the tint pass (red)", func() bool { return red(snapshotAt(t, s, 160, 120)) })

	// A good edit of the code (the inputs keep their current values
	// over a reload, so the edit swaps channels): blue.
	edited := strings.Replace(tintV1, "tint.rgb, amount), 1.0)", "tint.rgb, amount).bgr, 1.0)", 1)
	os.WriteFile(file, []byte(edited), 0o644)
	eventually(t, 5*time.Second, "the edited pass (blue)", func() bool { return blue(snapshotAt(t, s, 160, 120)) })

	// A broken edit on line 10 of the plugin.
	broken := strings.Replace(edited, "vec4 c = IMG_THIS_PIXEL(inputImage);", "vec4 c = IMG_THIS_PIXEL(inputImage) +;", 1)
	os.WriteFile(file, []byte(broken), 0o644)
	var view struct {
		Passes []struct {
			Name, Error string
		}
	}
	eventually(t, 5*time.Second, "the compile error in /api/pipeline", func() bool {
		view.Passes = nil // omitempty: a cleared error is absent
		s.getJSON(t, "api/pipeline", "", &view)
		for _, p := range view.Passes {
			if p.Name == "tint" && p.Error != "" {
				return true
			}
		}
		return false
	})
	for _, p := range view.Passes {
		if p.Name == "tint" && !strings.Contains(p.Error, "tint.fs:10") {
			t.Errorf("error does not name tint.fs:10: %q", p.Error)
		}
	}
	eventually(t, 5*time.Second, "a shader-error event", func() bool { return sse.count("shader-error") > 0 })
	if e := sse.last("shader-error"); !strings.Contains(e, "tint.fs:10") {
		t.Errorf("shader-error event: %s", e)
	}
	// The previous version still runs.
	for i := 0; i < 5; i++ {
		if c := snapshotAt(t, s, 160, 120); !blue(c) {
			t.Fatalf("after a broken edit the output is %v, want the previous (blue) version", c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Fixed: red again, error cleared.
	os.WriteFile(file, []byte(tintV1), 0o644)
	var last color.RGBA
	defer func() {
		if t.Failed() {
			t.Logf("service log:\n%s", s.stderr)
		}
	}()
	eventually(t, 5*time.Second, "recovery (red, no error)", func() bool {
		view.Passes = nil // omitempty: a cleared error is absent
		s.getJSON(t, "api/pipeline", "", &view)
		for _, p := range view.Passes {
			if p.Name == "tint" && p.Error != "" {
				t.Logf("still: %s", p.Error)
				return false
			}
		}
		last = snapshotAt(t, s, 160, 120)
		return red(last)
	})
	// Removed: the pass leaves the chain.
	os.Remove(file)
	eventually(t, 5*time.Second, "the pass removed with its file", func() bool {
		view.Passes = nil // omitempty: a cleared error is absent
		s.getJSON(t, "api/pipeline", "", &view)
		for _, p := range view.Passes {
			if p.Name == "tint" {
				return false
			}
		}
		return !red(snapshotAt(t, s, 160, 120))
	})
}

// TestBrowserControls: the viewer page builds controls from the passes'
// declarations; moving a slider, ticking a box and pressing an event
// button change the stream within a few frames.
func TestBrowserControls(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tint.fs"), []byte(tintV1), 0o644); err != nil {
		t.Fatal(err)
	}
	still := filepath.Join(t.TempDir(), "grey.png")
	writeSolidPNG(t, still, 320, 240, color.RGBA{128, 128, 128, 255})
	s := start(t, []string{"SHADERCAST_CONTROL_TOKEN=ctl"}, nil, "--input", still, "--shaders", dir, "--pass", "tint", "--pass", "flash")
	s.controlToken = "ctl"
	br := chromium.Launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := br.OpenPage(ctx, s.URL+"?control_token=ctl")
	if err != nil {
		t.Fatal(err)
	}
	var kinds map[string]string
	eventually(t, 20*time.Second, "controls built from /api/pipeline", func() bool {
		kinds = nil
		err := page.Eval(ctx, `(() => {
			const o = {};
			document.querySelectorAll('#passes [data-input]').forEach((e) => { o[e.dataset.pass + '.' + e.dataset.input] = e.tagName + ':' + (e.type || ''); });
			return Object.keys(o).length ? o : null;
		})()`, &kinds)
		return err == nil && len(kinds) >= 3
	})
	for k, want := range map[string]string{"tint.amount": "INPUT:range", "tint.tint": "INPUT:color", "flash.flash": "BUTTON:button", "barcode.highlight": "INPUT:checkbox"} {
		if kinds[k] != want {
			t.Errorf("control %s is %q, want %q (all: %v)", k, kinds[k], want, kinds)
		}
	}
	// The slider: amount 1 → 0 shows the grey input instead of red.
	if c := snapshotAt(t, s, 160, 120); c.R < 200 {
		t.Fatalf("tint not applied before the change: %v", c)
	}
	set := func(js string) {
		var ok bool
		if err := page.Eval(ctx, js, &ok); err != nil || !ok {
			t.Fatalf("%s: %v\n%s", js, err, br.Diagnostics())
		}
	}
	set(`(() => { const e = document.querySelector('[data-pass="tint"][data-input="amount"]'); e.value = 0; e.dispatchEvent(new Event('input')); return true; })()`)
	eventually(t, 5*time.Second, "the slider's value in the stream", func() bool {
		c := snapshotAt(t, s, 160, 120)
		return c.R < 150 && c.R > 100 && c.G > 100
	})
	var pl struct {
		Passes []struct {
			Name     string
			Enabled  bool
			Uniforms []struct {
				Name  string
				Value any
			}
		}
	}
	s.getJSON(t, "api/pipeline", "ctl", &pl)
	for _, p := range pl.Passes {
		for _, u := range p.Uniforms {
			if p.Name == "tint" && u.Name == "amount" && fmt.Sprint(u.Value) != "0" {
				t.Errorf("amount via API: %v", u.Value)
			}
		}
	}
	// The enable checkbox: disabling flash and tint is visible too
	// (the grey stays grey); re-enable tint with amount back up.
	set(`(() => { const e = document.querySelector('input[data-role="enabled"][data-pass="tint"]'); e.checked = false; e.dispatchEvent(new Event('change')); return true; })()`)
	eventually(t, 5*time.Second, "tint disabled in the API", func() bool {
		s.getJSON(t, "api/pipeline", "ctl", &pl)
		for _, p := range pl.Passes {
			if p.Name == "tint" {
				return !p.Enabled
			}
		}
		return false
	})
	// The control API refuses the page's requests without the token.
	if code, body := s.request(t, http.MethodPatch, "api/pipeline", "", "application/json", `{}`); code != http.StatusUnauthorized {
		t.Errorf("PATCH without token: %d %s", code, body)
	}
}

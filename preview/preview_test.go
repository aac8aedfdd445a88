package preview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
)

// TestNoDisplay: without a display New fails with an error that says so,
// before GLFW is touched (which would panic on its next call).
func TestNoDisplay(t *testing.T) {
	for _, c := range []struct{ display, wayland, want string }{
		{"", "", "DISPLAY is not set"},
		{"", "wayland-0", "XWayland"},
		{":4711", "", `cannot reach the X server at DISPLAY=":4711"`},
		{"nonsense", "", "malformed"},
	} {
		t.Setenv("DISPLAY", c.display)
		t.Setenv("WAYLAND_DISPLAY", c.wayland)
		w, err := New(Options{})
		if err == nil {
			w.Close()
			t.Fatalf("DISPLAY=%q: New succeeded", c.display)
		}
		if !errors.Is(err, ErrNoDisplay) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "DISPLAY") {
			t.Errorf("DISPLAY=%q WAYLAND_DISPLAY=%q: error %q, want ErrNoDisplay mentioning %q", c.display, c.wayland, err, c.want)
		}
	}
}

// TestNotAnXServer: DISPLAY names a socket that accepts connections but
// speaks no X: glfw.Init "succeeds" without connecting, and the next GLFW
// call panics. OpenDevice must fail with ErrNoDisplay instead.
func TestNotAnXServer(t *testing.T) {
	n := 200 + rand.IntN(30000)
	l, err := net.Listen("unix", "@/tmp/.X11-unix/X"+strconv.Itoa(n))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Setenv("DISPLAY", ":"+strconv.Itoa(n))
	t.Setenv("WAYLAND_DISPLAY", "")
	win, err := New(Options{})
	if err != nil {
		t.Fatalf("New: %v (the probe should connect)", err)
	}
	defer win.Close()
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{NewContext: win.Context})
	if err == nil {
		dev.Close()
		t.Fatal("OpenDevice succeeded on a socket that is no X server")
	}
	if !errors.Is(err, ErrNoDisplay) || !strings.Contains(err.Error(), "could not connect") {
		t.Errorf("error %q, want ErrNoDisplay saying GLFW could not connect", err)
	}
	if active.Load() {
		t.Error("the failed window still holds GLFW")
	}
}

// TestBadOptions: options that cannot work fail New, before any display
// is needed.
func TestBadOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{ContextAPI: "vulkan"}, "context API"},
		{Options{Width: -1}, "negative"},
		{Options{SaveDir: filepath.Join(file, "missing")}, "save directory"},
		{Options{SaveDir: file}, "not a directory"},
	} {
		w, err := New(c.opts)
		if err == nil {
			w.Close()
			t.Errorf("New(%+v) succeeded", c.opts)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want it to mention %q", c.opts, err, c.want)
		}
	}
}

func TestLetterbox(t *testing.T) {
	for _, c := range []struct{ w, h, fw, fh, x0, y0, x1, y1 int }{
		{640, 360, 640, 360, 0, 0, 640, 360},
		{640, 360, 1280, 800, 0, 40, 1280, 760},
		{640, 480, 1280, 720, 160, 0, 1120, 720},
		{1920, 1080, 100, 100, 0, 22, 100, 78},
	} {
		x0, y0, x1, y1 := letterbox(c.w, c.h, c.fw, c.fh)
		if x0 != c.x0 || y0 != c.y0 || x1 != c.x1 || y1 != c.y1 {
			t.Errorf("letterbox(%d,%d in %d,%d) = %d,%d,%d,%d, want %d,%d,%d,%d", c.w, c.h, c.fw, c.fh, x0, y0, x1, y1, c.x0, c.y0, c.x1, c.y1)
		}
	}
}

// scene drives a real pipeline on the window's device with the test
// pattern, as the service does.
type scene struct {
	t       *testing.T
	pl      *compositor.Pipeline
	pat     *testsrc.Pattern
	img     *image.RGBA
	display string
	// recent outputs, newest last: the detector refines and re-verifies
	// positions over frames (barcode's cache), so a repeated frame's
	// outline can move by a pixel from one frame to the next.
	recent   [][]byte
	lastDets []barcode.DetectedBarcode
}

func (s *scene) last() []byte { return s.recent[len(s.recent)-1] }

const sceneW, sceneH = 640, 360

// frame composites pattern frame i and returns the RGBA output (which the
// window also showed) and the detections.
func (s *scene) frame(i int) ([]byte, []barcode.DetectedBarcode) {
	s.t.Helper()
	s.pat.Render(i, s.img)
	fr, err := media.NewVideoFrame(s.img.Pix, media.VideoFrameInit{Format: media.RGBA, CodedWidth: sceneW, CodedHeight: sceneH, Timestamp: int64(i) * 33333})
	if err != nil {
		s.t.Fatal(err)
	}
	defer fr.Close()
	var o compositor.Output
	if err := s.pl.Process(context.Background(), fr, &o); err != nil {
		s.t.Fatal(err)
	}
	defer o.Frame.Close()
	pl, err := o.Frame.Plane(0)
	if err != nil {
		s.t.Fatal(err)
	}
	out := make([]byte, 4*sceneW*sceneH)
	for y := 0; y < sceneH; y++ {
		copy(out[4*sceneW*y:4*sceneW*(y+1)], pl.Data[y*pl.Stride:])
	}
	if len(s.recent) == 8 {
		s.recent = s.recent[1:]
	}
	s.recent = append(s.recent, out)
	s.lastDets = append([]barcode.DetectedBarcode(nil), barcodepass.Barcodes(o.Results)...)
	return out, s.lastDets
}

// until presents frame i repeatedly (the window handles its events only
// when it presents) until ok, or fails after timeout.
// ok returns why not, when not.
func (s *scene) until(i int, what string, timeout time.Duration, ok func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, why := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, why)
		}
		s.frame(i)
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *scene) key(id, key string) {
	s.t.Helper()
	if _, err := tool(s.t, s.display, "xdotool", "key", "--window", id, key); err != nil {
		s.t.Fatal(err)
	}
}

// compareWindow checks the screen inside g against the output, 1:1.
func compareWindow(shot *image.RGBA, g geometry, want []byte) (bad int, first string) {
	for y := 0; y < sceneH; y++ {
		for x := 0; x < sceneW; x++ {
			c := shot.RGBAAt(g.x+x, g.y+y)
			o := want[4*(y*sceneW+x):]
			if c.R != o[0] || c.G != o[1] || c.B != o[2] {
				if bad == 0 {
					first = fmtPix(x, y, c.R, c.G, c.B, o)
				}
				bad++
			}
		}
	}
	return bad, first
}

func fmtPix(x, y int, r, g, b uint8, o []byte) string {
	return fmt.Sprintf("(%d,%d): screen %d,%d,%d, output %d,%d,%d", x, y, r, g, b, o[0], o[1], o[2])
}

// bilinear samples the output at (u, v) in pixel units (centres at
// integers), clamped at the edges, as GL's linear filter does.
func bilinear(img []byte, u, v float64, c int) float64 {
	x0, y0 := math.Floor(u), math.Floor(v)
	fx, fy := u-x0, v-y0
	at := func(x, y int) float64 {
		x = min(max(x, 0), sceneW-1)
		y = min(max(y, 0), sceneH-1)
		return float64(img[4*(y*sceneW+x)+c])
	}
	ix, iy := int(x0), int(y0)
	return (at(ix, iy)*(1-fx)+at(ix+1, iy)*fx)*(1-fy) + (at(ix, iy+1)*(1-fx)+at(ix+1, iy+1)*fx)*fy
}

// scaledMismatch checks a window of geometry g showing want scaled to fit,
// centred, between black bars; it returns what is wrong, or "".
func scaledMismatch(shot *image.RGBA, g geometry, want []byte) string {
	scale := min(float64(g.w)/sceneW, float64(g.h)/sceneH)
	ox, oy := (float64(g.w)-sceneW*scale)/2, (float64(g.h)-sceneH*scale)/2
	inside := func(x, y int, margin float64) bool {
		fx, fy := float64(x)+0.5, float64(y)+0.5
		return fx > ox+margin && fx < float64(g.w)-ox-margin && fy > oy+margin && fy < float64(g.h)-oy-margin
	}
	for y := 0; y < g.h; y += 7 {
		for x := 0; x < g.w; x += 13 {
			c := shot.RGBAAt(g.x+x, g.y+y)
			if !inside(x, y, -1.5) {
				if c.R != 0 || c.G != 0 || c.B != 0 {
					return fmt.Sprintf("window %+v: bar pixel %d,%d is %v, not black", g, x, y, c)
				}
				continue
			}
			if !inside(x, y, 1.5) {
				continue
			}
			u := (float64(x)+0.5-ox)/scale - 0.5
			v := (float64(y)+0.5-oy)/scale - 0.5
			for ch, got := range []uint8{c.R, c.G, c.B} {
				w := bilinear(want, u, v, ch)
				if math.Abs(float64(got)-w) > 3 {
					return fmt.Sprintf("window %+v: pixel %d,%d channel %d: screen %d, bilinear reference %.1f", g, x, y, ch, got, w)
				}
			}
		}
	}
	return ""
}

func near(a, b uint8, tol int) bool { d := int(a) - int(b); return d >= -tol && d <= tol }

// isLine reports whether c is the barcode pass's opaque outline colour for
// a decoded code (0.1, 1, 0.35).
func isLine(r, g, b uint8) bool { return near(r, 26, 3) && near(g, 255, 3) && near(b, 89, 3) }

func codes(d []barcode.DetectedBarcode) string {
	var b strings.Builder
	for _, x := range d {
		b.WriteString(x.Format + ":" + x.RawValue + " ")
	}
	return b.String()
}

// TestWindow opens a real window on Xvfb, feeds the test pattern through the
// barcode pass, and checks the screen, the keys and the title.
func TestWindow(t *testing.T) {
	display := startXvfb(t)
	t.Setenv("DISPLAY", display)
	t.Setenv("WAYLAND_DISPLAY", "")
	goroutines := runtime.NumGoroutine()

	keys := make(chan string, 16)
	dir := t.TempDir()
	win, err := New(Options{Width: sceneW, Height: sceneH, SaveDir: dir, OnKey: func(k string) { keys <- k }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { win.Close() })
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{NewContext: win.Context})
	if err != nil {
		t.Fatal(err)
	}
	// On failure too: the next test needs GLFW free.
	t.Cleanup(func() { dev.Close() })
	info := dev.Info()
	t.Logf("GL through %s: %s | %s", info.Platform, info.Renderer, info.Version)
	if !strings.HasPrefix(info.Platform, "glfw-") {
		t.Errorf("platform %q, want glfw-egl or glfw-glx", info.Platform)
	}
	pl, err := compositor.NewPipeline(dev, compositor.Config{Output: compositor.OutputRGBA}, barcodepass.New(barcode.DefaultParams()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	if err := pl.SetPresenter(win); err != nil {
		t.Fatal(err)
	}
	pat, err := testsrc.New(sceneW, sceneH, 30)
	if err != nil {
		t.Fatal(err)
	}
	s := &scene{t: t, pl: pl, pat: pat, img: image.NewRGBA(image.Rect(0, 0, sceneW, sceneH)), display: display}

	// A frame where the pass decodes a code, so that the highlight shows.
	fi := -1
	var dets []barcode.DetectedBarcode
	for i := 0; i < 90 && fi < 0; i += 3 {
		_, dets = s.frame(i)
		for _, d := range dets {
			if d.Format != "unknown" {
				fi = i
			}
		}
	}
	if fi < 0 {
		t.Fatal("the barcode pass decoded nothing in 30 frames of the test pattern")
	}

	id, err := tool(t, display, "xdotool", "search", "--name", "^shadercast")
	if err != nil || id == "" || strings.Contains(id, "\n") {
		t.Fatalf("looking for the window: %q, %v", id, err)
	}
	g := windowGeometry(t, display, id)
	if g.w != sceneW || g.h != sceneH {
		t.Fatalf("window is %dx%d, want %dx%d", g.w, g.h, sceneW, sceneH)
	}

	// The screen shows exactly the pipeline's output, highlight included.
	var shot *image.RGBA
	s.until(fi, "the screen to show the composited frame", 10*time.Second, func() (bool, string) {
		shot = screenshot(t, display)
		bad, first := compareWindow(shot, g, s.last())
		return bad == 0, fmt.Sprintf("%d pixels differ, first %s", bad, first)
	})
	t.Logf("window at %+v matches the output pixel for pixel (%d codes)", g, len(s.lastDets))
	for _, d := range s.lastDets {
		if d.Format == "unknown" {
			continue
		}
		b := d.BoundingBox
		lines, srcLines := 0, 0
		for y := int(b.Y) - 4; y <= int(b.Y+b.Height)+4; y++ {
			for x := int(b.X) - 4; x <= int(b.X+b.Width)+4; x++ {
				if x < 0 || y < 0 || x >= sceneW || y >= sceneH {
					continue
				}
				c := shot.RGBAAt(g.x+x, g.y+y)
				if isLine(c.R, c.G, c.B) {
					lines++
				}
				o := s.img.RGBAAt(x, y)
				if isLine(o.R, o.G, o.B) {
					srcLines++
				}
			}
		}
		perimeter := 2 * (b.Width + b.Height)
		if float64(lines) < perimeter || srcLines > 0 {
			t.Errorf("%s %q at %+v: %d outline-green pixels on screen (want ≥ %.0f, the perimeter), %d in the source frame (want 0)", d.Format, d.RawValue, b, lines, perimeter, srcLines)
		}
		for _, p := range d.CornerPoints {
			// The outline is centred on the edges: the pixel holding the
			// corner, or one next to it, is outline.
			found := false
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					c := shot.RGBAAt(g.x+int(p.X)+dx, g.y+int(p.Y)+dy)
					found = found || isLine(c.R, c.G, c.B)
				}
			}
			if !found {
				t.Errorf("%s: no outline green on screen at corner %+v", d.Format, p)
			}
		}
	}

	// B asks the service to toggle the barcode pass; digits ask for the
	// scenes, in order.
	for _, k := range []struct{ key, want string }{{"b", "barcode"}, {"3", "scene-3"}} {
		s.key(id, k.key)
		var got string
		s.until(fi, "OnKey after "+k.key, 10*time.Second, func() (bool, string) {
			select {
			case got = <-keys:
				return true, ""
			default:
				return false, "no call"
			}
		})
		if got != k.want {
			t.Errorf("%s gave OnKey(%q), want %q", k.key, got, k.want)
		}
	}

	// S saves the composited frame.
	s.key(id, "s")
	var saved string
	s.until(fi, "a PNG after S", 10*time.Second, func() (bool, string) {
		m, _ := filepath.Glob(filepath.Join(dir, "shadercast-*.png"))
		if len(m) > 0 {
			saved = m[0]
		}
		return saved != "", "no file in " + dir
	})
	base := filepath.Base(saved)
	if _, err := time.Parse("shadercast-20060102-150405.png", base); err != nil {
		t.Errorf("saved file name %s: %v", base, err)
	}
	if f, err := os.Open(saved); err != nil {
		t.Fatal(err)
	} else {
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
		match := false
		for _, o := range s.recent {
			match = match || bytes.Equal(rgba.Pix, o)
		}
		if rgba.Rect.Dx() != sceneW || rgba.Rect.Dy() != sceneH || !match {
			t.Errorf("the saved PNG (%v) differs from the composited frames", rgba.Rect)
		}
	}

	// The title: name, size, frame rate and status.
	win.SetStatus("shader error: test")
	var title string
	s.until(fi, "the title to show size, fps and status", 10*time.Second, func() (bool, string) {
		title, _ = tool(t, display, "xdotool", "getwindowname", id)
		return strings.Contains(title, "fps") && strings.Contains(title, "shader error: test"), "title " + title
	})
	if !strings.HasPrefix(title, "shadercast — 640×360 — ") {
		t.Errorf("title %q", title)
	}
	t.Logf("title: %s", title)

	// F: fullscreen on the 1280x800 screen, the frame scaled 2x between
	// black bars; F again: back to the window.
	s.key(id, "f")
	var fg geometry
	s.until(fi, "fullscreen after F", 10*time.Second, func() (bool, string) {
		fg = windowGeometry(t, display, id)
		return fg.w == 1280 && fg.h == 800, fmt.Sprintf("window %+v", fg)
	})
	s.until(fi, "the screen to show the frame scaled to fit", 10*time.Second, func() (bool, string) {
		why := scaledMismatch(screenshot(t, display), fg, s.last())
		return why == "", why
	})
	s.key(id, "f")
	s.until(fi, "the window back after F", 10*time.Second, func() (bool, string) {
		g2 := windowGeometry(t, display, id)
		return g2 == g, fmt.Sprintf("window %+v, was %+v", g2, g)
	})

	// A window resized by the user: the frame keeps its aspect ratio.
	if _, err := tool(t, display, "xdotool", "windowsize", id, "800", "600"); err != nil {
		t.Fatal(err)
	}
	var rg geometry
	s.until(fi, "the window resized", 10*time.Second, func() (bool, string) {
		rg = windowGeometry(t, display, id)
		return rg.w == 800 && rg.h == 600, fmt.Sprintf("window %+v", rg)
	})
	s.until(fi, "the screen to show the frame in the resized window", 10*time.Second, func() (bool, string) {
		why := scaledMismatch(screenshot(t, display), rg, s.last())
		return why == "", why
	})

	// Esc hides the window; the pipeline goes on.
	s.key(id, "Escape")
	s.until(fi, "Closed after Esc", 10*time.Second, func() (bool, string) {
		select {
		case <-win.Closed():
			return true, ""
		default:
			return false, "not closed"
		}
	})
	if out, err := tool(t, display, "xdotool", "search", "--onlyvisible", "--name", "^shadercast"); err == nil || out != "" {
		t.Errorf("the window is still visible after Esc: %q", out)
	}
	for i := 0; i < 3; i++ {
		_, d := s.frame(fi)
		if codes(d) != codes(dets) {
			t.Fatalf("after the window closed the pipeline decodes %q, before %q", codes(d), codes(dets))
		}
	}

	// One window per process: a second one refuses its context.
	win2, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if dev2, err := compositor.OpenDevice(compositor.DeviceOptions{NewContext: win2.Context}); err == nil {
		dev2.Close()
		t.Error("a second preview window opened while the first lives")
	} else if !strings.Contains(err.Error(), "another preview window") {
		t.Errorf("second window: %v", err)
	}
	win2.Close()

	pl.Close()
	if objs := dev.Objects(); len(objs) != 0 {
		t.Errorf("GL objects left after the pipeline closed: %v", objs)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	win.Close()
	for i := 0; i < 100 && runtime.NumGoroutine() > goroutines; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines before, %d after closing everything", goroutines, n)
	}
}

// TestContextAPIs opens the window through each context API in turn, checks
// the screen and logs what presenting costs per frame.
func TestContextAPIs(t *testing.T) {
	display := startXvfb(t)
	t.Setenv("DISPLAY", display)
	t.Setenv("WAYLAND_DISPLAY", "")
	for _, api := range []string{"egl", "glx"} {
		t.Run(api, func(t *testing.T) {
			opts := Options{Width: sceneW, Height: sceneH, ContextAPI: api}
			if api == "glx" {
				// The default size, 1280x720, scaled to 90% of the
				// 1280x800 screen: 1152x648.
				opts.Width, opts.Height = 0, 0
			}
			win, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer win.Close()
			dev, err := compositor.OpenDevice(compositor.DeviceOptions{NewContext: win.Context})
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			if got := dev.Info().Platform; got != "glfw-"+api {
				t.Errorf("platform %q, want glfw-%s", got, api)
			}
			pl, err := compositor.NewPipeline(dev, compositor.Config{Output: compositor.OutputRGBA})
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			pat, err := testsrc.New(sceneW, sceneH, 30)
			if err != nil {
				t.Fatal(err)
			}
			s := &scene{t: t, pl: pl, pat: pat, img: image.NewRGBA(image.Rect(0, 0, sceneW, sceneH)), display: display}
			median := func() time.Duration {
				var d []time.Duration
				for i := 0; i < 15; i++ {
					t0 := time.Now()
					s.frame(i)
					d = append(d, time.Since(t0))
				}
				slices.Sort(d)
				return d[len(d)/2]
			}
			without := median()
			if err := pl.SetPresenter(win); err != nil {
				t.Fatal(err)
			}
			with := median()
			t.Logf("%s: %dx%d frame %v without the window, %v with it", api, sceneW, sceneH, without, with)

			id, err := tool(t, display, "xdotool", "search", "--onlyvisible", "--name", "^shadercast")
			if err != nil {
				t.Fatalf("looking for the window: %q, %v", id, err)
			}
			g := windowGeometry(t, display, id)
			if api == "glx" {
				if g.w != 1152 || g.h != 648 {
					t.Fatalf("default window %+v, want 1152x648", g)
				}
				s.until(7, "the screen to show the frame scaled", 10*time.Second, func() (bool, string) {
					why := scaledMismatch(screenshot(t, display), g, s.last())
					return why == "", why
				})
				return
			}
			s.until(7, "the screen to show the frame", 10*time.Second, func() (bool, string) {
				bad, first := compareWindow(screenshot(t, display), g, s.last())
				return bad == 0, fmt.Sprintf("%d pixels differ, first %s", bad, first)
			})
		})
	}
}

// TestXServerGone: the X server dies under the window; Xlib would exit the
// process, the window must instead give up and the pipeline go on.
func TestXServerGone(t *testing.T) {
	for _, api := range []string{"egl", "glx"} {
		t.Run(api, func(t *testing.T) { xServerGone(t, api) })
	}
}

func xServerGone(t *testing.T, api string) {
	display := startXvfb(t)
	t.Setenv("DISPLAY", display)
	t.Setenv("WAYLAND_DISPLAY", "")
	win, err := New(Options{Width: sceneW, Height: sceneH, ContextAPI: api})
	if err != nil {
		t.Fatal(err)
	}
	defer win.Close()
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{NewContext: win.Context})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	pl, err := compositor.NewPipeline(dev, compositor.Config{Output: compositor.OutputRGBA})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if err := pl.SetPresenter(win); err != nil {
		t.Fatal(err)
	}
	pat, err := testsrc.New(sceneW, sceneH, 30)
	if err != nil {
		t.Fatal(err)
	}
	s := &scene{t: t, pl: pl, pat: pat, img: image.NewRGBA(image.Rect(0, 0, sceneW, sceneH)), display: display}
	for i := 0; i < 3; i++ {
		s.frame(i)
	}
	killXvfb(t)
	t0 := time.Now()
	out, _ := s.frame(4)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("the first frame after the X server died took %v", d)
	}
	select {
	case <-win.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("Closed did not fire after the X server died")
	}
	// The pipeline still renders the right pixels on the window's context.
	for i := 5; i < 8; i++ {
		if !bytes.Equal(out, s.img.Pix) {
			t.Fatalf("frame %d after the X server died: the output differs from the input (no pass)", i)
		}
		out, _ = s.frame(i)
	}
	pl.Close()
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
}

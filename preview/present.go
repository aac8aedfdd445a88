package preview

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/shadercast/shadercast/compositor"
)

// Present draws f into the window, scaled to fit with black bars (the
// aspect ratio is kept), and handles the window's pending events. It runs
// on the GL thread, called by the pipeline (see compositor.Presenter); it
// never waits for vertical blank. The pipeline restores the GL state this
// changes. Attach the window only to pipelines on the device it made the
// context for; on any other device Present does nothing.
func (w *Window) Present(f compositor.PresentFrame) {
	if w.win == nil || w.hidden {
		return
	}
	if glfw.GetCurrentContext() != w.win {
		if !w.wrongContext {
			w.wrongContext = true
			w.log.Error("preview: presented from a pipeline on another device; nothing drawn")
		}
		return
	}
	// Events first: reading them is also how Xlib notices a server that
	// has gone, and must notice before the swap, which on a dead
	// connection spins in Mesa for tens of seconds.
	if !xLost.Load() {
		glfw.PollEvents()
	}
	if xLost.Load() {
		w.lose()
		return
	}
	if w.hidden {
		return
	}
	if w.stopped.Load() {
		w.hide()
		return
	}
	if w.toggleFS {
		w.toggleFS = false
		w.setFullscreen(!w.fullscreen)
	}
	fbw, fbh := w.win.GetFramebufferSize()
	gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, 0)
	gl.Viewport(0, 0, int32(fbw), int32(fbh))
	gl.Disable(gl.SCISSOR_TEST)
	gl.ColorMask(true, true, true, true)
	gl.ClearColor(0, 0, 0, 1)
	gl.Clear(gl.COLOR_BUFFER_BIT)
	if fbw > 0 && fbh > 0 && f.Width > 0 && f.Height > 0 {
		x0, y0, x1, y1 := letterbox(f.Width, f.Height, fbw, fbh)
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, f.Framebuffer)
		// The frame's row 0 is its top; the window's is its bottom:
		// blit with the destination's rows swapped.
		gl.BlitFramebuffer(0, 0, int32(f.Width), int32(f.Height), int32(x0), int32(y1), int32(x1), int32(y0), gl.COLOR_BUFFER_BIT, gl.LINEAR)
	}
	if w.saveNext {
		w.saveNext = false
		w.capture(f)
	}
	w.win.SwapBuffers()
	w.updateTitle(f.Width, f.Height, time.Now())
	// Again after the swap: polling flushes the X connection, so the frame
	// reaches the server now rather than with the next one.
	glfw.PollEvents()
}

// letterbox fits a w×h image into a fw×fh framebuffer, centred, in GL
// window coordinates (y up): x0 ≤ x1, y0 ≤ y1.
func letterbox(w, h, fw, fh int) (x0, y0, x1, y1 int) {
	// Integer cross-multiplication decides the limiting side exactly.
	if fw*h <= fh*w {
		dh := (fw*h + w/2) / w
		y0 = (fh - dh) / 2
		return 0, y0, fw, y0 + dh
	}
	dw := (fh*w + h/2) / h
	x0 = (fw - dw) / 2
	return x0, 0, x0 + dw, fh
}

// onKey runs on the GL thread, inside glfw.PollEvents.
func (w *Window) onKey(_ *glfw.Window, key glfw.Key, _ int, action glfw.Action, _ glfw.ModifierKey) {
	if action != glfw.Press {
		return
	}
	switch key {
	case glfw.KeyF:
		w.toggleFS = true
	case glfw.KeyS:
		w.saveNext = true
	case glfw.KeyB:
		w.keys.Push("barcode")
	case glfw.Key1, glfw.Key2, glfw.Key3, glfw.Key4, glfw.Key5, glfw.Key6, glfw.Key7, glfw.Key8, glfw.Key9:
		w.keys.Push("scene-" + string(rune('1'+key-glfw.Key1)))
	case glfw.KeyEscape:
		w.hide()
	}
}

// setFullscreen runs on the GL thread.
func (w *Window) setFullscreen(on bool) {
	if on == w.fullscreen {
		return
	}
	if on {
		mon := glfw.GetPrimaryMonitor()
		if mon == nil {
			w.log.Warn("preview: no monitor to go fullscreen on")
			return
		}
		mode := mon.GetVideoMode()
		x, y := w.win.GetPos()
		width, height := w.win.GetSize()
		w.windowed = [4]int{x, y, width, height}
		w.win.SetMonitor(mon, 0, 0, mode.Width, mode.Height, mode.RefreshRate)
	} else {
		r := w.windowed
		w.win.SetMonitor(nil, r[0], r[1], r[2], r[3], 0)
	}
	w.fullscreen = on
	// A mode change may have reset it.
	glfw.SwapInterval(0)
}

func (w *Window) dispatchKeys() {
	defer w.wg.Done()
	for {
		select {
		case k := <-w.keys.C():
			if w.opts.OnKey != nil {
				w.opts.OnKey(k)
			}
		case <-w.quit:
			return
		}
	}
}

// saveJob is a frame read back for S, written to a file off the GL thread.
type saveJob struct {
	img *image.RGBA
	at  time.Time
}

// capture reads the composited frame (not the window, whose size and bars
// are the user's) on the GL thread; only when S was pressed.
func (w *Window) capture(f compositor.PresentFrame) {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, f.Framebuffer)
	gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.PixelStorei(gl.PACK_ROW_LENGTH, 0)
	gl.ReadPixels(0, 0, int32(f.Width), int32(f.Height), gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&img.Pix[0]))
	if code := gl.GetError(); code != gl.NO_ERROR {
		w.log.Error("preview: reading the frame to save failed", "glError", fmt.Sprintf("0x%x", code))
		return
	}
	w.saves.Push(saveJob{img: img, at: time.Now()})
}

func (w *Window) writeSaves() {
	defer w.wg.Done()
	for {
		select {
		case j := <-w.saves.C():
			w.writePNG(j)
		case <-w.quit:
			for {
				select {
				case j := <-w.saves.C():
					w.writePNG(j)
				default:
					return
				}
			}
		}
	}
}

// writePNG writes the file under a temporary name and links it into place,
// so that nobody sees half a file and a second save in the same second
// gets its own name instead of replacing the first.
func (w *Window) writePNG(j saveJob) {
	dir := w.opts.SaveDir
	if dir == "" {
		dir = "."
	}
	path, err := writePNGFile(dir, j)
	if err != nil {
		w.log.Error("preview: saving a frame failed", "err", err)
		return
	}
	w.log.Info("preview: saved frame", "path", path)
}

func writePNGFile(dir string, j saveJob) (string, error) {
	tmp, err := os.CreateTemp(dir, ".shadercast-*.png.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	err = png.Encode(bw, j.img)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	base := "shadercast-" + j.at.Format("20060102-150405")
	for n := 1; n < 1000; n++ {
		name := base + ".png"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.png", base, n)
		}
		path := filepath.Join(dir, name)
		err := os.Link(tmp.Name(), path)
		if err == nil {
			return path, nil
		}
		if !os.IsExist(err) {
			return "", err
		}
	}
	return "", fmt.Errorf("too many files named %s-*.png in %s", base, dir)
}

// fpsMeter measures frames per second over about one second.
type fpsMeter struct {
	start  time.Time
	frames int
	fps    float64
}

// tick counts a frame and reports whether the rate was just measured.
func (m *fpsMeter) tick(now time.Time) bool {
	if m.start.IsZero() {
		m.start = now
		return false
	}
	m.frames++
	if d := now.Sub(m.start); d >= time.Second {
		m.fps = float64(m.frames) / d.Seconds()
		m.frames, m.start = 0, now
		return true
	}
	return false
}

// updateTitle sets "shadercast — 1280×720 — 29.8 fps — status" when any
// part changed; GL thread.
func (w *Window) updateTitle(width, height int, now time.Time) {
	measured := w.fps.tick(now)
	st := w.status.Load()
	if !measured && width == w.frameW && height == w.frameH && st == w.lastStatus {
		return
	}
	w.frameW, w.frameH, w.lastStatus = width, height, st
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %d×%d", w.opts.Title, width, height)
	if w.fps.fps > 0 {
		fmt.Fprintf(&b, " — %.1f fps", w.fps.fps)
	}
	if st != nil && *st != "" {
		b.WriteString(" — ")
		b.WriteString(*st)
	}
	w.setTitle(b.String())
}

func (w *Window) setTitle(t string) {
	if t != w.title {
		w.title = t
		w.win.SetTitle(t)
	}
}

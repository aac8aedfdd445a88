// Package preview shows the compositor's output live in a desktop window
// (shadercast --preview), drawn straight from the GPU texture that holds
// each composited frame: no readback, no copy through the CPU.
//
// The window's OpenGL context is the compositor's device context. Pass
// (*Window).Context as compositor.DeviceOptions.NewContext, then attach the
// window to the pipeline to show with (*Pipeline).SetPresenter:
//
//	win, err := preview.New(preview.Options{OnKey: toggle})
//	dev, err := compositor.OpenDevice(compositor.DeviceOptions{NewContext: win.Context})
//	pl, err := compositor.NewPipeline(dev, cfg, passes...)
//	pl.SetPresenter(win)
//	...
//	pl.Close(); dev.Close(); win.Close()
//
// Every GLFW call runs on the device's GL thread, which is locked to its
// OS thread for life. GLFW documents that windows belong to the main
// thread; on X11 any single thread works, which is what this package
// relies on. On macOS (Cocoa) windows really must live on the main thread,
// so this package does not support macOS.
//
// The window draws when a frame is presented and handles its events at
// the same time: while the service has no frames, it neither repaints nor
// reacts to keys. Keys: F toggles fullscreen on the primary monitor, S
// saves the composited frame as a PNG, B asks the service to toggle the
// barcode pass (Options.OnKey), Esc or the close button hides the window.
// A hidden window stays hidden: its context is the device's, so it lives
// on, unseen, until the device closes.
package preview

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/dropq"
)

// Options configures a preview window.
type Options struct {
	// Title starts the window title; "shadercast" when empty. The size
	// of the frames, the frame rate and the status follow it.
	Title string
	// Width and Height are the initial size of the window's drawing
	// area; 1280x720 when zero, scaled down to fit the primary monitor.
	Width, Height int
	// OnKey is called with "barcode" when the user presses B, and with
	// "scene-1" to "scene-9" for the digit keys. It runs on
	// a goroutine of its own (never the GL thread), one call at a time, so
	// it may call the pipeline.
	OnKey func(key string)
	// SaveDir is where S saves PNG files; the working directory when
	// empty.
	SaveDir string
	// Logger gets saved files and errors; slog.Default() when nil.
	Logger *slog.Logger
	// ContextAPI chooses how the OpenGL context is made: "egl", "glx",
	// or "" for EGL when the display offers it, else GLX.
	ContextAPI string
}

// Window is a preview window. It implements compositor.Presenter.
type Window struct {
	opts Options
	log  *slog.Logger

	closed    chan struct{} // the user closed the window
	closeOnce sync.Once
	stopped   atomic.Bool // Close was called
	status    atomic.Pointer[string]

	keys  *dropq.Queue[string]  // for OnKey: the latest presses matter most
	saves *dropq.Queue[saveJob] // frames read for S: the latest matter most
	wg    sync.WaitGroup
	quit  chan struct{}

	// probe is the connection that found the X server, held until GLFW
	// has its own (see checkDisplay).
	probeMu sync.Mutex
	probe   io.Closer

	// Everything below is owned by the GL thread.
	win          *glfw.Window
	api          string // "egl" or "glx"
	hidden       bool
	fullscreen   bool
	windowed     [4]int // x, y, width, height before fullscreen
	toggleFS     bool
	saveNext     bool
	title        string
	frameW       int
	frameH       int
	lastStatus   *string
	fps          fpsMeter
	wrongContext bool
}

// active guards against a second window: GLFW is one library state per
// process, initialized and terminated by the window that owns a context.
var active atomic.Bool

// New checks that there is a display and prepares a window; the window
// itself opens when the device calls Context on its GL thread. With no
// display it returns an error matching ErrNoDisplay, without touching
// GLFW.
func New(opts Options) (*Window, error) {
	if runtime.GOOS == "darwin" {
		return nil, errors.New("preview: not supported on macOS (Cocoa windows must live on the main thread; the compositor's GL thread is not it)")
	}
	if opts.Title == "" {
		opts.Title = "shadercast"
	}
	switch opts.ContextAPI {
	case "", "egl", "glx":
	default:
		return nil, fmt.Errorf("preview: context API %q is not \"egl\", \"glx\" or empty", opts.ContextAPI)
	}
	if opts.Width < 0 || opts.Height < 0 {
		return nil, fmt.Errorf("preview: window size %dx%d is negative", opts.Width, opts.Height)
	}
	if opts.SaveDir != "" {
		if st, err := os.Stat(opts.SaveDir); err != nil {
			return nil, fmt.Errorf("preview: save directory: %w", err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("preview: save directory %s is not a directory", opts.SaveDir)
		}
	}
	probe, err := checkDisplay()
	if err != nil {
		return nil, err
	}
	w := &Window{
		probe:  probe,
		opts:   opts,
		log:    opts.Logger,
		closed: make(chan struct{}),
		keys:   dropq.New[string](16, nil),
		saves:  dropq.New[saveJob](4, nil),
		quit:   make(chan struct{}),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.wg.Add(2)
	go w.dispatchKeys()
	go w.writeSaves()
	return w, nil
}

// glContext is the window's context as the compositor sees it.
type glContext struct{ w *Window }

func (c glContext) ProcAddress(name string) unsafe.Pointer { return glfw.GetProcAddress(name) }
func (c glContext) Destroy()                               { c.w.destroy() }
func (c glContext) Platform() string                       { return "glfw-" + c.w.api }

// Context opens the window and makes its OpenGL 3.3 core context current
// on the calling thread; it is meant as compositor.DeviceOptions.NewContext
// and runs on the device's GL thread. The context is created through EGL
// when the display offers it (one path for headless and windowed), else
// through GLX. Errors, GLFW's panics included, come back as errors.
func (w *Window) Context() (ctx compositor.GLContext, err error) {
	if w.stopped.Load() {
		return nil, errors.New("preview: window is closed")
	}
	if w.win != nil {
		return nil, errors.New("preview: the window already has a context (one device per window)")
	}
	if !active.CompareAndSwap(false, true) {
		return nil, errors.New("preview: another preview window is open in this process (GLFW allows one owner)")
	}
	initialized := false
	defer w.closeProbe()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("preview: GLFW: %v", r)
			if e, ok := r.(*glfw.Error); ok && e.Code.String() == "NotInitialized" {
				// glfw.Init "succeeded" but did not connect.
				err = fmt.Errorf("%w: GLFW could not connect to the X server at DISPLAY=%q (GLFW logged why)", ErrNoDisplay, os.Getenv("DISPLAY"))
				initialized = false
			}
		}
		if err != nil {
			if w.win != nil {
				func() { defer func() { recover() }(); w.win.Destroy() }()
				w.win = nil
			}
			if initialized {
				func() { defer func() { recover() }(); glfw.Terminate() }()
			}
			active.Store(false)
		}
	}()
	if err := glfw.Init(); err != nil {
		return nil, fmt.Errorf("preview: GLFW init: %w", err)
	}
	initialized = true
	// glfw.Init reports a failed X connection only in the log; the next
	// call would panic with "not initialized".
	mon := glfw.GetPrimaryMonitor()
	width, height := w.initialSize(mon)
	var errs []error
	for _, api := range []struct {
		name string
		hint int
	}{{"egl", glfw.EGLContextAPI}, {"glx", glfw.NativeContextAPI}} {
		if w.opts.ContextAPI != "" && w.opts.ContextAPI != api.name {
			continue
		}
		glfw.DefaultWindowHints()
		glfw.WindowHint(glfw.ContextCreationAPI, api.hint)
		glfw.WindowHint(glfw.ClientAPI, glfw.OpenGLAPI)
		glfw.WindowHint(glfw.ContextVersionMajor, 3)
		glfw.WindowHint(glfw.ContextVersionMinor, 3)
		glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
		glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
		glfw.WindowHint(glfw.DoubleBuffer, glfw.True)
		win, err := glfw.CreateWindow(width, height, w.opts.Title, nil, nil)
		if win == nil {
			if err == nil {
				err = errors.New("window creation failed (GLFW logged why)")
			}
			errs = append(errs, fmt.Errorf("%s: %w", api.name, err))
			continue
		}
		w.win, w.api = win, api.name
		break
	}
	if w.win == nil {
		return nil, fmt.Errorf("preview: no OpenGL 3.3 core window: %w", errors.Join(errs...))
	}
	w.win.MakeContextCurrent()
	watchX()
	// Never wait for vertical blank: the compositor's frames, not the
	// monitor, set the pace.
	glfw.SwapInterval(0)
	w.win.SetKeyCallback(w.onKey)
	w.win.SetCloseCallback(func(*glfw.Window) { w.hide() })
	w.setTitle(w.opts.Title)
	return glContext{w}, nil
}

// initialSize is the requested size, scaled down to fit the monitor.
func (w *Window) initialSize(mon *glfw.Monitor) (int, int) {
	width, height := w.opts.Width, w.opts.Height
	if width == 0 || height == 0 {
		width, height = 1280, 720
	}
	if mon == nil {
		return width, height
	}
	if mode := mon.GetVideoMode(); mode != nil {
		// Leave room for window decorations and panels.
		maxW, maxH := mode.Width*9/10, mode.Height*9/10
		if width > maxW || height > maxH {
			s := min(float64(maxW)/float64(width), float64(maxH)/float64(height))
			width, height = max(1, int(float64(width)*s)), max(1, int(float64(height)*s))
		}
	}
	return width, height
}

// destroy runs on the GL thread when the device closes.
func (w *Window) destroy() {
	if w.win == nil {
		return
	}
	glfw.DetachCurrentContext()
	w.win.Destroy()
	w.win = nil
	glfw.Terminate()
	active.Store(false)
	w.closeOnce.Do(func() { close(w.closed) })
}

// lose runs on the GL thread when the X server has gone: no more GLFW
// calls that would talk to it, the context renders on for the compositor.
func (w *Window) lose() {
	if w.hidden {
		return
	}
	w.hidden = true
	w.log.Error("preview: lost the connection to the X server; the window is gone, the service keeps running")
	w.closeOnce.Do(func() { close(w.closed) })
}

// hide runs on the GL thread: the window goes away for the user, its
// context stays (it is the device's).
func (w *Window) hide() {
	if w.hidden {
		return
	}
	w.hidden = true
	if w.fullscreen {
		w.setFullscreen(false)
	}
	w.win.Hide()
	w.log.Info("preview window closed; the service keeps running")
	w.closeOnce.Do(func() { close(w.closed) })
}

// Closed is closed when the user has closed the window (Esc or the close
// button), or when the device that owned it closed.
func (w *Window) Closed() <-chan struct{} { return w.closed }

// SetStatus sets a line of text shown after the frame rate in the title,
// such as a shader's compile error; "" clears it. Safe from any goroutine;
// the title changes with the next frame.
func (w *Window) SetStatus(s string) { w.status.Store(&s) }

func (w *Window) closeProbe() {
	w.probeMu.Lock()
	defer w.probeMu.Unlock()
	if w.probe != nil {
		w.probe.Close()
		w.probe = nil
	}
}

// Close stops presenting, waits for PNG files still being written and ends
// the window's goroutines. The window itself, being the device's context,
// goes when the device closes. Close is idempotent.
func (w *Window) Close() error {
	if w.stopped.Swap(true) {
		return nil
	}
	close(w.quit)
	w.wg.Wait()
	w.closeProbe()
	return nil
}

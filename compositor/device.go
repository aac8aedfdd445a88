package compositor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/internal/egl"
	"github.com/shadercast/shadercast/internal/glthread"
)

// ErrNoGL matches the error OpenDevice returns when no platform gives an
// OpenGL 3.3 core context (use errors.Is). The error itself lists every
// platform tried with its EGL error.
var ErrNoGL = egl.ErrNoGL

// ErrClosed is returned for work handed to a closed device or pipeline.
var ErrClosed = errors.New("compositor: closed")

// DeviceOptions chooses how the GL context is made.
type DeviceOptions struct {
	// Platform restricts the EGL platforms tried: "device" (a GPU),
	// "surfaceless" (Mesa) or "software"; empty tries them in that order.
	Platform string
	// NewContext, when set, makes the context instead of EGL (a preview
	// window's, for example). It runs on the device's GL thread, which is
	// locked to its OS thread, and must leave the context current there.
	NewContext func() (GLContext, error)
}

// DeviceInfo describes the context a Device runs on.
type DeviceInfo struct {
	Platform string `json:"platform"`
	Vendor   string `json:"vendor"`
	Renderer string `json:"renderer"`
	Version  string `json:"version"`
	// Software is true on a software rasterizer (llvmpipe).
	Software bool `json:"software"`
	// TimerQueries is true when per-pass GPU times can be measured.
	TimerQueries bool `json:"timerQueries"`
	// GLSL is the context's own GLSL version (330 for OpenGL 3.3, 450 for
	// 4.5): ISF files that rely on implicit conversions GLSL 3.30 refuses
	// compile with it.
	GLSL int `json:"glsl"`
}

// Device owns one headless OpenGL context and the OS thread it is bound to.
// Pipelines made on a Device share its thread: all their GL work is
// serialized there, which is what a single GPU context requires anyway.
type Device struct {
	thread *glthread.Thread
	ctx    GLContext
	info   DeviceInfo

	// objects counts live GL objects by kind so that tests and stats can
	// prove a closed pipeline left nothing behind. Only the GL thread
	// writes; readers use the snapshot under mu.
	mu      sync.Mutex
	objects map[string]int

	closed atomic.Bool
	vao    uint32 // the empty vertex array every full-screen draw binds

	// pipelines is touched on the GL thread only.
	pipelines []*Pipeline

	act activity // what the GL thread renders, for Activity
}

// addPipeline and removePipeline run on the GL thread.
func (d *Device) addPipeline(p *Pipeline) { d.pipelines = append(d.pipelines, p) }

func (d *Device) removePipeline(p *Pipeline) {
	for i, q := range d.pipelines {
		if q == p {
			d.pipelines = append(d.pipelines[:i], d.pipelines[i+1:]...)
			return
		}
	}
}

// idle runs on the GL thread when no task is queued: asynchronous readbacks
// left open for overlap must complete now, or their callers would wait for
// a frame that never comes.
func (d *Device) idle() { d.flushExcept(nil) }

// flushExcept completes the open readbacks of every pipeline but skip.
func (d *Device) flushExcept(skip *Pipeline) {
	for _, p := range d.pipelines {
		if p != skip {
			p.flush()
		}
	}
}

// OpenDevice creates the GL thread and its context. When no platform works
// the error lists each one tried (errors.Is(err, ErrNoGL)).
func OpenDevice(opts DeviceOptions) (*Device, error) {
	d := &Device{objects: map[string]int{}}
	t, err := glthread.Start(func() error {
		newContext := opts.NewContext
		if newContext == nil {
			newContext = func() (GLContext, error) { return openEGL(opts.Platform) }
		}
		c, err := newContext()
		if err != nil {
			return err
		}
		platform := contextPlatform(c)
		if err := gl.InitWithProcAddrFunc(c.ProcAddress); err != nil {
			c.Destroy()
			return fmt.Errorf("compositor: loading OpenGL through %s: %w", platform, err)
		}
		// gl.Init succeeds without a usable context: check that GL
		// really answers before trusting it.
		ver := gl.GetString(gl.VERSION)
		if ver == nil {
			c.Destroy()
			return &egl.InitError{Attempts: []egl.Attempt{{Platform: platform, Err: "context current but glGetString(GL_VERSION) is NULL"}}}
		}
		var major, minor int32
		gl.GetIntegerv(gl.MAJOR_VERSION, &major)
		gl.GetIntegerv(gl.MINOR_VERSION, &minor)
		if major < 3 || major == 3 && minor < 3 {
			c.Destroy()
			return &egl.InitError{Attempts: []egl.Attempt{{Platform: platform, Err: fmt.Sprintf("OpenGL %d.%d < 3.3", major, minor)}}}
		}
		d.ctx = c
		d.info = DeviceInfo{
			Platform: platform,
			Vendor:   gl.GoStr(gl.GetString(gl.VENDOR)),
			Renderer: gl.GoStr(gl.GetString(gl.RENDERER)),
			Version:  gl.GoStr(ver),
		}
		r := strings.ToLower(d.info.Renderer)
		// The renderer string decides: Mesa's surfaceless platform can sit
		// on a GPU driver as well as on llvmpipe.
		d.info.Software = strings.Contains(r, "llvmpipe") || strings.Contains(r, "softpipe") || strings.Contains(r, "swrast")
		var bits int32
		gl.GetQueryiv(gl.TIME_ELAPSED, gl.QUERY_COUNTER_BITS, &bits)
		d.info.TimerQueries = bits > 0
		d.info.GLSL = int(100*major + 10*minor)
		gl.GenVertexArrays(1, &d.vao)
		gl.BindVertexArray(d.vao)
		gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
		gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
		return nil
	}, d.idle)
	if err != nil {
		return nil, err
	}
	d.thread = t
	return d, nil
}

// Info describes the context.
func (d *Device) Info() DeviceInfo { return d.info }

// Objects returns the number of live GL objects this device's pipelines
// hold, by kind ("texture", "framebuffer", "buffer", "program", "query",
// "sync").
func (d *Device) Objects() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]int, len(d.objects))
	for k, v := range d.objects {
		if v != 0 {
			m[k] = v
		}
	}
	return m
}

func (d *Device) track(kind string, n int) {
	d.mu.Lock()
	d.objects[kind] += n
	d.mu.Unlock()
}

// call runs f on the GL thread (directly when already there); for setup
// and control, not per frame. Open readbacks complete first, so that a
// stream of control calls cannot hold them back.
func (d *Device) call(f func() error) error {
	if d.closed.Load() {
		return ErrClosed
	}
	err := d.thread.Call(func() error {
		d.idle()
		return f()
	})
	if errors.Is(err, glthread.ErrStopped) {
		return ErrClosed
	}
	return err
}

// callContext is call with a deadline for the thread to take f up (see
// glthread.Thread.CallContext).
func (d *Device) callContext(ctx context.Context, f func() error) error {
	if d.closed.Load() {
		return ErrClosed
	}
	err := d.thread.CallContext(ctx, func() error {
		d.idle()
		return f()
	})
	if errors.Is(err, glthread.ErrStopped) {
		return ErrClosed
	}
	return err
}

// Close ends the GL thread and destroys the context. Pipelines still open
// on the device stop working (their calls return ErrClosed).
func (d *Device) Close() error {
	if d.thread.OnThread() {
		return glthread.ErrReentrant
	}
	if d.closed.Swap(true) {
		return nil
	}
	d.thread.Stop(func() {
		// Frames already rendered get their pixels before the context
		// goes; frames still queued are aborted with ErrClosed.
		d.idle()
		for _, p := range d.pipelines {
			p.closed.Store(true)
		}
		gl.DeleteVertexArrays(1, &d.vao)
		d.ctx.Destroy()
	})
	return nil
}

// glError turns the GL error flag into a Go error naming the step.
func glError(step string) error {
	code := gl.GetError()
	if code == gl.NO_ERROR {
		return nil
	}
	// Drain: GL may hold several flags.
	for gl.GetError() != gl.NO_ERROR {
	}
	name := map[uint32]string{
		gl.INVALID_ENUM:                  "GL_INVALID_ENUM",
		gl.INVALID_VALUE:                 "GL_INVALID_VALUE",
		gl.INVALID_OPERATION:             "GL_INVALID_OPERATION",
		gl.INVALID_FRAMEBUFFER_OPERATION: "GL_INVALID_FRAMEBUFFER_OPERATION",
		gl.OUT_OF_MEMORY:                 "GL_OUT_OF_MEMORY",
	}[code]
	if name == "" {
		name = fmt.Sprintf("0x%x", code)
	}
	return fmt.Errorf("compositor: %s: %s", step, name)
}

// Package egl creates a headless OpenGL context through EGL, with no window
// system: the EGL device platform first (a real GPU), then Mesa's surfaceless
// platform, then software devices. It exists so that the compositor renders
// the same way on a GPU server and on a CI machine without one.
//
// Every function here must run on the one OS thread that owns the context;
// the compositor's GL thread guarantees that.
package egl

/*
#cgo pkg-config: egl
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <stdlib.h>

static EGLDisplay sc_platform_display(EGLenum platform, void *native) {
	PFNEGLGETPLATFORMDISPLAYEXTPROC f =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (f == NULL) return EGL_NO_DISPLAY;
	return f(platform, native, NULL);
}

static int sc_query_devices(EGLDeviceEXT *devs, int max) {
	PFNEGLQUERYDEVICESEXTPROC f = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
	EGLint n = 0;
	if (f == NULL) return -1;
	if (!f(max, devs, &n)) return -2;
	return n;
}

static const char *sc_device_string(EGLDeviceEXT dev, EGLint name) {
	PFNEGLQUERYDEVICESTRINGEXTPROC f =
		(PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
	if (f == NULL) return NULL;
	return f(dev, name);
}

static void *sc_dev_at(EGLDeviceEXT *devs, int i) { return devs[i]; }
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// Attempt records one platform that was tried and why it failed.
type Attempt struct {
	Platform string // e.g. "device 0 (/dev/dri/renderD128)", "surfaceless"
	Err      string // EGL error name and the step that failed
}

// InitError is returned when no platform yields a usable context. It lists
// every attempt so that the operator sees why each one failed.
type InitError struct {
	Attempts []Attempt
}

func (e *InitError) Error() string {
	var b strings.Builder
	b.WriteString("egl: no usable OpenGL 3.3 core context (is libegl1 with a Mesa or NVIDIA driver installed?)")
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "; %s: %s", a.Platform, a.Err)
	}
	if len(e.Attempts) == 0 {
		b.WriteString("; no EGL platform could be tried")
	}
	return b.String()
}

// ErrNoGL matches any *InitError through errors.Is.
var ErrNoGL = errors.New("egl: no OpenGL available")

// Is makes errors.Is(err, ErrNoGL) true for an *InitError.
func (e *InitError) Is(target error) bool { return target == ErrNoGL }

// Context is a current, headless OpenGL core context.
type Context struct {
	dpy C.EGLDisplay
	ctx C.EGLContext
	// Platform names the platform that worked, for logs and stats.
	Platform string
	// Software reports whether the device is a software rasterizer
	// (llvmpipe), which changes what is worth doing (for example
	// pixel-buffer uploads only help a real GPU).
	Software bool
}

// Options selects what to try. The zero value tries everything.
type Options struct {
	// Major and Minor version of the core profile requested; 3.3 when zero.
	Major, Minor int
	// Only, when non-empty, restricts the platforms tried: "device",
	// "surfaceless" or "software".
	Only string
}

// Open creates a context and makes it current on the calling thread. The
// caller must have locked the goroutine to its OS thread.
func Open(opts Options) (*Context, error) {
	if opts.Major == 0 {
		opts.Major, opts.Minor = 3, 3
	}
	var attempts []Attempt
	try := func(name string, software bool, dpy C.EGLDisplay) *Context {
		c, err := create(dpy, opts)
		if err != nil {
			attempts = append(attempts, Attempt{Platform: name, Err: err.Error()})
			return nil
		}
		c.Platform = name
		c.Software = software
		return c
	}

	type dev struct {
		name     string
		software bool
		handle   unsafe.Pointer
	}
	var devices []dev
	var raw [16]C.EGLDeviceEXT
	n := C.sc_query_devices(&raw[0], C.int(len(raw)))
	switch {
	case n == -1:
		attempts = append(attempts, Attempt{Platform: "device", Err: "eglQueryDevicesEXT unavailable"})
	case n == -2:
		attempts = append(attempts, Attempt{Platform: "device", Err: "eglQueryDevicesEXT failed: " + lastError()})
	case n == 0:
		attempts = append(attempts, Attempt{Platform: "device", Err: "eglQueryDevicesEXT found no devices"})
	}
	for i := 0; i < int(n); i++ {
		h := C.sc_dev_at(&raw[0], C.int(i))
		exts := goString(C.sc_device_string(C.EGLDeviceEXT(h), C.EGL_EXTENSIONS))
		file := goString(C.sc_device_string(C.EGLDeviceEXT(h), C.EGL_DRM_DEVICE_FILE_EXT))
		name := fmt.Sprintf("device %d", i)
		if file != "" {
			name += " (" + file + ")"
		}
		sw := strings.Contains(exts, "EGL_MESA_device_software")
		if sw {
			name += " (software)"
		}
		devices = append(devices, dev{name, sw, h})
	}

	want := func(kind string) bool { return opts.Only == "" || opts.Only == kind }
	if want("device") {
		gpus := 0
		for _, d := range devices {
			if !d.software {
				gpus++
			}
		}
		if gpus == 0 && len(devices) > 0 {
			attempts = append(attempts, Attempt{Platform: "device", Err: fmt.Sprintf("%d EGL device(s), none a GPU (all EGL_MESA_device_software)", len(devices))})
		}
		for _, d := range devices {
			if d.software {
				continue
			}
			dpy := C.sc_platform_display(C.EGL_PLATFORM_DEVICE_EXT, d.handle)
			if dpy == C.EGLDisplay(C.EGL_NO_DISPLAY) {
				attempts = append(attempts, Attempt{Platform: d.name, Err: "eglGetPlatformDisplay: " + lastError()})
				continue
			}
			if c := try(d.name, false, dpy); c != nil {
				return c, nil
			}
		}
	}
	if want("surfaceless") {
		dpy := C.sc_platform_display(C.EGL_PLATFORM_SURFACELESS_MESA, nil)
		if dpy == C.EGLDisplay(C.EGL_NO_DISPLAY) {
			attempts = append(attempts, Attempt{Platform: "surfaceless", Err: "eglGetPlatformDisplay: " + lastError()})
		} else if c := try("surfaceless", true, dpy); c != nil {
			// Mesa's surfaceless platform may still sit on a GPU driver;
			// the renderer string decides, see SetRenderer.
			return c, nil
		}
	}
	if want("software") {
		for _, d := range devices {
			if !d.software {
				continue
			}
			dpy := C.sc_platform_display(C.EGL_PLATFORM_DEVICE_EXT, d.handle)
			if dpy == C.EGLDisplay(C.EGL_NO_DISPLAY) {
				attempts = append(attempts, Attempt{Platform: d.name, Err: "eglGetPlatformDisplay: " + lastError()})
				continue
			}
			if c := try(d.name, true, dpy); c != nil {
				return c, nil
			}
		}
	}
	return nil, &InitError{Attempts: attempts}
}

// EGL returns the same display for the same platform, and eglTerminate
// is not reference counted: one context's Destroy would end every other
// context on that display. displays counts the users of each.
var (
	displaysMu sync.Mutex
	displays   = map[C.EGLDisplay]int{}
)

func retainDisplay(dpy C.EGLDisplay) error {
	displaysMu.Lock()
	defer displaysMu.Unlock()
	if displays[dpy] == 0 {
		var major, minor C.EGLint
		if C.eglInitialize(dpy, &major, &minor) == C.EGL_FALSE {
			return fmt.Errorf("eglInitialize: %s", lastError())
		}
	}
	displays[dpy]++
	return nil
}

func releaseDisplay(dpy C.EGLDisplay) {
	displaysMu.Lock()
	defer displaysMu.Unlock()
	if displays[dpy]--; displays[dpy] <= 0 {
		delete(displays, dpy)
		C.eglTerminate(dpy)
	}
}

func create(dpy C.EGLDisplay, opts Options) (*Context, error) {
	if err := retainDisplay(dpy); err != nil {
		return nil, err
	}
	fail := func(step string) (*Context, error) {
		err := fmt.Errorf("%s: %s", step, lastError())
		releaseDisplay(dpy)
		return nil, err
	}
	if C.eglBindAPI(C.EGL_OPENGL_API) == C.EGL_FALSE {
		return fail("eglBindAPI(EGL_OPENGL_API)")
	}
	cfgAttrs := []C.EGLint{
		C.EGL_RENDERABLE_TYPE, C.EGL_OPENGL_BIT,
		C.EGL_SURFACE_TYPE, 0,
		C.EGL_NONE,
	}
	var cfg C.EGLConfig
	var ncfg C.EGLint
	if C.eglChooseConfig(dpy, &cfgAttrs[0], &cfg, 1, &ncfg) == C.EGL_FALSE {
		return fail("eglChooseConfig")
	}
	if ncfg == 0 {
		releaseDisplay(dpy)
		return nil, errors.New("eglChooseConfig: no config renders OpenGL")
	}
	ctxAttrs := []C.EGLint{
		C.EGL_CONTEXT_MAJOR_VERSION, C.EGLint(opts.Major),
		C.EGL_CONTEXT_MINOR_VERSION, C.EGLint(opts.Minor),
		C.EGL_CONTEXT_OPENGL_PROFILE_MASK, C.EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		C.EGL_NONE,
	}
	ctx := C.eglCreateContext(dpy, cfg, C.EGLContext(C.EGL_NO_CONTEXT), &ctxAttrs[0])
	if ctx == C.EGLContext(C.EGL_NO_CONTEXT) {
		return fail(fmt.Sprintf("eglCreateContext(%d.%d core)", opts.Major, opts.Minor))
	}
	if C.eglMakeCurrent(dpy, C.EGLSurface(C.EGL_NO_SURFACE), C.EGLSurface(C.EGL_NO_SURFACE), ctx) == C.EGL_FALSE {
		C.eglDestroyContext(dpy, ctx)
		return fail("eglMakeCurrent(surfaceless)")
	}
	return &Context{dpy: dpy, ctx: ctx}, nil
}

// Destroy releases the context and the display. The context must be current
// on the calling thread.
func (c *Context) Destroy() {
	if c == nil || c.dpy == C.EGLDisplay(C.EGL_NO_DISPLAY) {
		return
	}
	C.eglMakeCurrent(c.dpy, C.EGLSurface(C.EGL_NO_SURFACE), C.EGLSurface(C.EGL_NO_SURFACE), C.EGLContext(C.EGL_NO_CONTEXT))
	C.eglDestroyContext(c.dpy, c.ctx)
	releaseDisplay(c.dpy)
	c.dpy = C.EGLDisplay(C.EGL_NO_DISPLAY)
}

// ProcAddress resolves a GL entry point; go-gl's InitWithProcAddrFunc uses
// it so that GL is loaded through EGL without a build tag.
func ProcAddress(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return unsafe.Pointer(C.eglGetProcAddress(cs))
}

func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

var errorNames = map[C.EGLint]string{
	C.EGL_SUCCESS:             "EGL_SUCCESS",
	C.EGL_NOT_INITIALIZED:     "EGL_NOT_INITIALIZED",
	C.EGL_BAD_ACCESS:          "EGL_BAD_ACCESS",
	C.EGL_BAD_ALLOC:           "EGL_BAD_ALLOC",
	C.EGL_BAD_ATTRIBUTE:       "EGL_BAD_ATTRIBUTE",
	C.EGL_BAD_CONFIG:          "EGL_BAD_CONFIG",
	C.EGL_BAD_CONTEXT:         "EGL_BAD_CONTEXT",
	C.EGL_BAD_CURRENT_SURFACE: "EGL_BAD_CURRENT_SURFACE",
	C.EGL_BAD_DISPLAY:         "EGL_BAD_DISPLAY",
	C.EGL_BAD_MATCH:           "EGL_BAD_MATCH",
	C.EGL_BAD_NATIVE_PIXMAP:   "EGL_BAD_NATIVE_PIXMAP",
	C.EGL_BAD_NATIVE_WINDOW:   "EGL_BAD_NATIVE_WINDOW",
	C.EGL_BAD_PARAMETER:       "EGL_BAD_PARAMETER",
	C.EGL_BAD_SURFACE:         "EGL_BAD_SURFACE",
	C.EGL_CONTEXT_LOST:        "EGL_CONTEXT_LOST",
}

func lastError() string {
	code := C.eglGetError()
	if name, ok := errorNames[code]; ok {
		return name
	}
	return fmt.Sprintf("EGL error 0x%x", int(code))
}

//go:build !wayland

package preview

/*
#cgo pkg-config: x11
#include <X11/Xlib.h>

extern void previewXIOExit(Display*, void*);

// Xlib's default handlers print and then exit(3) the process when the X
// server goes away; these record it instead. Xlib marks the display dead
// and later calls on it return without doing anything.
static int previewXIOError(Display* d) { return 0; }

static void previewWatchX(void* d) {
	XSetIOErrorHandler(previewXIOError);
	XSetIOErrorExitHandler((Display*)d, previewXIOExit, NULL);
}
*/
import "C"

import (
	"sync/atomic"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"
)

// x11Build: GLFW talks to an X server (DISPLAY).
const x11Build = true

// xLost is set when the connection to the X server broke. There is one
// preview window per process, hence one display to watch.
var xLost atomic.Bool

//export previewXIOExit
func previewXIOExit(*C.Display, unsafe.Pointer) { xLost.Store(true) }

// watchX keeps a lost X server (killed, or its session ended) from ending
// the whole service: the window is given up, the compositor goes on.
// GL thread, after the window exists.
func watchX() {
	xLost.Store(false)
	C.previewWatchX(unsafe.Pointer(glfw.GetX11Display()))
}

//go:build wayland

package preview

import "sync/atomic"

// x11Build: GLFW talks to a Wayland compositor (WAYLAND_DISPLAY).
const x11Build = false

// xLost stays false: Wayland connections do not end the process.
var xLost atomic.Bool

func watchX() {}

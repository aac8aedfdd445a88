package preview

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrNoDisplay matches the error New returns when there is no display to
// open a window on (use errors.Is).
var ErrNoDisplay = errors.New("preview: no display")

// checkDisplay finds the X server before GLFW is touched: with no display,
// glfw.Init returns no error but leaves GLFW uninitialized, and the next
// GLFW call panics.
//
// The connection it returns must stay open until GLFW has connected: an X
// server with no clients left resets (unless run with -noreset), and
// connections that arrive during the reset are dropped, so a probe that
// hung up at once could make GLFW's own connection fail.
func checkDisplay() (io.Closer, error) {
	if !x11Build {
		if os.Getenv("WAYLAND_DISPLAY") == "" {
			return nil, fmt.Errorf("%w: WAYLAND_DISPLAY is not set (this build talks to Wayland; the default build talks to X11 through DISPLAY)", ErrNoDisplay)
		}
		return io.NopCloser(nil), nil
	}
	display := os.Getenv("DISPLAY")
	if display == "" {
		if os.Getenv("WAYLAND_DISPLAY") != "" {
			return nil, fmt.Errorf("%w: DISPLAY is not set (WAYLAND_DISPLAY is, but this build talks to X11: run it under XWayland, which sets DISPLAY)", ErrNoDisplay)
		}
		return nil, fmt.Errorf("%w: DISPLAY is not set (the preview window needs an X server; run without --preview, or under Xvfb)", ErrNoDisplay)
	}
	c, err := dialX(display)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot reach the X server at DISPLAY=%q: %v", ErrNoDisplay, display, err)
	}
	return c, nil
}

// dialX connects to the X server named by display ("[host]:N[.screen]")
// the way Xlib would: it proves that a server is there.
func dialX(display string) (net.Conn, error) {
	host, rest, ok := strings.Cut(display, ":")
	if !ok {
		return nil, errors.New("malformed display name")
	}
	num, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return nil, errors.New("malformed display name")
	}
	var c net.Conn
	if host == "" || host == "unix" {
		path := "/tmp/.X11-unix/X" + num
		if c, err = net.DialTimeout("unix", path, time.Second); err != nil {
			// Linux servers also listen in the abstract namespace.
			c, err = net.DialTimeout("unix", "@"+path, time.Second)
		}
		if err != nil && host == "" {
			c, err = net.DialTimeout("tcp", net.JoinHostPort("localhost", strconv.Itoa(6000+n)), time.Second)
		}
	} else if strings.HasPrefix(host, "/") {
		// launchd-style socket paths (XQuartz).
		c, err = net.DialTimeout("unix", display, time.Second)
	} else {
		c, err = net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(6000+n)), time.Second)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

package compositor

import (
	"fmt"
	"os"
	"testing"
)

// testDevice is shared by the package's tests: a context per test would
// spend most of the run creating contexts.
var testDevice *Device

func TestMain(m *testing.M) {
	if os.Getenv("SHADERCAST_CHILD") != "" {
		// Re-executed by a test that needs a fresh process (see
		// TestNoGLError); it opens its own device.
		os.Exit(m.Run())
	}
	d, err := OpenDevice(DeviceOptions{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "compositor tests need OpenGL 3.3 through EGL (Mesa llvmpipe works: run scripts/install-deps): %v\n", err)
		os.Exit(1)
	}
	testDevice = d
	info := d.Info()
	fmt.Fprintf(os.Stderr, "GL: %s | %s | %s | software=%v timers=%v\n", info.Platform, info.Renderer, info.Version, info.Software, info.TimerQueries)
	code := m.Run()
	d.Close()
	os.Exit(code)
}

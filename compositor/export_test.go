package compositor

// SharedTestDevice is the device of the package's tests (TestMain), for
// its external tests (package compositor_test).
func SharedTestDevice() *Device { return testDevice }

package main

import (
	"os"
	"testing"

	"github.com/shadercast/shadercast/trial"
)

// TestMain lets this test binary serve as the trial child of shader
// check (os.Executable is the test binary here).
func TestMain(m *testing.M) {
	trial.RunChildIfRequested()
	os.Exit(m.Run())
}

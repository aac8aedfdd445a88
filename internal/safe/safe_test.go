package safe

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestDoReturnsError(t *testing.T) {
	want := errors.New("plain")
	if err := Do(func() error { return want }); err != want {
		t.Fatalf("Do = %v, want %v", err, want)
	}
	if err := Do(func() error { return nil }); err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
}

func TestDoRecoversRuntimePanic(t *testing.T) {
	var s []int
	i := 3
	err := Do(func() error { _ = s[i]; return nil })
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Do = %v (%T), want *PanicError", err, err)
	}
	var re runtime.Error
	if !errors.As(err, &re) {
		t.Fatalf("runtime error not unwrapped from %v", err)
	}
	if !strings.Contains(string(pe.Stack), "TestDoRecoversRuntimePanic") {
		t.Fatalf("stack does not name the panicking function:\n%s", pe.Stack)
	}
	if !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("message %q does not say what panicked", err)
	}
}

func TestValue(t *testing.T) {
	v, err := Value(func() (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Fatalf("Value = %d, %v", v, err)
	}
	v, err = Value(func() (int, error) { panic("boom") })
	var pe *PanicError
	if v != 0 || !errors.As(err, &pe) || pe.Value != "boom" || pe.Unwrap() != nil {
		t.Fatalf("Value = %d, %v", v, err)
	}
}

// Package safe turns a panic into an error at the goroutine boundaries that
// run untrusted work: input readers, image and video decoders, plugin
// loading. A bug that a crafted file can reach must cost that file (its
// input or plugin goes to a failed state, the service logs and counts it),
// never the process.
//
// Only boundaries that run work on outside data use it: a panic anywhere
// else is a programming error that should crash loudly in tests.
package safe

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a recovered panic.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, for the log.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (recovered panic): %v", e.Value)
}

// Unwrap returns the panic value when it is an error (runtime errors such
// as an index out of range are), so errors.As finds it.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// Do runs f and returns its error, or a *PanicError when f panics.
func Do(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// Value runs f and returns its results, or the zero T and a *PanicError
// when f panics.
func Value[T any](f func() (T, error)) (v T, err error) {
	err = Do(func() error {
		var ferr error
		v, ferr = f()
		return ferr
	})
	return v, err
}

package media

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by operations on a closed frame, including the zero
// value and stale copies of a frame that has been closed. Test with errors.Is.
var ErrClosed = errors.New("media: frame is closed")

// FieldError reports an invalid argument. Field names the offending input so
// callers and logs can point at the exact mistake: the Go field name of an
// init or options struct ("CodedWidth", "Layout[1].Stride",
// "ColorSpace.Matrix", "FrameOffset"), or the parameter name of a buffer or
// index argument ("data", "dst", "layout[0].Offset", "index").
// "CodedWidth*CodedHeight" names the total pixel cap (MaxPixels).
type FieldError struct {
	Field  string
	Value  any
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("media: invalid %s (%v): %s", e.Field, e.Value, e.Reason)
}

func fieldErr(field string, value any, format string, args ...any) error {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

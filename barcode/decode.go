package barcode

/*
#include "zxing_shim.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Decoder flags (zxing_shim.h).
const (
	zxTryHarder    = C.ZX_TRY_HARDER
	zxTryRotate    = C.ZX_TRY_ROTATE
	zxTryDownscale = C.ZX_TRY_DOWNSCALE
	zxPure         = C.ZX_PURE
)

// maxDecodeResults sizes the result array; Detector asks for one symbol at
// a time (see decodeFlags), so more is only for completeness of the shim.
const maxDecodeResults = 8

// decoder owns the buffers handed to zxing-cpp so that repeated reads only
// allocate for the result strings.
type decoder struct {
	res   [maxDecodeResults]C.zx_result
	text  []byte
	err   [256]C.char
	calls int // zxing calls made, for tests
	// corners of the result being handed to fn: a field rather than a
	// local, which would escape through the call of fn (a func value) and
	// cost an allocation per symbol read.
	corners [4]Point
}

// read decodes g (which must stay untouched for the call; cgo pins the
// backing array while zx_read runs, so no copy is made) and calls fn for each
// symbol. fn's text and corners are only valid during the call. A read that
// succeeds allocates nothing.
func (d *decoder) read(g Gray, formats, flags, maxResults int, fn func(format int, text []byte, corners *[4]Point)) (int, error) {
	if g.Width <= 0 || g.Height <= 0 || len(g.Pix) < (g.Height-1)*g.Stride+g.Width {
		return 0, errors.New("barcode: bad luma view")
	}
	if d.text == nil {
		d.text = make([]byte, 16<<10)
	}
	d.calls++
	n := C.zx_read((*C.uint8_t)(unsafe.Pointer(&g.Pix[0])), C.int(g.Width), C.int(g.Height), C.int(g.Stride),
		C.int(formats), C.int(flags), &d.res[0], C.int(min(max(maxResults, 1), len(d.res))),
		(*C.char)(unsafe.Pointer(&d.text[0])), C.int(len(d.text)), &d.err[0], C.int(len(d.err)))
	if n < 0 {
		return 0, errors.New("barcode: zxing: " + C.GoString(&d.err[0]))
	}
	for i := 0; i < int(n); i++ {
		r := &d.res[i]
		for k := 0; k < 4; k++ {
			d.corners[k] = Point{float64(r.x[k]), float64(r.y[k])}
		}
		fn(int(r.format), d.text[r.text_off:r.text_off+r.text_len], &d.corners)
	}
	return int(n), nil
}

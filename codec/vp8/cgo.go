package vp8

/*
#cgo pkg-config: vpx
#include "scv8.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func newCEnc() *C.scv8_enc {
	return (*C.scv8_enc)(C.calloc(1, C.size_t(unsafe.Sizeof(C.scv8_enc{}))))
}

func newCDec() *C.scv8_dec {
	return (*C.scv8_dec)(C.calloc(1, C.size_t(unsafe.Sizeof(C.scv8_dec{}))))
}

// vpxError formats a libvpx failure with the codec's detail string.
func vpxError(op string, code C.vpx_codec_err_t, detail *C.char) error {
	msg := C.GoString(C.vpx_codec_err_to_string(code))
	if detail != nil {
		if d := C.GoString(detail); d != "" && d != msg {
			msg += ": " + d
		}
	}
	return fmt.Errorf("vp8: %s: %s", op, msg)
}

package barcode

/*
#cgo pkg-config: zxing
#cgo CXXFLAGS: -std=c++17 -DZX_USE_UTF8 -O2
#include <stdlib.h>
#include "zxing_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"unsafe"
)

// zxing-cpp 1.4 BarcodeFormat bit values (BarcodeFormat.h).
const (
	zxAztec           = 1 << 0
	zxCodabar         = 1 << 1
	zxCode39          = 1 << 2
	zxCode93          = 1 << 3
	zxCode128         = 1 << 4
	zxDataBar         = 1 << 5
	zxDataBarExpanded = 1 << 6
	zxDataMatrix      = 1 << 7
	zxEAN8            = 1 << 8
	zxEAN13           = 1 << 9
	zxITF             = 1 << 10
	zxMaxiCode        = 1 << 11
	zxPDF417          = 1 << 12
	zxQRCode          = 1 << 13
	zxUPCA            = 1 << 14
	zxUPCE            = 1 << 15
	zxMicroQRCode     = 1 << 16

	// zxWebFormats are the symbologies that have a Shape Detection API name;
	// the others are not searched for so that every result can be named.
	zxWebFormats = zxAztec | zxCodabar | zxCode39 | zxCode93 | zxCode128 | zxDataMatrix |
		zxEAN8 | zxEAN13 | zxITF | zxPDF417 | zxQRCode | zxUPCA | zxUPCE
)

// webFormats maps zxing-cpp format bits to Shape Detection API names.
var webFormats = map[int]string{
	zxAztec:      "aztec",
	zxCodabar:    "codabar",
	zxCode39:     "code_39",
	zxCode93:     "code_93",
	zxCode128:    "code_128",
	zxDataMatrix: "data_matrix",
	zxEAN8:       "ean_8",
	zxEAN13:      "ean_13",
	zxITF:        "itf",
	zxPDF417:     "pdf417",
	zxQRCode:     "qr_code",
	zxUPCA:       "upc_a",
	zxUPCE:       "upc_e",
}

// zxingNames maps zxing-cpp's own format names (as in ToString(BarcodeFormat),
// used by the ground-truth manifest) to Shape Detection API names.
var zxingNames = map[string]string{
	"Aztec":      "aztec",
	"Codabar":    "codabar",
	"Code39":     "code_39",
	"Code93":     "code_93",
	"Code128":    "code_128",
	"DataMatrix": "data_matrix",
	"EAN-8":      "ean_8",
	"EAN-13":     "ean_13",
	"ITF":        "itf",
	"PDF417":     "pdf417",
	"QRCode":     "qr_code",
	"UPC-A":      "upc_a",
	"UPC-E":      "upc_e",
}

// WebFormatName converts a zxing-cpp format name ("EAN-13", "QRCode", ...) to
// the Shape Detection API name ("ean_13", "qr_code", ...); names that already
// are web names pass through, anything else gives "unknown".
func WebFormatName(zxingName string) string {
	if w, ok := zxingNames[zxingName]; ok {
		return w
	}
	for _, w := range webFormats {
		if w == zxingName {
			return w
		}
	}
	return "unknown"
}

func formatBit(web string) (int, bool) {
	web = strings.ToLower(web)
	for bit, w := range webFormats {
		if w == web {
			return bit, true
		}
	}
	return 0, false
}

// Encode renders text as a barcode of the given web format name (ean_13,
// ean_8, upc_a, upc_e, code_128, code_39, code_93, codabar, itf, qr_code,
// data_matrix, pdf417, aztec) using zxing-cpp's MultiFormatWriter. Bars are 0,
// spaces 255. width and height are the requested size in pixels; zxing-cpp
// scales by integer module sizes and pads with quiet zone, and may return a
// larger image when the request is too small for the symbol (0 asks for the
// minimum size).
func Encode(format, text string, width, height int) (*image.Gray, error) {
	bit, ok := formatBit(format)
	if !ok {
		return nil, fmt.Errorf("barcode: unsupported format %q", format)
	}
	if width < 0 || height < 0 {
		return nil, errors.New("barcode: negative size")
	}
	var errBuf [256]C.char
	var ow, oh C.int
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	buf := C.zx_encode(C.int(bit), ctext, C.int(len(text)), C.int(width), C.int(height), -1,
		&ow, &oh, &errBuf[0], C.int(len(errBuf)))
	if buf == nil {
		return nil, fmt.Errorf("barcode: encode %s %q: %s", format, text, C.GoString(&errBuf[0]))
	}
	defer C.zx_free(unsafe.Pointer(buf))
	img := image.NewGray(image.Rect(0, 0, int(ow), int(oh)))
	copy(img.Pix, unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(ow)*int(oh)))
	return img, nil
}

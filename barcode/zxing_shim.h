// Thin C interface over zxing-cpp 1.4 so that cgo can call it. All memory
// crossing the boundary is owned by the caller (Go) except the encoder's
// output bitmap, which is returned with malloc and freed by zx_free.
#ifndef SHADERCAST_ZXING_SHIM_H
#define SHADERCAST_ZXING_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// One decoded symbol. Text lives in the caller's text buffer at
// [text_off, text_off+text_len); corners are in the pixel coordinates of the
// view passed to zx_read (top-left, top-right, bottom-right, bottom-left of
// the symbol in its own orientation).
typedef struct {
	int32_t format;   // ZXing::BarcodeFormat bit value
	int32_t text_off;
	int32_t text_len; // bytes actually stored (truncated if the buffer ran out)
	int32_t x[4];
	int32_t y[4];
} zx_result;

// Decode flags.
enum {
	ZX_TRY_HARDER = 1,
	ZX_TRY_ROTATE = 2,
	ZX_TRY_DOWNSCALE = 4,
	ZX_PURE = 8,
};

// zx_read decodes 8-bit luma pixels (row_stride bytes between rows) without
// copying them. formats is a ZXing::BarcodeFormats bit set (0 = any).
// It returns the number of results written (at most max_results), or -1 on an
// internal error (message in err). Beware: with max_results > 1 or
// ZX_TRY_DOWNSCALE, zxing-cpp 1.4 compares 1D results in a way that fails an
// assert() (abort) when one symbol text is read twice, e.g. two identical
// products side by side (zxing-cpp issue #740); the Go side therefore asks for
// one symbol at a time without downscaling.
int zx_read(const uint8_t* pix, int width, int height, int row_stride, int formats, int flags,
            zx_result* results, int max_results, char* text, int text_cap, char* err, int err_cap);

// zx_encode renders text as format (a ZXing::BarcodeFormat bit value) with
// MultiFormatWriter. On success it returns a malloc'ed width*height buffer of
// 0 (bar) / 255 (space) bytes and stores its size; on failure it returns NULL
// and writes a message to err.
uint8_t* zx_encode(int format, const char* text, int text_len, int width, int height, int margin,
                   int* out_w, int* out_h, char* err, int err_cap);

void zx_free(void* p);

#ifdef __cplusplus
}
#endif

#endif

// extern "C" wrapper around zxing-cpp, see zxing_shim.h.
#include "zxing_shim.h"

#include <ZXing/BitMatrix.h>
#include <ZXing/MultiFormatWriter.h>
#include <ZXing/ReadBarcode.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

using namespace ZXing;

static void set_err(char* err, int cap, const char* msg)
{
	if (!err || cap <= 0)
		return;
	std::strncpy(err, msg, cap - 1);
	err[cap - 1] = 0;
}

extern "C" int zx_read(const uint8_t* pix, int width, int height, int row_stride, int formats, int flags,
                       zx_result* results, int max_results, char* text, int text_cap, char* err, int err_cap)
{
	try {
		ImageView view(pix, width, height, ImageFormat::Lum, row_stride, 1);
		DecodeHints hints;
		hints.setFormats(BarcodeFormats(static_cast<BarcodeFormat>(formats)));
		hints.setTryHarder(flags & ZX_TRY_HARDER);
		hints.setTryRotate(flags & ZX_TRY_ROTATE);
		hints.setTryDownscale(flags & ZX_TRY_DOWNSCALE);
		hints.setIsPure(flags & ZX_PURE);
		hints.setMaxNumberOfSymbols(static_cast<uint8_t>(max_results < 255 ? max_results : 255));
		Results rs = ReadBarcodes(view, hints);
		int n = 0, off = 0;
		for (const Result& r : rs) {
			if (n >= max_results)
				break;
			if (!r.isValid())
				continue;
			std::string s = r.text();
			zx_result& o = results[n++];
			o.format = static_cast<int32_t>(r.format());
			int len = static_cast<int>(s.size());
			if (len > text_cap - off)
				len = text_cap - off;
			if (len > 0)
				std::memcpy(text + off, s.data(), len);
			o.text_off = off;
			o.text_len = len;
			off += len;
			const Position& p = r.position();
			for (int i = 0; i < 4; i++) {
				o.x[i] = p[i].x;
				o.y[i] = p[i].y;
			}
		}
		return n;
	} catch (const std::exception& e) {
		set_err(err, err_cap, e.what());
	} catch (...) {
		set_err(err, err_cap, "unknown C++ exception");
	}
	return -1;
}

extern "C" uint8_t* zx_encode(int format, const char* text, int text_len, int width, int height, int margin,
                              int* out_w, int* out_h, char* err, int err_cap)
{
	try {
		MultiFormatWriter w(static_cast<BarcodeFormat>(format));
		if (margin >= 0)
			w.setMargin(margin);
		// Only switch to UTF-8 (which adds an ECI to 2D symbols) when the text
		// is not plain ASCII, so ordinary payloads encode the classic way.
		for (int i = 0; i < text_len; i++)
			if (static_cast<unsigned char>(text[i]) >= 0x80) {
				w.setEncoding(CharacterSet::UTF8);
				break;
			}
		BitMatrix m = w.encode(std::string(text, text_len), width, height);
		int mw = m.width(), mh = m.height();
		uint8_t* buf = static_cast<uint8_t*>(std::malloc(static_cast<size_t>(mw) * mh));
		if (!buf) {
			set_err(err, err_cap, "out of memory");
			return nullptr;
		}
		for (int y = 0; y < mh; y++)
			for (int x = 0; x < mw; x++)
				buf[y * mw + x] = m.get(x, y) ? 0 : 255;
		*out_w = mw;
		*out_h = mh;
		return buf;
	} catch (const std::exception& e) {
		set_err(err, err_cap, e.what());
	} catch (...) {
		set_err(err, err_cap, "unknown C++ exception");
	}
	return nullptr;
}

extern "C" void zx_free(void* p)
{
	std::free(p);
}

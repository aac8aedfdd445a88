// Package-private C helpers for the vp8 Go package; see scv8.c.
#ifndef SCV8_H
#define SCV8_H
#include <stdint.h>
#include <stdlib.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>

// The C side keeps everything libvpx needs in one malloc'd struct so that Go
// never hands libvpx a Go pointer it could keep: frame planes and packet
// bytes cross only as arguments of a single call (cgo pins them for exactly
// that long), and encoded bytes are copied out of libvpx's own buffer.

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t img;
	int inited;
	// Result of the last encode: the frame packet copied into buf.
	uint8_t *buf;
	size_t cap, len;
	int keyframe, npkts;
	int64_t pts;
	unsigned long dur;
} scv8_enc;

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_image_t *img;
	int corrupt;
} scv8_dec;

const char *scv8_enc_error(scv8_enc *e);
vpx_codec_err_t scv8_enc_init(scv8_enc *e, int w, int h, unsigned kbps,
		int threads, int kf_max, int cpu_used, int max_intra_pct);
vpx_codec_err_t scv8_enc_set_bitrate(scv8_enc *e, unsigned kbps);
vpx_codec_err_t scv8_enc_encode(scv8_enc *e,
		uint8_t *y, int ys, uint8_t *u, int us, uint8_t *v, int vs,
		int64_t pts, unsigned long dur, int force_kf);
void scv8_enc_free(scv8_enc *e);
vpx_codec_err_t scv8_dec_init(scv8_dec *d, int threads);
const char *scv8_dec_error(scv8_dec *d);
vpx_codec_err_t scv8_dec_decode(scv8_dec *d, const uint8_t *data, unsigned int sz);
void scv8_dec_free(scv8_dec *d);

#endif

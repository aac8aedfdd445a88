// Package-private C helpers for the h264 Go package; see sch264.c.
#ifndef SCH264_H
#define SCH264_H
#include <stdint.h>
#include <stdlib.h>
#include <wels/codec_api.h>

// As in package vp8: everything openh264 needs lives in one malloc'd
// struct, frame planes and packet bytes cross only as arguments of one
// call (cgo pins them for exactly that long), and encoded bytes are copied
// out of openh264's own buffers.

typedef struct {
	ISVCEncoder *enc;
	SEncParamExt param;
	// Result of the last encode: the access unit (Annex B NAL units with
	// start codes) copied into buf.
	uint8_t *buf;
	size_t cap, len;
	int frame_type; // EVideoFrameType
} sch264_enc;

typedef struct {
	ISVCDecoder *dec;
	SBufferInfo info;
	uint8_t *planes[3];
	int state; // DECODING_STATE of the last call
} sch264_dec;

int sch264_enc_init(sch264_enc *e, int w, int h, int bps, float fps,
		int threads, int intra_period, int level, int matrix, int full_range);
int sch264_enc_set_bitrate(sch264_enc *e, int bps);
int sch264_enc_encode(sch264_enc *e,
		uint8_t *y, int ys, uint8_t *u, int us, uint8_t *v, int vs,
		int64_t ms, int force_idr);
void sch264_enc_free(sch264_enc *e);
int sch264_dec_init(sch264_dec *d);
int sch264_dec_decode(sch264_dec *d, const uint8_t *data, int len, int64_t ts);
int sch264_dec_flush(sch264_dec *d);
void sch264_dec_free(sch264_dec *d);

#endif

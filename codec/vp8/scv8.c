// C helpers for package vp8: plain libvpx calls that are awkward from Go
// (variadic vpx_codec_control, packet iteration) gathered so that one cgo
// call does one job.
#include <string.h>
#include "scv8.h"
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

const char *scv8_enc_error(scv8_enc *e) {
	const char *d = vpx_codec_error_detail(&e->ctx);
	return d ? d : vpx_codec_error(&e->ctx);
}

vpx_codec_err_t scv8_enc_init(scv8_enc *e, int w, int h, unsigned kbps,
		int threads, int kf_max, int cpu_used, int max_intra_pct) {
	vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) return err;
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	// Microsecond timebase: media timestamps go in unchanged.
	c->g_timebase.num = 1;
	c->g_timebase.den = 1000000;
	c->g_threads = threads;
	c->g_pass = VPX_RC_ONE_PASS;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	// WebRTC's realtime settings: never drop frames (every input frame
	// yields a packet, which keeps RTP durations simple), allow the full
	// quantizer range, and a 0.5/0.6/1.0 s rate-control buffer.
	c->rc_dropframe_thresh = 0;
	c->rc_resize_allowed = 0;
	c->rc_min_quantizer = 2;
	c->rc_max_quantizer = 56;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	if (kf_max > 0) {
		c->kf_mode = VPX_KF_AUTO;
		c->kf_min_dist = 0;
		c->kf_max_dist = kf_max;
	} else {
		c->kf_mode = VPX_KF_DISABLED;
	}
	err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (err != VPX_CODEC_OK) return err;
	e->inited = 1;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu_used)) != VPX_CODEC_OK) return err;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0)) != VPX_CODEC_OK) return err;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1)) != VPX_CODEC_OK) return err;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, max_intra_pct)) != VPX_CODEC_OK) return err;
	if (threads > 1) {
		// Token partitions let the threads pack the bitstream in parallel.
		int parts = threads >= 8 ? VP8_EIGHT_TOKENPARTITION :
			threads >= 4 ? VP8_FOUR_TOKENPARTITION : VP8_TWO_TOKENPARTITION;
		if ((err = vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, parts)) != VPX_CODEC_OK) return err;
	}
	// Describe the input image once; the plane pointers are set per frame.
	// The data pointer only has to be non-NULL so that nothing is allocated.
	static unsigned char dummy;
	if (!vpx_img_wrap(&e->img, VPX_IMG_FMT_I420, w, h, 1, &dummy)) return VPX_CODEC_MEM_ERROR;
	return VPX_CODEC_OK;
}

vpx_codec_err_t scv8_enc_set_bitrate(scv8_enc *e, unsigned kbps) {
	unsigned old = e->cfg.rc_target_bitrate;
	e->cfg.rc_target_bitrate = kbps;
	vpx_codec_err_t err = vpx_codec_enc_config_set(&e->ctx, &e->cfg);
	/* Keep cfg what the encoder runs with, so that a retry is not skipped. */
	if (err != VPX_CODEC_OK) e->cfg.rc_target_bitrate = old;
	return err;
}

vpx_codec_err_t scv8_enc_encode(scv8_enc *e,
		uint8_t *y, int ys, uint8_t *u, int us, uint8_t *v, int vs,
		int64_t pts, unsigned long dur, int force_kf) {
	e->img.planes[VPX_PLANE_Y] = y;
	e->img.planes[VPX_PLANE_U] = u;
	e->img.planes[VPX_PLANE_V] = v;
	e->img.stride[VPX_PLANE_Y] = ys;
	e->img.stride[VPX_PLANE_U] = us;
	e->img.stride[VPX_PLANE_V] = vs;
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, &e->img, pts, dur,
		force_kf ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	// libvpx must not see these pointers again: they are Go memory.
	e->img.planes[VPX_PLANE_Y] = e->img.planes[VPX_PLANE_U] = e->img.planes[VPX_PLANE_V] = NULL;
	e->len = 0;
	e->npkts = 0;
	if (err != VPX_CODEC_OK) return err;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		size_t need = e->len + pkt->data.frame.sz;
		if (need > e->cap) {
			size_t cap = e->cap ? e->cap : 65536;
			while (cap < need) cap *= 2;
			uint8_t *nb = realloc(e->buf, cap);
			if (!nb) return VPX_CODEC_MEM_ERROR;
			e->buf = nb;
			e->cap = cap;
		}
		memcpy(e->buf + e->len, pkt->data.frame.buf, pkt->data.frame.sz);
		e->len = need;
		if (e->npkts == 0) {
			e->pts = pkt->data.frame.pts;
			e->dur = pkt->data.frame.duration;
			e->keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		}
		e->npkts++;
	}
	return VPX_CODEC_OK;
}

void scv8_enc_free(scv8_enc *e) {
	if (e->inited) vpx_codec_destroy(&e->ctx);
	free(e->buf);
	free(e);
}

vpx_codec_err_t scv8_dec_init(scv8_dec *d, int threads) {
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = threads;
	return vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
}

const char *scv8_dec_error(scv8_dec *d) {
	const char *s = vpx_codec_error_detail(&d->ctx);
	return s ? s : vpx_codec_error(&d->ctx);
}

// data is Go memory: VP8 decodes it within this call and keeps no reference
// it would read later.
vpx_codec_err_t scv8_dec_decode(scv8_dec *d, const uint8_t *data, unsigned int sz) {
	d->img = NULL;
	d->corrupt = 0;
	vpx_codec_err_t err = vpx_codec_decode(&d->ctx, data, sz, NULL, 0);
	if (err != VPX_CODEC_OK) return err;
	int corrupt = 0;
	if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupt) == VPX_CODEC_OK) d->corrupt = corrupt;
	vpx_codec_iter_t iter = NULL;
	d->img = vpx_codec_get_frame(&d->ctx, &iter);
	return VPX_CODEC_OK;
}

void scv8_dec_free(scv8_dec *d) {
	vpx_codec_destroy(&d->ctx);
	free(d);
}

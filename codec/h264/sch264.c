// C helpers for package h264: openh264's C interface is a table of
// function pointers called with the object itself; each helper makes one
// job one cgo call.
#include <string.h>
#include "sch264.h"

int sch264_enc_init(sch264_enc *e, int w, int h, int bps, float fps,
		int threads, int intra_period, int level, int matrix, int full_range) {
	int rc = WelsCreateSVCEncoder(&e->enc);
	if (rc != 0 || e->enc == NULL) return rc ? rc : -1;
	ISVCEncoder *enc = e->enc;
	int quiet = WELS_LOG_QUIET;
	(*enc)->SetOption(enc, ENCODER_OPTION_TRACE_LEVEL, &quiet);
	SEncParamExt *p = &e->param;
	rc = (*enc)->GetDefaultParams(enc, p);
	if (rc != 0) return rc;
	// WebRTC's use: real-time camera content, bitrate rate control, no
	// skipped frames (every frame in gives an access unit out, which keeps
	// RTP durations simple), one spatial and one temporal layer, CAVLC and
	// one slice per picture: constrained baseline, which every WebRTC
	// endpoint decodes (packetization mode 1 fragments big slices).
	p->iUsageType = CAMERA_VIDEO_REAL_TIME;
	p->iPicWidth = w;
	p->iPicHeight = h;
	p->iTargetBitrate = bps;
	p->iMaxBitrate = UNSPECIFIED_BIT_RATE;
	p->iRCMode = RC_BITRATE_MODE;
	p->fMaxFrameRate = fps;
	p->iTemporalLayerNum = 1;
	p->iSpatialLayerNum = 1;
	p->bEnableFrameSkip = false;
	p->uiIntraPeriod = intra_period > 0 ? (unsigned)intra_period : 0;
	p->eSpsPpsIdStrategy = CONSTANT_ID;
	p->bPrefixNalAddingCtrl = false;
	p->bSimulcastAVC = false;
	p->iEntropyCodingModeFlag = 0;
	p->iMultipleThreadIdc = (unsigned short)threads;
	p->bEnableDenoise = false;
	p->bEnableBackgroundDetection = true;
	p->bEnableAdaptiveQuant = true;
	p->bEnableSceneChangeDetect = false; // IDRs only when asked or due
	p->bEnableLongTermReference = false;
	p->iNumRefFrame = 1;
	p->iComplexityMode = LOW_COMPLEXITY;
	SSpatialLayerConfig *l = &p->sSpatialLayers[0];
	l->iVideoWidth = w;
	l->iVideoHeight = h;
	l->fFrameRate = fps;
	l->iSpatialBitrate = bps;
	l->iMaxSpatialBitrate = UNSPECIFIED_BIT_RATE;
	l->uiProfileIdc = PRO_BASELINE;
	l->uiLevelIdc = (ELevelIdc)level;
	l->sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
	// Say what the pixels are, so that players convert them right.
	l->bVideoSignalTypePresent = true;
	l->uiVideoFormat = 5; // unspecified
	l->bFullRange = full_range != 0;
	l->bColorDescriptionPresent = true;
	l->uiColorPrimaries = matrix == 1 ? 1 : 6;          // bt709 or smpte170m
	l->uiTransferCharacteristics = matrix == 1 ? 1 : 6;
	l->uiColorMatrix = matrix == 1 ? 1 : 6;
	rc = (*enc)->InitializeExt(enc, p);
	if (rc != 0) return rc;
	int fmt = videoFormatI420;
	return (*enc)->SetOption(enc, ENCODER_OPTION_DATAFORMAT, &fmt);
}

int sch264_enc_set_bitrate(sch264_enc *e, int bps) {
	SBitrateInfo b;
	memset(&b, 0, sizeof b);
	b.iLayer = SPATIAL_LAYER_ALL;
	b.iBitrate = bps;
	return (*e->enc)->SetOption(e->enc, ENCODER_OPTION_BITRATE, &b);
}

int sch264_enc_encode(sch264_enc *e,
		uint8_t *y, int ys, uint8_t *u, int us, uint8_t *v, int vs,
		int64_t ms, int force_idr) {
	ISVCEncoder *enc = e->enc;
	if (force_idr) {
		int rc = (*enc)->ForceIntraFrame(enc, true);
		if (rc != 0) return rc;
	}
	SSourcePicture pic;
	memset(&pic, 0, sizeof pic);
	pic.iColorFormat = videoFormatI420;
	pic.iPicWidth = e->param.iPicWidth;
	pic.iPicHeight = e->param.iPicHeight;
	pic.pData[0] = y; pic.iStride[0] = ys;
	pic.pData[1] = u; pic.iStride[1] = us;
	pic.pData[2] = v; pic.iStride[2] = vs;
	pic.uiTimeStamp = ms;
	SFrameBSInfo info;
	memset(&info, 0, sizeof info);
	int rc = (*enc)->EncodeFrame(enc, &pic, &info);
	e->len = 0;
	e->frame_type = info.eFrameType;
	if (rc != 0) return rc;
	if (info.eFrameType == videoFrameTypeSkip || info.eFrameType == videoFrameTypeInvalid) return 0;
	size_t n = 0;
	for (int i = 0; i < info.iLayerNum; i++) {
		SLayerBSInfo *l = &info.sLayerInfo[i];
		for (int k = 0; k < l->iNalCount; k++) n += (size_t)l->pNalLengthInByte[k];
	}
	if (n > e->cap) {
		uint8_t *b = realloc(e->buf, n);
		if (b == NULL) return -2;
		e->buf = b;
		e->cap = n;
	}
	for (int i = 0; i < info.iLayerNum; i++) {
		SLayerBSInfo *l = &info.sLayerInfo[i];
		size_t m = 0;
		for (int k = 0; k < l->iNalCount; k++) m += (size_t)l->pNalLengthInByte[k];
		memcpy(e->buf + e->len, l->pBsBuf, m);
		e->len += m;
	}
	return 0;
}

void sch264_enc_free(sch264_enc *e) {
	if (e->enc != NULL) {
		(*e->enc)->Uninitialize(e->enc);
		WelsDestroySVCEncoder(e->enc);
	}
	free(e->buf);
	free(e);
}

int sch264_dec_init(sch264_dec *d) {
	long rc = WelsCreateDecoder(&d->dec);
	if (rc != 0 || d->dec == NULL) return rc ? (int)rc : -1;
	int quiet = WELS_LOG_QUIET;
	(*d->dec)->SetOption(d->dec, DECODER_OPTION_TRACE_LEVEL, &quiet);
	SDecodingParam p;
	memset(&p, 0, sizeof p);
	p.sVideoProperty.size = sizeof p.sVideoProperty;
	p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
	// No concealment: a damaged picture is an error, not a guess.
	p.eEcActiveIdc = ERROR_CON_DISABLE;
	return (int)(*d->dec)->Initialize(d->dec, &p);
}

// The timestamp goes in with the access unit and comes out with its
// picture (uiOutYuvTimeStamp): for main and high profile streams openh264
// may hold a picture back a call, in case pictures come out of order.
int sch264_dec_decode(sch264_dec *d, const uint8_t *data, int len, int64_t ts) {
	memset(&d->info, 0, sizeof d->info);
	d->info.uiInBsTimeStamp = (unsigned long long)ts;
	d->planes[0] = d->planes[1] = d->planes[2] = NULL;
	d->state = (*d->dec)->DecodeFrameNoDelay(d->dec, data, len, d->planes, &d->info);
	return d->state;
}

// sch264_dec_flush hands out a picture held back, at the end of a stream.
int sch264_dec_flush(sch264_dec *d) {
	memset(&d->info, 0, sizeof d->info);
	d->planes[0] = d->planes[1] = d->planes[2] = NULL;
	d->state = (*d->dec)->FlushFrame(d->dec, d->planes, &d->info);
	return d->state;
}

void sch264_dec_free(sch264_dec *d) {
	if (d->dec != NULL) {
		(*d->dec)->Uninitialize(d->dec);
		WelsDestroyDecoder(d->dec);
	}
	free(d);
}

package opus

/*
#cgo pkg-config: opus
#include <opus.h>

// opus_*_ctl are variadic, which cgo cannot call.
static int scopus_set_bitrate(OpusEncoder *e, opus_int32 bps) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(bps)); }
static int scopus_get_bitrate(OpusEncoder *e, opus_int32 *bps) { return opus_encoder_ctl(e, OPUS_GET_BITRATE(bps)); }
static int scopus_get_lookahead(OpusEncoder *e, opus_int32 *n) { return opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(n)); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func opusError(op string, code C.int) error {
	return fmt.Errorf("opus: %s: %s", op, C.GoString(C.opus_strerror(code)))
}

func createEncoder(channels int) (*C.OpusEncoder, error) {
	var code C.int
	e := C.opus_encoder_create(outRate, C.int(channels), C.OPUS_APPLICATION_AUDIO, &code)
	if code != C.OPUS_OK {
		return nil, opusError("create encoder", code)
	}
	return e, nil
}

func setBitrate(e *C.OpusEncoder, bps int) error {
	if code := C.scopus_set_bitrate(e, C.opus_int32(bps)); code != C.OPUS_OK {
		return opusError("set bitrate", code)
	}
	return nil
}

func lookahead(e *C.OpusEncoder) int {
	var n C.opus_int32
	C.scopus_get_lookahead(e, &n)
	return int(n)
}

// encodeFrame encodes one 20 ms frame of interleaved pcm into out and
// returns the packet length. Both slices are Go memory pinned for the call.
func encodeFrame(e *C.OpusEncoder, pcm []float32, out []byte) (int, error) {
	n := C.opus_encode_float(e, (*C.float)(unsafe.Pointer(unsafe.SliceData(pcm))), frameSize,
		(*C.uchar)(unsafe.Pointer(unsafe.SliceData(out))), C.opus_int32(len(out)))
	if n < 0 {
		return 0, opusError("encode", n)
	}
	return int(n), nil
}

func createDecoder(channels int) (*C.OpusDecoder, error) {
	var code C.int
	d := C.opus_decoder_create(outRate, C.int(channels), &code)
	if code != C.OPUS_OK {
		return nil, opusError("create decoder", code)
	}
	return d, nil
}

// decode decodes packet (nil for packet-loss concealment of one frame of
// frames samples) into pcm and returns samples per channel.
func decode(d *C.OpusDecoder, packet []byte, pcm []float32, frames int) (int, error) {
	var p *C.uchar
	if len(packet) > 0 {
		p = (*C.uchar)(unsafe.Pointer(unsafe.SliceData(packet)))
	}
	n := C.opus_decode_float(d, p, C.opus_int32(len(packet)), (*C.float)(unsafe.Pointer(unsafe.SliceData(pcm))), C.int(frames), 0)
	if n < 0 {
		return 0, opusError("decode", n)
	}
	return int(n), nil
}

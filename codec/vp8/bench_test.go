package vp8

import (
	"testing"

	"github.com/shadercast/shadercast/internal/codectest"
)

// The codec benchmarks run the same content at the same sizes and
// bitrates as package h264's (codectest), realtime settings, one thread,
// so that one command compares the codecs:
// go test ./codec/vp8 ./codec/h264 -run '^$' -bench . -benchmem

// BenchmarkVP8Encode encodes at the default cpu-used.
func BenchmarkVP8Encode(b *testing.B) {
	for _, sz := range codectest.BenchSizes {
		b.Run(sz.Name, func(b *testing.B) { codectest.BenchEncode(b, encoder{newEnc(b, sz.W, sz.H, sz.BPS)}, sz.W, sz.H) })
	}
}

// BenchmarkVP8Decode decodes that stream.
func BenchmarkVP8Decode(b *testing.B) {
	for _, sz := range codectest.BenchSizes {
		b.Run(sz.Name, func(b *testing.B) {
			codectest.BenchDecode(b, encoder{newEnc(b, sz.W, sz.H, sz.BPS)}, newDec(b), sz.W, sz.H)
		})
	}
}

package h264

import (
	"testing"

	"github.com/shadercast/shadercast/internal/codectest"
)

// The codec benchmarks run the same content at the same sizes and
// bitrates as package vp8's (codectest), one thread, so that one command
// compares the codecs:
// go test ./codec/vp8 ./codec/h264 -run '^$' -bench . -benchmem

// BenchmarkH264Encode encodes constrained baseline in real time.
func BenchmarkH264Encode(b *testing.B) {
	for _, sz := range codectest.BenchSizes {
		b.Run(sz.Name, func(b *testing.B) { codectest.BenchEncode(b, encoder{newEnc(b, sz.W, sz.H, sz.BPS)}, sz.W, sz.H) })
	}
}

// BenchmarkH264Decode decodes that stream.
func BenchmarkH264Decode(b *testing.B) {
	for _, sz := range codectest.BenchSizes {
		b.Run(sz.Name, func(b *testing.B) {
			codectest.BenchDecode(b, encoder{newEnc(b, sz.W, sz.H, sz.BPS)}, newDec(b), sz.W, sz.H)
		})
	}
}

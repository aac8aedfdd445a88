package service

import (
	"time"

	"github.com/shadercast/shadercast/media"
)

// Timecode geometry: 32 square cells along the bottom-left edge, each the
// bit of the frame's creation time (Unix milliseconds, low 32 bits) from
// least significant on the left. Cells this large survive VP8 at any
// bitrate we send, so a page can read them back with a canvas and measure
// glass-to-glass latency against its own clock (same host, same clock).
const (
	timecodeBits = 32
	timecodeCell = 16
)

// stampTimecode writes t into f's pixels (f must be writable: the
// service's own copy of an input frame).
func stampTimecode(f media.VideoFrame, t time.Time) {
	w, h := f.CodedWidth(), f.CodedHeight()
	if w < timecodeBits*timecodeCell || h < 2*timecodeCell {
		return
	}
	ms := uint32(t.UnixMilli())
	p, err := f.Plane(0)
	if err != nil {
		return
	}
	y0 := h - timecodeCell
	for bit := 0; bit < timecodeBits; bit++ {
		luma, rgb := byte(16), byte(0)
		if ms>>bit&1 == 1 {
			luma, rgb = 235, 255
		}
		for y := y0; y < y0+timecodeCell; y++ {
			row := p.Data[y*p.Stride:]
			for x := bit * timecodeCell; x < (bit+1)*timecodeCell; x++ {
				switch f.Format() {
				case media.I420, media.NV12:
					row[x] = luma
				case media.RGBA, media.RGBX, media.BGRA, media.BGRX:
					row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = rgb, rgb, rgb, 255
				}
			}
		}
	}
	if f.Format() == media.I420 || f.Format() == media.NV12 {
		// Neutral chroma under the strip, or colour would bleed in.
		for i := 1; i < 3; i++ {
			c, err := f.Plane(i)
			if err != nil || f.Format() == media.NV12 && i == 2 {
				break
			}
			for y := y0 / 2; y < h/2 && y < c.Height; y++ {
				row := c.Data[y*c.Stride:]
				n := timecodeBits * timecodeCell / 2
				if f.Format() == media.NV12 {
					n *= 2
				}
				for x := 0; x < n && x < len(row); x++ {
					row[x] = 128
				}
			}
		}
	}
}

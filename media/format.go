package media

import (
	"fmt"
	"strings"
)

// PixelFormat is a WebCodecs VideoPixelFormat. The zero value is invalid so
// that a forgotten Format field is caught by validation.
type PixelFormat uint8

const (
	FormatUnknown PixelFormat = iota
	I420                      // 8-bit Y, U, V planes; chroma subsampled 2x2
	NV12                      // 8-bit Y plane, interleaved UV plane; chroma subsampled 2x2
	RGBA                      // 8-bit packed R, G, B, A
	RGBX                      // 8-bit packed R, G, B, unused byte
	BGRA                      // 8-bit packed B, G, R, A
	BGRX                      // 8-bit packed B, G, R, unused byte
	numPixelFormats
)

var pixelFormatNames = [numPixelFormats]string{"unknown", "I420", "NV12", "RGBA", "RGBX", "BGRA", "BGRX"}

func (p PixelFormat) valid() bool { return p > FormatUnknown && p < numPixelFormats }

// String returns the WebCodecs name, e.g. "I420".
func (p PixelFormat) String() string {
	if p < numPixelFormats {
		return pixelFormatNames[p]
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(p))
}

// ParsePixelFormat accepts the WebCodecs names ("I420", "NV12", "RGBA",
// "RGBX", "BGRA", "BGRX"), case-insensitively because they come from
// configuration files written by people.
func ParsePixelFormat(s string) (PixelFormat, error) {
	for p := I420; p < numPixelFormats; p++ {
		if strings.EqualFold(s, pixelFormatNames[p]) {
			return p, nil
		}
	}
	return FormatUnknown, fieldErr("format", s, "unknown pixel format")
}

// NumPlanes returns the number of planes of the format (0 if invalid).
func (p PixelFormat) NumPlanes() int {
	switch p {
	case I420:
		return 3
	case NV12:
		return 2
	case RGBA, RGBX, BGRA, BGRX:
		return 1
	}
	return 0
}

// IsYUV reports whether the ColorSpace of frames of this format matters.
func (p PixelFormat) IsYUV() bool { return p == I420 || p == NV12 }

// planeGeom describes one plane: width in samples (pixels, or UV pairs for
// NV12 chroma), number of rows, and bytes of pixel data per row.
type planeGeom struct{ width, rows, rowBytes int }

// geom uses ceil for chroma so odd sizes keep their last column and row,
// which WebCodecs does for coded sizes as well.
func (p PixelFormat) geom(w, h, i int) planeGeom {
	switch p {
	case I420, NV12:
		if i == 0 {
			return planeGeom{w, h, w}
		}
		cw, ch := (w+1)/2, (h+1)/2
		if p == NV12 {
			return planeGeom{cw, ch, 2 * cw}
		}
		return planeGeom{cw, ch, cw}
	}
	return planeGeom{w, h, 4 * w}
}

// maxPlanes bounds per-format arrays so layouts can live on the stack.
const maxPlanes = 3

// tightLayout is the layout frames use internally and CopyTo uses without an
// explicit layout: planes in order, no padding.
func tightLayout(p PixelFormat, w, h int) (l [maxPlanes]PlaneLayout, size int) {
	for i := range p.NumPlanes() {
		g := p.geom(w, h, i)
		l[i] = PlaneLayout{Offset: size, Stride: g.rowBytes}
		size += g.rowBytes * g.rows
	}
	return l, size
}

// Matrix selects the YUV to RGB conversion matrix.
type Matrix uint8

const (
	// MatrixUnspecified in a VideoFrameInit means BT.709, the usual matrix
	// of HD content and of our encoders' output.
	MatrixUnspecified Matrix = iota
	MatrixBT601
	MatrixBT709
	// MatrixRGB marks RGB data (WebCodecs matrix "rgb"); RGB frames always
	// report it, whatever their init said.
	MatrixRGB
	numMatrices
)

func (m Matrix) String() string {
	switch m {
	case MatrixUnspecified:
		return "unspecified"
	case MatrixBT601:
		return "bt601"
	case MatrixBT709:
		return "bt709"
	case MatrixRGB:
		return "rgb"
	}
	return fmt.Sprintf("Matrix(%d)", uint8(m))
}

// ColorSpace is the subset of WebCodecs VideoColorSpace the compositor acts
// on. FullRange false means limited ("TV") range, 16..235 for 8-bit luma.
//
// A YUV frame whose init leaves Matrix unspecified gets BT.709 with the
// given range, so the zero ColorSpace means BT.709 limited. RGB frames
// ignore the init value and report ColorSpaceSRGB.
type ColorSpace struct {
	Matrix    Matrix
	FullRange bool
}

var (
	ColorSpaceBT709Limited = ColorSpace{Matrix: MatrixBT709}
	ColorSpaceBT601Limited = ColorSpace{Matrix: MatrixBT601}
	ColorSpaceBT709Full    = ColorSpace{Matrix: MatrixBT709, FullRange: true}
	ColorSpaceBT601Full    = ColorSpace{Matrix: MatrixBT601, FullRange: true}
	ColorSpaceSRGB         = ColorSpace{Matrix: MatrixRGB, FullRange: true}
)

// PlaneLayout locates one plane in a byte buffer, as in WebCodecs: Offset
// is the first byte of the plane and Stride the distance between the starts
// of consecutive rows (at least the row's size in bytes).
type PlaneLayout struct {
	Offset, Stride int
}

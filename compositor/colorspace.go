package compositor

import (
	"math"

	"github.com/shadercast/shadercast/media"
)

// kr and kb are the luma coefficients of a matrix (ITU-R BT.601 / BT.709).
func lumaCoefficients(m media.Matrix) (kr, kb float64) {
	if m == media.MatrixBT601 {
		return 0.299, 0.114
	}
	return 0.2126, 0.0722
}

// yuvToRGB returns M and off such that rgb = M * (yuv - off), all values
// normalized to [0,1] as the GPU samples them: the inverse of rgbToYUV, so
// that the two directions cannot disagree. M is row-major.
func yuvToRGB(cs media.ColorSpace) (m [9]float32, off [3]float32) {
	a, off := rgbToYUV64(cs)
	// Cofactor inverse of the 3x3 matrix.
	det := a[0]*(a[4]*a[8]-a[5]*a[7]) - a[1]*(a[3]*a[8]-a[5]*a[6]) + a[2]*(a[3]*a[7]-a[4]*a[6])
	inv := [9]float64{
		a[4]*a[8] - a[5]*a[7], a[2]*a[7] - a[1]*a[8], a[1]*a[5] - a[2]*a[4],
		a[5]*a[6] - a[3]*a[8], a[0]*a[8] - a[2]*a[6], a[2]*a[3] - a[0]*a[5],
		a[3]*a[7] - a[4]*a[6], a[1]*a[6] - a[0]*a[7], a[0]*a[4] - a[1]*a[3],
	}
	for i, v := range inv {
		v /= det
		// The true inverse has exact zeros (no U in R, no V in B); keep
		// them exact so that shaders compiled with these constants drop
		// the terms.
		if math.Abs(v) < 1e-9 {
			v = 0
		}
		m[i] = float32(v)
	}
	return m, off
}

// rgbToYUV returns M and off such that yuv = M * rgb + off (normalized).
// M is row-major.
func rgbToYUV(cs media.ColorSpace) (m [9]float32, off [3]float32) {
	a, off := rgbToYUV64(cs)
	for i, v := range a {
		m[i] = float32(v)
	}
	return m, off
}

func rgbToYUV64(cs media.ColorSpace) (m [9]float64, off [3]float32) {
	kr, kb := lumaCoefficients(cs.Matrix)
	kg := 1 - kr - kb
	ys, cs_ := 1.0, 1.0
	yo := 0.0
	if !cs.FullRange {
		ys, cs_ = 219.0/255.0, 224.0/255.0
		yo = 16.0 / 255.0
	}
	co := 128.0 / 255.0
	m = [9]float64{
		kr * ys, kg * ys, kb * ys,
		-kr / (2 * (1 - kb)) * cs_, -kg / (2 * (1 - kb)) * cs_, 0.5 * cs_,
		0.5 * cs_, -kg / (2 * (1 - kr)) * cs_, -kb / (2 * (1 - kr)) * cs_,
	}
	return m, [3]float32{float32(yo), float32(co), float32(co)}
}

package compositor

import "github.com/shadercast/shadercast/media"

// kr and kb are the luma coefficients of a matrix (ITU-R BT.601 / BT.709).
func lumaCoefficients(m media.Matrix) (kr, kb float64) {
	if m == media.MatrixBT601 {
		return 0.299, 0.114
	}
	return 0.2126, 0.0722
}

// yuvToRGB returns M and off such that rgb = M * (yuv - off), all values
// normalized to [0,1] as the GPU samples them, for the given color space.
// M is row-major.
func yuvToRGB(cs media.ColorSpace) (m [9]float32, off [3]float32) {
	kr, kb := lumaCoefficients(cs.Matrix)
	kg := 1 - kr - kb
	ys, cs_ := 1.0, 1.0
	yo := 0.0
	if !cs.FullRange {
		ys, cs_ = 255.0/219.0, 255.0/224.0
		yo = 16.0 / 255.0
	}
	co := 128.0 / 255.0
	rows := [3][3]float64{
		{ys, 0, 2 * (1 - kr) * cs_},
		{ys, -2 * kb * (1 - kb) / kg * cs_, -2 * kr * (1 - kr) / kg * cs_},
		{ys, 2 * (1 - kb) * cs_, 0},
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			m[r*3+c] = float32(rows[r][c])
		}
	}
	off = [3]float32{float32(yo), float32(co), float32(co)}
	return m, off
}

// rgbToYUV returns M and off such that yuv = M * rgb + off (normalized).
// M is row-major.
func rgbToYUV(cs media.ColorSpace) (m [9]float32, off [3]float32) {
	kr, kb := lumaCoefficients(cs.Matrix)
	kg := 1 - kr - kb
	ys, cs_ := 1.0, 1.0
	yo := 0.0
	if !cs.FullRange {
		ys, cs_ = 219.0/255.0, 224.0/255.0
		yo = 16.0 / 255.0
	}
	co := 128.0 / 255.0
	rows := [3][3]float64{
		{kr * ys, kg * ys, kb * ys},
		{-kr / (2 * (1 - kb)) * cs_, -kg / (2 * (1 - kb)) * cs_, 0.5 * cs_},
		{0.5 * cs_, -kg / (2 * (1 - kr)) * cs_, -kb / (2 * (1 - kr)) * cs_},
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			m[r*3+c] = float32(rows[r][c])
		}
	}
	off = [3]float32{float32(yo), float32(co), float32(co)}
	return m, off
}

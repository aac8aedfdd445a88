package barcode

import "image"

// LumaFromRGBA fills dst with the 8-bit luma of img using zxing-cpp's own
// integer BT.601 weights (what produced the ground truth); a video Y plane
// serves equally well. dst.Pix is reused when large enough.
func LumaFromRGBA(img *image.RGBA, dst *Gray) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if cap(dst.Pix) < w*h {
		dst.Pix = make([]byte, w*h)
	}
	dst.Pix = dst.Pix[:w*h]
	dst.Width, dst.Height, dst.Stride = w, h, w
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		out := dst.Pix[y*w : y*w+w]
		for x := range out {
			r, g, bl := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
			out[x] = byte((306*r + 601*g + 117*bl + 0x200) >> 10)
		}
	}
}

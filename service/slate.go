package service

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/shadercast/shadercast/media"
)

// slate renders the "no signal" picture shown while there is no input
// frame at all (a WHIP input before its publisher, an input that failed
// before its first frame): a dark frame with large text and the reason,
// so a viewer can tell a dead input from a frozen one.
func slate(w, h int, reason string) (media.VideoFrame, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{24, 24, 32, 255}}, image.Point{}, draw.Src)
	// Colour bars along the bottom: they show at once that the picture
	// path works, only the input is missing.
	bars := []color.RGBA{{191, 191, 191, 255}, {191, 191, 0, 255}, {0, 191, 191, 255}, {0, 191, 0, 255}, {191, 0, 191, 255}, {191, 0, 0, 255}, {0, 0, 191, 255}}
	bh := h / 8
	for i, c := range bars {
		r := image.Rect(i*w/len(bars), h-bh, (i+1)*w/len(bars), h)
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	scale := max(1, w/160)
	drawText(img, "NO SIGNAL", h/3, scale, color.RGBA{240, 240, 240, 255})
	if reason != "" {
		if len(reason) > 100 {
			reason = reason[:100] + "..."
		}
		drawText(img, reason, h/3+16*scale, max(1, scale/3), color.RGBA{200, 160, 60, 255})
	}
	return media.NewVideoFrame(img.Pix, media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h})
}

// drawText draws s centred at baseline y, each font pixel scale×scale.
func drawText(dst *image.RGBA, s string, y, scale int, c color.RGBA) {
	face := basicfont.Face7x13
	small := image.NewAlpha(image.Rect(0, 0, len(s)*face.Advance, 16))
	d := font.Drawer{Dst: small, Src: image.Opaque, Face: face, Dot: fixed.P(0, 12)}
	d.DrawString(s)
	x0 := (dst.Rect.Dx() - small.Rect.Dx()*scale) / 2
	y0 := y - 12*scale
	for sy := 0; sy < small.Rect.Dy(); sy++ {
		for sx := 0; sx < small.Rect.Dx(); sx++ {
			if small.AlphaAt(sx, sy).A < 128 {
				continue
			}
			r := image.Rect(x0+sx*scale, y0+sy*scale, x0+(sx+1)*scale, y0+(sy+1)*scale).Intersect(dst.Rect)
			draw.Draw(dst, r, &image.Uniform{c}, image.Point{}, draw.Src)
		}
	}
}

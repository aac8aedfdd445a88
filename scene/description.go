package scene

import (
	"fmt"
	"math"
)

// Description is a whole scenes file or PUT /api/scenes body, normalized:
// defaults are filled in and fractional rectangles are in canvas pixels, so
// that what the API returns is explicit.
type Description struct {
	Canvas  Canvas            `json:"canvas"`
	Sources map[string]Source `json:"sources"`
	Scenes  map[string]Scene  `json:"scenes"`
	// Program is the scene on air.
	Program string `json:"program"`
}

// Canvas is the programme's frame size and rate.
type Canvas struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
}

// The canvas of a description that names none: the service's default.
const (
	DefaultWidth  = 1280
	DefaultHeight = 720
	DefaultFPS    = 30
)

// Source types.
const (
	TypeTestsrc = "testsrc" // the built-in test scene
	TypeY4M     = "y4m"     // a Y4M file, or "-" for stdin
	TypeImage   = "image"   // a PNG or JPEG still
	TypeColor   = "color"   // a solid colour
	TypeWHIP    = "whip"    // a WHIP publisher at /whip/{name}
	TypeISF     = "isf"     // an ISF generator shader
	TypeText    = "text"    // text with live fields
	TypeScene   = "scene"   // another scene, composed as a source
)

// Source is one named input. Which fields apply depends on Type; a field
// set on a type it does not apply to is an error (see Validate).
type Source struct {
	Type string `json:"type"`
	// Path: y4m (a file, or "-" for stdin), image, isf.
	Path string `json:"path,omitempty"`
	// Loop: y4m, start again at the end.
	Loop bool `json:"loop,omitempty"`
	// Color: color, "#rgb", "#rrggbb" or "#rrggbbaa".
	Color string `json:"color,omitempty"`
	// Text: text, with live fields {{clock}}, {{date}} and {{name}} for
	// values set through the API.
	Text string `json:"text,omitempty"`
	// Font: text, a TTF file; empty for Go's own fonts.
	Font string `json:"font,omitempty"`
	// Size: text, the font's size in pixels.
	Size float64 `json:"size,omitempty"`
	// Scene: scene, the scene shown.
	Scene string `json:"scene,omitempty"`
	// Width and Height: the size the source renders at (testsrc, color,
	// isf, text, scene); 0 takes the canvas's.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Inputs: isf, the shader's input values by name.
	Inputs map[string]any `json:"inputs,omitempty"`
	// Tone: testsrc, the frequency of its steady tone in Hz (0: 440), so
	// that sources can be told apart by ear (and by a test).
	Tone int `json:"tone,omitempty"`
}

// Scene is an ordered list of layers: the first is drawn first, at the
// bottom.
type Scene struct {
	Layers []Layer `json:"layers"`
}

// Layer shows one source on the canvas.
type Layer struct {
	Source string `json:"source"`
	// Rect is where the layer goes, in canvas pixels.
	Rect Rect `json:"rect"`
	// Fit is how the source fills Rect.
	Fit Fit `json:"fit"`
	// Crop trims the source before it is fitted.
	Crop Crop `json:"crop"`
	// Opacity multiplies the source's alpha, 0 to 1.
	Opacity float64 `json:"opacity"`
	// Rotation turns the layer about Rect's centre, in degrees clockwise.
	Rotation float64 `json:"rotation"`
	Visible  bool    `json:"visible"`
	// Passes are the layer's own pass chain, by registry name, run on the
	// source at its own size before the layer is drawn.
	Passes []string `json:"passes"`
	// Gain scales the source's audio while the layer's scene is on air.
	Gain  float64 `json:"gain"`
	Muted bool    `json:"muted"`
}

// Rect is x, y, width and height in canvas pixels. A description may give
// all four as fractions of the canvas (every value within 0-1); they are
// turned into pixels when it is parsed.
type Rect [4]float64

// Crop is what is trimmed from the source's left, top, right and bottom
// edges: in source pixels, or as fractions of the source's size when every
// value is within 0-1 (so [0, 0, 0, 1] is everything, not one pixel).
type Crop [4]float64

// Fit says how a source fills its layer's rectangle.
type Fit string

// Fits.
const (
	// FitContain scales the source to fit inside the rectangle, keeping
	// its aspect ratio; the rest of the rectangle shows what is below.
	FitContain Fit = "contain"
	// FitCover scales the source to cover the rectangle, keeping its
	// aspect ratio; what overflows is cut off.
	FitCover Fit = "cover"
	// FitStretch scales the source to the rectangle exactly.
	FitStretch Fit = "stretch"
)

func (f Fit) valid() bool { return f == FitContain || f == FitCover || f == FitStretch }

// Pixels returns the crop in pixels of a w x h source.
func (c Crop) Pixels(w, h int) (left, top, right, bottom float64) {
	if c.fractional() {
		return c[0] * float64(w), c[1] * float64(h), c[2] * float64(w), c[3] * float64(h)
	}
	return c[0], c[1], c[2], c[3]
}

func (c Crop) fractional() bool {
	for _, v := range c {
		if v > 1 {
			return false
		}
	}
	return true
}

// fractional reports whether r is given as fractions of the canvas.
func (r Rect) fractional() bool {
	for _, v := range r {
		if v < 0 || v > 1 {
			return false
		}
	}
	return true
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func (r Rect) String() string { return fmt.Sprintf("[%g %g %g %g]", r[0], r[1], r[2], r[3]) }

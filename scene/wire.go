package scene

import "fmt"

// The description as written: pointers and slices tell a key that is
// absent (default) from one set to its zero value.
type wireDescription struct {
	Canvas  *wireCanvas          `json:"canvas"`
	Sources map[string]Source    `json:"sources"`
	Scenes  map[string]wireScene `json:"scenes"`
	Program string               `json:"program"`
}

type wireCanvas struct {
	Width  *int     `json:"width"`
	Height *int     `json:"height"`
	FPS    *float64 `json:"fps"`
}

type wireScene struct {
	Layers []wireLayer `json:"layers"`
}

type wireLayer struct {
	Source   string    `json:"source"`
	Rect     []float64 `json:"rect"`
	Fit      *Fit      `json:"fit"`
	Crop     []float64 `json:"crop"`
	Opacity  *float64  `json:"opacity"`
	Rotation float64   `json:"rotation"`
	Visible  *bool     `json:"visible"`
	Passes   []string  `json:"passes"`
	Gain     *float64  `json:"gain"`
	Muted    bool      `json:"muted"`
}

// normalize fills in the defaults and turns fractional rectangles into
// canvas pixels; malformed rectangles and crops are errors.
func (w *wireDescription) normalize() (*Description, Errors) {
	d := &Description{
		Canvas:  Canvas{Width: DefaultWidth, Height: DefaultHeight, FPS: DefaultFPS},
		Sources: w.Sources,
		Scenes:  make(map[string]Scene, len(w.Scenes)),
		Program: w.Program,
	}
	if c := w.Canvas; c != nil {
		if c.Width != nil {
			d.Canvas.Width = *c.Width
		}
		if c.Height != nil {
			d.Canvas.Height = *c.Height
		}
		if c.FPS != nil {
			d.Canvas.FPS = *c.FPS
		}
	}
	if d.Sources == nil {
		d.Sources = map[string]Source{}
	}
	var errs Errors
	for name, ws := range w.Scenes {
		s := Scene{Layers: make([]Layer, 0, len(ws.Layers))}
		for i, wl := range ws.Layers {
			at := fmt.Sprintf("scenes.%s.layers[%d]", name, i)
			l := Layer{
				Source: wl.Source, Fit: FitContain, Opacity: 1, Rotation: wl.Rotation,
				Visible: true, Passes: wl.Passes, Gain: 1, Muted: wl.Muted,
				Rect: Rect{0, 0, float64(d.Canvas.Width), float64(d.Canvas.Height)},
			}
			if wl.Fit != nil {
				l.Fit = *wl.Fit
			}
			if wl.Opacity != nil {
				l.Opacity = *wl.Opacity
			}
			if wl.Visible != nil {
				l.Visible = *wl.Visible
			}
			if wl.Gain != nil {
				l.Gain = *wl.Gain
			}
			if l.Passes == nil {
				l.Passes = []string{}
			}
			if wl.Rect != nil {
				if len(wl.Rect) != 4 {
					errs = append(errs, &Error{Path: at + ".rect", Msg: "want [x, y, width, height]"})
				} else {
					r := Rect(wl.Rect)
					if r.fractional() {
						cw, ch := float64(d.Canvas.Width), float64(d.Canvas.Height)
						r = Rect{r[0] * cw, r[1] * ch, r[2] * cw, r[3] * ch}
					}
					l.Rect = r
				}
			}
			if wl.Crop != nil {
				if len(wl.Crop) != 4 {
					errs = append(errs, &Error{Path: at + ".crop", Msg: "want [left, top, right, bottom]"})
				} else {
					l.Crop = Crop(wl.Crop)
				}
			}
			s.Layers = append(s.Layers, l)
		}
		d.Scenes[name] = s
	}
	return d, errs
}

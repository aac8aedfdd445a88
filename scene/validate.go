package scene

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Limits on a description, so that one file or request cannot make the
// service open or draw without bound.
const (
	MaxSources = 64
	MaxScenes  = 64
	MaxLayers  = 32 // per scene
	// MaxDrawnLayers bounds the layers one scene draws, its nested scenes'
	// counted as often as they are shown.
	MaxDrawnLayers = 256
	MaxPasses      = 16 // per layer
)

// Checks are what Validate cannot know by itself. Nil fields accept
// anything well formed.
type Checks struct {
	// Pass reports why a pass name cannot be used in a layer's chain.
	Pass func(name string) error
}

// validName reports whether a source or scene name is usable: names
// appear in URLs (/whip/{name}) and metric labels, so they are letters,
// digits, '_', '.' and '-', not starting with a sign, at most 64.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// Validate checks a normalized description and returns every problem, in
// path order; nil when there is none.
func Validate(d *Description, c Checks) Errors {
	var errs Errors
	add := func(path, format string, args ...any) {
		errs = append(errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	cv := d.Canvas
	if cv.Width < 16 || cv.Height < 16 || cv.Width > 7680 || cv.Height > 4320 || cv.Width%2 != 0 || cv.Height%2 != 0 {
		add("canvas", "size %dx%d: want even sizes from 16x16 to 7680x4320", cv.Width, cv.Height)
	}
	if !finite(cv.FPS) || cv.FPS <= 0 || cv.FPS > 240 {
		add("canvas.fps", "%g: want more than 0, at most 240", cv.FPS)
	}
	// Past a limit, the parts are not checked one by one: one error says
	// it, rather than one per part of a huge description.
	if len(d.Sources) > MaxSources {
		add("sources", "%d sources: at most %d", len(d.Sources), MaxSources)
	} else {
		for _, name := range slices.Sorted(maps.Keys(d.Sources)) {
			validateSource("sources."+name, name, d.Sources[name], d, add)
		}
	}
	if len(d.Scenes) == 0 {
		add("scenes", "no scene: want at least one")
	}
	if len(d.Scenes) > MaxScenes {
		add("scenes", "%d scenes: at most %d", len(d.Scenes), MaxScenes)
		return errs
	}
	for _, name := range slices.Sorted(maps.Keys(d.Scenes)) {
		at := "scenes." + name
		if !validName(name) {
			add(at, "bad scene name: want letters, digits, '_', '.' or '-', at most 64")
		}
		s := d.Scenes[name]
		if len(s.Layers) > MaxLayers {
			add(at+".layers", "%d layers: at most %d", len(s.Layers), MaxLayers)
			continue
		}
		for i, l := range s.Layers {
			validateLayer(fmt.Sprintf("%s.layers[%d]", at, i), l, d, c, add)
		}
	}
	if d.Program == "" {
		add("program", "missing: want the name of the scene on air")
	} else if _, ok := d.Scenes[d.Program]; !ok {
		add("program", "no scene %q", d.Program)
	}
	if path, cycle := findCycle(d); cycle != "" {
		add(path, "scenes show each other in a cycle: %s", cycle)
	} else {
		// Nested scenes multiply: each scene source shows all of its
		// scene's layers. Bound what one scene draws in all, or a small
		// file could ask for millions of layers.
		memo := map[string]int{}
		for _, name := range slices.Sorted(maps.Keys(d.Scenes)) {
			if len(d.Scenes[name].Layers) > MaxLayers {
				continue // told above
			}
			if n := expanded(d, name, memo, 0); n > MaxDrawnLayers {
				add("scenes."+name, "draws %d layers through its nested scenes: at most %d", n, MaxDrawnLayers)
			}
		}
	}
	slices.SortStableFunc(errs, func(a, b *Error) int { return strings.Compare(a.Path, b.Path) })
	return errs
}

func validateSource(at, name string, s Source, d *Description, add func(string, string, ...any)) {
	if !validName(name) {
		add(at, "bad source name: want letters, digits, '_', '.' or '-', at most 64")
	}
	// Which fields a type takes (any other that is set is an error), and
	// which of them it needs.
	var takes, needs []string
	switch s.Type {
	case TypeTestsrc:
		takes = []string{"width", "height", "tone"}
	case TypeY4M:
		takes, needs = []string{"path", "loop"}, []string{"path"}
	case TypeImage:
		takes, needs = []string{"path"}, []string{"path"}
	case TypeColor:
		takes, needs = []string{"color", "width", "height"}, []string{"color"}
	case TypeWHIP:
	case TypeISF:
		takes, needs = []string{"path", "width", "height", "inputs"}, []string{"path"}
	case TypeText:
		takes, needs = []string{"text", "font", "size", "width", "height"}, []string{"text"}
	case TypeScene:
		takes, needs = []string{"scene", "width", "height"}, []string{"scene"}
	case "":
		add(at+".type", "missing: want one of %s", strings.Join(types(), ", "))
		return
	default:
		add(at+".type", "unknown type %q: want one of %s", s.Type, strings.Join(types(), ", "))
		return
	}
	set := map[string]bool{
		"path": s.Path != "", "loop": s.Loop, "color": s.Color != "", "text": s.Text != "",
		"font": s.Font != "", "size": s.Size != 0, "scene": s.Scene != "", "width": s.Width != 0,
		"height": s.Height != 0, "inputs": s.Inputs != nil, "tone": s.Tone != 0,
	}
	for _, f := range slices.Sorted(maps.Keys(set)) {
		if set[f] && !slices.Contains(takes, f) {
			add(at+"."+f, "a %s source takes no %s", s.Type, f)
		}
	}
	for _, f := range needs {
		if !set[f] {
			add(at+"."+f, "missing: a %s source needs one", s.Type)
		}
	}
	if s.Width < 0 || s.Height < 0 || s.Width > 7680 || s.Height > 4320 || (s.Width == 0) != (s.Height == 0) {
		add(at, "size %dx%d: want both 0 (the canvas's) or up to 7680x4320", s.Width, s.Height)
	}
	if s.Color != "" {
		if _, ok := ParseColor(s.Color); !ok {
			add(at+".color", "%q: want #rgb, #rrggbb or #rrggbbaa", s.Color)
		}
	}
	if s.Tone != 0 && (s.Tone < 20 || s.Tone > 20000) {
		add(at+".tone", "%d Hz: want 20 to 20000 (0: 440)", s.Tone)
	}
	if s.Type == TypeText && (!finite(s.Size) || s.Size < 0 || s.Size > 1000) {
		add(at+".size", "%g: want 0 (the default) to 1000 pixels", s.Size)
	}
	if s.Type == TypeScene && s.Scene != "" {
		if _, ok := d.Scenes[s.Scene]; !ok {
			add(at+".scene", "no scene %q", s.Scene)
		}
	}
}

func validateLayer(at string, l Layer, d *Description, c Checks, add func(string, string, ...any)) {
	if l.Source == "" {
		add(at+".source", "missing: want the name of a source")
	} else if _, ok := d.Sources[l.Source]; !ok {
		add(at+".source", "no source %q", l.Source)
	}
	r := l.Rect
	if !finite(r[:]...) || r[2] <= 0 || r[3] <= 0 || max(math.Abs(r[0]), math.Abs(r[1]), r[2], r[3]) > 1e5 {
		add(at+".rect", "%v: want a width and height above 0, within 100000 pixels", r)
	}
	if !l.Fit.valid() {
		add(at+".fit", "%q: want contain, cover or stretch", l.Fit)
	}
	cr := l.Crop
	if !finite(cr[:]...) || min(cr[0], cr[1], cr[2], cr[3]) < 0 {
		add(at+".crop", "%v: want values of 0 or more", cr)
	} else if cr.fractional() && (cr[0]+cr[2] >= 1 || cr[1]+cr[3] >= 1) {
		add(at+".crop", "%v: crops the whole source away", cr)
	}
	if !finite(l.Opacity) || l.Opacity < 0 || l.Opacity > 1 {
		add(at+".opacity", "%g: want 0 to 1", l.Opacity)
	}
	if !finite(l.Rotation) || math.Abs(l.Rotation) > 360 {
		add(at+".rotation", "%g: want -360 to 360 degrees", l.Rotation)
	}
	if !finite(l.Gain) || l.Gain < 0 || l.Gain > 16 {
		add(at+".gain", "%g: want 0 to 16", l.Gain)
	}
	if len(l.Passes) > MaxPasses {
		add(at+".passes", "%d passes: at most %d", len(l.Passes), MaxPasses)
	}
	for i, p := range l.Passes {
		pa := fmt.Sprintf("%s.passes[%d]", at, i)
		switch {
		case p == "":
			add(pa, "empty pass name")
		case c.Pass != nil:
			if err := c.Pass(p); err != nil {
				add(pa, "%v", err)
			}
		}
	}
}

// expanded counts the layers scene name draws, nested scenes' included
// (memo: counts known; without cycles, which are refused first). It stops
// counting past MaxDrawnLayers.
func expanded(d *Description, name string, memo map[string]int, depth int) int {
	if n, ok := memo[name]; ok {
		return n
	}
	n := 0
	for _, l := range d.Scenes[name].Layers {
		n++
		if src, ok := d.Sources[l.Source]; ok && src.Type == TypeScene && depth < MaxScenes {
			if _, ok := d.Scenes[src.Scene]; ok {
				n += expanded(d, src.Scene, memo, depth+1)
			}
		}
		if n > MaxDrawnLayers {
			break
		}
	}
	memo[name] = n
	return n
}

// findCycle finds scenes that show each other through scene sources, and
// returns the path of a source on the cycle and the cycle.
func findCycle(d *Description) (path, cycle string) {
	// shows[a] lists the scenes a's layers show through scene sources.
	shows := map[string][]string{}
	via := map[[2]string]string{} // (scene, shown) -> the source
	for _, name := range slices.Sorted(maps.Keys(d.Scenes)) {
		for _, l := range d.Scenes[name].Layers {
			if s, ok := d.Sources[l.Source]; ok && s.Type == TypeScene {
				if _, ok := d.Scenes[s.Scene]; ok {
					shows[name] = append(shows[name], s.Scene)
					via[[2]string{name, s.Scene}] = l.Source
				}
			}
		}
	}
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var trail []string
	var visit func(string) bool
	visit = func(n string) bool {
		state[n] = open
		trail = append(trail, n)
		for _, m := range shows[n] {
			if state[m] == open {
				i := slices.Index(trail, m)
				cyc := append(slices.Clone(trail[i:]), m)
				path, cycle = "sources."+via[[2]string{n, m}], strings.Join(cyc, " -> ")
				return true
			}
			if state[m] == unseen && visit(m) {
				return true
			}
		}
		trail = trail[:len(trail)-1]
		state[n] = done
		return false
	}
	for _, name := range slices.Sorted(maps.Keys(d.Scenes)) {
		if state[name] == unseen && visit(name) {
			return path, cycle
		}
	}
	return "", ""
}

// ParseColor reads #rgb, #rrggbb or #rrggbbaa as RGBA.
func ParseColor(s string) ([4]uint8, bool) {
	h, ok := strings.CutPrefix(s, "#")
	if !ok {
		return [4]uint8{}, false
	}
	hex := func(c byte) (uint8, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	var v [8]uint8
	for i := 0; i < len(h) && i < 8; i++ {
		if v[i], ok = hex(h[i]); !ok {
			return [4]uint8{}, false
		}
	}
	switch len(h) {
	case 3:
		return [4]uint8{v[0] * 17, v[1] * 17, v[2] * 17, 255}, true
	case 6:
		return [4]uint8{v[0]<<4 | v[1], v[2]<<4 | v[3], v[4]<<4 | v[5], 255}, true
	case 8:
		return [4]uint8{v[0]<<4 | v[1], v[2]<<4 | v[3], v[4]<<4 | v[5], v[6]<<4 | v[7]}, true
	}
	return [4]uint8{}, false
}

func types() []string {
	return []string{TypeTestsrc, TypeY4M, TypeImage, TypeColor, TypeWHIP, TypeISF, TypeText, TypeScene}
}

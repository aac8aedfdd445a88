package scene

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// issueExample is the shape issue 11 says must work.
const issueExample = `{"canvas": {"width": 1280, "height": 720, "fps": 30},
 "sources": {"cam": {"type": "whip"}, "deck": {"type": "y4m", "path": "talk.y4m", "loop": true},
             "logo": {"type": "image", "path": "logo.png"}, "title": {"type": "text", "text": "Dock 4 {{clock}}"},
             "bg": {"type": "isf", "path": "plasma.fs"}},
 "scenes": {"main": {"layers": [{"source": "cam", "rect": [0, 0, 1280, 720], "passes": ["barcode"]},
                                {"source": "logo", "rect": [1090, 20, 170, 85], "opacity": 0.8}]},
            "side": {"layers": [{"source": "deck", "rect": [0, 0, 1280, 720], "fit": "contain"},
                                {"source": "cam", "rect": [880, 480, 380, 214], "passes": ["barcode"]}]}},
 "program": "main"}`

func TestParseIssueExample(t *testing.T) {
	d, err := Parse([]byte(issueExample), Checks{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Canvas != (Canvas{1280, 720, 30}) || d.Program != "main" || len(d.Sources) != 5 || len(d.Scenes) != 2 {
		t.Fatalf("parsed %+v", d)
	}
	want := Layer{Source: "logo", Rect: Rect{1090, 20, 170, 85}, Fit: FitContain, Opacity: 0.8, Visible: true, Passes: []string{}, Gain: 1}
	if got := d.Scenes["main"].Layers[1]; !reflect.DeepEqual(got, want) {
		t.Errorf("main's logo layer:\n got %+v\nwant %+v", got, want)
	}
	if s := d.Sources["deck"]; s.Type != TypeY4M || s.Path != "talk.y4m" || !s.Loop {
		t.Errorf("deck %+v", s)
	}
	// What the API returns parses back to the same description.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Parse(b, Checks{})
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(d, d2) {
		t.Errorf("round trip changed it:\n%+v\n%+v", d, d2)
	}
}

func TestParseDefaults(t *testing.T) {
	d, err := Parse([]byte(`{"sources": {"t": {"type": "testsrc"}},
		"scenes": {"a": {"layers": [{"source": "t"}, {"source": "t", "rect": [0.5, 0.5, 0.5, 0.5], "visible": false, "opacity": 0}]}},
		"program": "a"}`), Checks{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Canvas != (Canvas{DefaultWidth, DefaultHeight, DefaultFPS}) {
		t.Errorf("canvas %+v", d.Canvas)
	}
	l := d.Scenes["a"].Layers
	if l[0].Rect != (Rect{0, 0, 1280, 720}) || l[0].Fit != FitContain || l[0].Opacity != 1 || !l[0].Visible || l[0].Gain != 1 {
		t.Errorf("defaults: %+v", l[0])
	}
	// Fractions are of the canvas; an explicit 0 and false stay.
	if l[1].Rect != (Rect{640, 360, 640, 360}) || l[1].Opacity != 0 || l[1].Visible {
		t.Errorf("second layer: %+v", l[1])
	}
}

// TestParseErrors: each bad description is refused with its reason, at
// the right line.
func TestParseErrors(t *testing.T) {
	ok := func(layer string) string {
		return `{"sources": {"t": {"type": "testsrc"}, "s": {"type": "scene", "scene": "b"}},
"scenes": {"a": {"layers": [
` + layer + `
]}, "b": {"layers": []}},
"program": "a"}`
	}
	noBarcode := Checks{Pass: func(n string) error {
		if n != "barcode" {
			return fmt.Errorf("no pass %q", n)
		}
		return nil
	}}
	for _, c := range []struct {
		name, text string
		checks     Checks
		want       []string // in the error, in order
		line       int      // of the first error
	}{
		{"not JSON", "{\n\"scenes\": [1,\n}", Checks{}, []string{"not JSON"}, 3},
		{"empty", "", Checks{}, []string{"empty"}, 0},
		{"trailing", `{"program": "a", "scenes": {"a": {"layers": []}}} {}`, Checks{}, []string{"data after"}, 1},
		{"unknown key", ok(`{"source": "t", "opactiy": 0.5}`), Checks{}, []string{`unknown key "opactiy"`}, 3},
		{"wrong type", ok(`{"source": "t", "opacity": "half"}`), Checks{}, []string{"scenes.a.layers[0].opacity", "want float64, not string"}, 3},
		{"unknown source", ok(`{"source": "nope"}`), Checks{}, []string{`scenes.a.layers[0].source: no source "nope"`}, 3},
		{"bad rect", ok(`{"source": "t", "rect": [0, 0, -5, 10]}`), Checks{}, []string{"scenes.a.layers[0].rect", "width and height above 0"}, 3},
		{"short rect", ok(`{"source": "t", "rect": [0, 0, 5]}`), Checks{}, []string{"want [x, y, width, height]"}, 3},
		{"bad fit", ok(`{"source": "t", "fit": "fill"}`), Checks{}, []string{`"fill": want contain, cover or stretch`}, 3},
		{"opacity", ok(`{"source": "t", "opacity": 1.5}`), Checks{}, []string{"opacity: 1.5: want 0 to 1"}, 3},
		{"crop all", ok(`{"source": "t", "crop": [0.5, 0, 0.5, 0]}`), Checks{}, []string{"crops the whole source away"}, 3},
		{"unknown pass", ok(`{"source": "t", "passes": ["barcode", "blur"]}`), noBarcode, []string{`passes[1]: no pass "blur"`}, 3},
		{"program", strings.Replace(ok(`{"source": "t"}`), `"program": "a"`, `"program": "z"`, 1), Checks{}, []string{`program: no scene "z"`}, 5},
		{"cycle", strings.Replace(ok(`{"source": "s"}`), `"b": {"layers": []}`, `"b": {"layers": [{"source": "s2"}]}`, 1) + "",
			Checks{}, nil, 0},
		{"type", `{"sources": {"x": {"type": "camera"}}, "scenes": {"a": {"layers": []}}, "program": "a"}`, Checks{}, []string{`sources.x.type: unknown type "camera"`}, 1},
		{"field of another type", `{"sources": {"x": {"type": "whip", "path": "a.y4m"}}, "scenes": {"a": {"layers": []}}, "program": "a"}`,
			Checks{}, []string{"sources.x.path: a whip source takes no path"}, 1},
		{"needs", `{"sources": {"x": {"type": "image"}}, "scenes": {"a": {"layers": []}}, "program": "a"}`,
			Checks{}, []string{"sources.x.path: missing"}, 1},
		{"color", `{"sources": {"x": {"type": "color", "color": "red"}}, "scenes": {"a": {"layers": []}}, "program": "a"}`,
			Checks{}, []string{"want #rgb"}, 1},
		{"name", `{"sources": {"a b": {"type": "whip"}}, "scenes": {"a": {"layers": []}}, "program": "a"}`,
			Checks{}, []string{"bad source name"}, 1},
		{"canvas", `{"canvas": {"width": 1281}, "scenes": {"a": {"layers": []}}, "program": "a"}`,
			Checks{}, []string{"canvas: size 1281x720"}, 1},
		{"no scenes", `{"program": "a"}`, Checks{}, []string{`program: no scene "a"`, "scenes: no scene"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "cycle" {
				c.text = `{"sources": {"sa": {"type": "scene", "scene": "a"}, "sb": {"type": "scene", "scene": "b"}},
"scenes": {"a": {"layers": [{"source": "sb"}]},
 "b": {"layers": [{"source": "sa"}]}},
"program": "a"}`
				c.want, c.line = []string{"cycle: a -> b -> a"}, 1
			}
			_, err := Parse([]byte(c.text), c.checks)
			if err == nil {
				t.Fatalf("accepted:\n%s", c.text)
			}
			msg := err.Error()
			at := 0
			for _, w := range c.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i
			}
			var first *Error
			var es Errors
			if errors.As(err, &es) {
				first = es[0]
			} else if !errors.As(err, &first) {
				t.Fatalf("error %T", err)
			}
			if first.Line != c.line {
				t.Errorf("%q: line %d, want %d", msg, first.Line, c.line)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	l := Layer{Rect: Rect{100, 50, 400, 400}, Fit: FitContain}
	near := func(a, b [4]float64) bool {
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-9 {
				return false
			}
		}
		return true
	}
	// A 2:1 source in a square: contained, it is letterboxed top and bottom.
	p, ok := Place(&l, 200, 100)
	if !ok || !near(p.Dst, [4]float64{100, 150, 400, 200}) || !near(p.Src, [4]float64{0, 0, 200, 100}) || p.Center != [2]float64{300, 250} {
		t.Errorf("contain: %+v", p)
	}
	// Covering, its middle square shows over the whole rectangle.
	l.Fit = FitCover
	if p, _ = Place(&l, 200, 100); !near(p.Dst, [4]float64{100, 50, 400, 400}) || !near(p.Src, [4]float64{50, 0, 100, 100}) {
		t.Errorf("cover: %+v", p)
	}
	l.Fit = FitStretch
	if p, _ = Place(&l, 200, 100); !near(p.Dst, [4]float64{100, 50, 400, 400}) || !near(p.Src, [4]float64{0, 0, 200, 100}) {
		t.Errorf("stretch: %+v", p)
	}
	// Crops, in pixels and in fractions, come before the fit.
	l.Fit, l.Crop = FitContain, Crop{100, 0, 0, 0}
	if p, _ = Place(&l, 200, 100); !near(p.Dst, [4]float64{100, 50, 400, 400}) || !near(p.Src, [4]float64{100, 0, 100, 100}) {
		t.Errorf("crop px: %+v", p)
	}
	l.Crop = Crop{0, 0.5, 0, 0}
	if p, _ = Place(&l, 200, 100); !near(p.Src, [4]float64{0, 50, 200, 50}) || !near(p.Dst, [4]float64{100, 200, 400, 100}) {
		t.Errorf("crop fraction: %+v", p)
	}
	l.Crop, l.Rotation = Crop{}, 90
	if p, _ = Place(&l, 200, 100); math.Abs(p.Rotation-math.Pi/2) > 1e-12 {
		t.Errorf("rotation %g", p.Rotation)
	}
	l.Crop = Crop{200, 0, 0, 0}
	if _, ok := Place(&l, 200, 100); ok {
		t.Error("a crop of everything placed something")
	}
	if _, ok := Place(&Layer{Rect: Rect{0, 0, 1, 1}}, 0, 10); ok {
		t.Error("a 0-wide source placed something")
	}
}

func TestParseColor(t *testing.T) {
	for s, want := range map[string][4]uint8{"#fff": {255, 255, 255, 255}, "#102030": {16, 32, 48, 255}, "#10203040": {16, 32, 48, 64}, "#A0b0C0": {160, 176, 192, 255}} {
		if got, ok := ParseColor(s); !ok || got != want {
			t.Errorf("%s: %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "fff", "#ff", "#fffff", "#ggg", "#1234567", "#123456789"} {
		if _, ok := ParseColor(s); ok {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestParseHuge: a description past the limits gets one error per limit,
// not one per part (each placed by line), and a deep value is no problem.
func TestParseHuge(t *testing.T) {
	for name, c := range map[string]struct {
		text string
		want string
	}{
		"layers":  {`{"sources": {}, "scenes": {"a": {"layers": [` + strings.Repeat(`{"source": "n"},`, 5000) + `{"source": "n"}]}}, "program": "a"}`, "5001 layers: at most 32"},
		"sources": {`{"sources": {` + strings.Repeat(`"s": {"type": "nope"}, `, 1) + sources(100) + `}, "scenes": {"a": {"layers": []}}, "program": "a"}`, "101 sources: at most 64"},
		"deep":    {`{"sources": {"i": {"type": "isf", "path": "a", "inputs": {"a": ` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}}, "scenes": {"a": {"layers": [{"source": "x"}]}}, "program": "a"}`, `no source "x"`},
	} {
		_, err := Parse([]byte(c.text), Checks{})
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || !strings.Contains(es[0].Msg, c.want) || es[0].Line != 1 {
			t.Errorf("%s: %v, want one error %q", name, err, c.want)
		}
	}
}

func sources(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"s%d": {"type": "whip"}`, i)
	}
	return b.String()
}

func TestPlacementToCanvas(t *testing.T) {
	// A 200x100 source contained in a 400x400 rectangle at (100, 50): twice
	// the size, letterboxed to y 150..350.
	l := Layer{Rect: Rect{100, 50, 400, 400}, Fit: FitContain}
	p, _ := Place(&l, 200, 100)
	for _, c := range []struct{ x, y, cx, cy float64 }{
		{0, 0, 100, 150}, {200, 100, 500, 350}, {100, 50, 300, 250}, {50, 25, 200, 200},
	} {
		if x, y := p.ToCanvas(c.x, c.y); math.Abs(x-c.cx) > 1e-9 || math.Abs(y-c.cy) > 1e-9 {
			t.Errorf("contain: (%g, %g) -> (%g, %g), want (%g, %g)", c.x, c.y, x, y, c.cx, c.cy)
		}
	}
	// Turned 90° clockwise about the rectangle's centre (300, 250): the
	// source's top-left corner, left of and above the centre, goes right
	// of and above it.
	l.Rotation = 90
	p, _ = Place(&l, 200, 100)
	if x, y := p.ToCanvas(0, 0); math.Abs(x-400) > 1e-9 || math.Abs(y-50) > 1e-9 {
		t.Errorf("turned: top-left -> (%g, %g), want (400, 50)", x, y)
	}
	// A crop moves the source's origin: with 100 px cropped on the left,
	// source x 100 is the left edge.
	l.Rotation, l.Crop = 0, Crop{100, 0, 0, 0}
	p, _ = Place(&l, 200, 100)
	if x, y := p.ToCanvas(100, 0); math.Abs(x-100) > 1e-9 || math.Abs(y-50) > 1e-9 {
		t.Errorf("cropped: (100, 0) -> (%g, %g), want (100, 50)", x, y)
	}
}

// Nested scenes that fan out (each showing the next scene many times) are
// refused by what they would draw, before anything expands them.
func TestParseNestingFanOut(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"sources": {"bg": {"type": "color", "color": "#000"}`)
	for i := 1; i < 5; i++ {
		fmt.Fprintf(&b, `, "s%d": {"type": "scene", "scene": "n%d"}`, i, i)
	}
	b.WriteString(`}, "scenes": {`)
	for i := 0; i < 5; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"n%d": {"layers": [`, i)
		for k := 0; k < 8; k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			if i < 4 {
				fmt.Fprintf(&b, `{"source": "s%d"}`, i+1)
			} else {
				b.WriteString(`{"source": "bg"}`)
			}
		}
		b.WriteString("]}")
	}
	b.WriteString(`}, "program": "n0"}`)
	_, err := Parse([]byte(b.String()), Checks{})
	if err == nil || !strings.Contains(err.Error(), "scenes.n0: draws") {
		t.Fatalf("8^5 layers through nested scenes: %v", err)
	}
}

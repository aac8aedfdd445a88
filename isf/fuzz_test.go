package isf

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedShaders adds every shader of the repository's test data and built-in
// filters to a fuzz corpus.
func seedShaders(f *testing.F, add func(name string, src []byte)) {
	for _, pat := range []string{"testdata/*", "../shaders/filters/*.fs", "../shaders/filters/*.glsl"} {
		files, _ := filepath.Glob(pat)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err == nil {
				add(filepath.Base(file), b)
			}
		}
	}
}

// FuzzParse parses arbitrary shader files (header, inputs, passes,
// IMPORTED, then the translation): errors are fine, panics and hangs
// are not, and what parses is within the limits.
func FuzzParse(f *testing.F) {
	seedShaders(f, func(name string, src []byte) { f.Add(name, src, []byte(nil)) })
	f.Add("deep.fs", []byte(`/*{"PASSES": [{"TARGET": "a", "WIDTH": "`+strings.Repeat("(", 200)+`1`+strings.Repeat(")", 200)+`"}, {}]}*/`+simpleBody), []byte(nil))
	f.Add("v.fs", []byte(`/*{"INPUTS": [{"NAME": "c", "TYPE": "color", "DEFAULT": "#ff000080"}, {"NAME": "l", "TYPE": "long", "MIN": 0, "MAX": 4}]}*/`+simpleBody), []byte("void main() { isf_vertShaderInit(); }"))
	f.Fuzz(func(t *testing.T, name string, frag, vert []byte) {
		sh, err := Parse(name, frag, vert)
		if err != nil {
			return
		}
		if len(sh.Inputs) > MaxInputs+2 || len(sh.Passes) > MaxPasses || sh.Fragment == "" {
			t.Fatalf("%d inputs, %d passes, %d bytes of GLSL", len(sh.Inputs), len(sh.Passes), len(sh.Fragment))
		}
		for i := range sh.Passes {
			if w, h, err := sh.PassSize(i, 1920, 1080, nil); err == nil && (w < 1 || h < 1 || w > MaxTargetSize || h > MaxTargetSize) {
				t.Fatalf("pass %d: %dx%d", i, w, h)
			}
		}
	})
}

// FuzzTranslate runs the GLSL translation on arbitrary code under a valid
// header (the header alone rarely survives mutation).
func FuzzTranslate(f *testing.F) {
	seedShaders(f, func(_ string, src []byte) {
		if _, off, ok, _ := header(src); ok {
			if end := strings.Index(string(src[off:]), "*/"); end >= 0 {
				src = src[off+end+2:]
			}
		}
		f.Add(string(src), false)
	})
	f.Add("void mainImage(out vec4 o, in vec2 p) { o = texture(iChannel0, p / iResolution.xy); }", true)
	f.Add("#version 150\n#extension GL_ARB_foo : enable\nvarying vec2 v; void main() { gl_FragData[0] = texture2D(inputImage, isf_FragNormCoord); /* */ }", false)
	f.Fuzz(func(t *testing.T, code string, shadertoy bool) {
		const hdr = `/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}, {"NAME": "amount", "TYPE": "float"}], "PASSES": [{"TARGET": "buf", "PERSISTENT": true}, {}]}*/` + "\n"
		name, src := "x.fs", hdr+code
		if shadertoy {
			name, src = "x.glsl", code
		}
		sh, err := Parse(name, []byte(src), []byte(code))
		if err != nil {
			return
		}
		if !strings.Contains(sh.Fragment, "#line") {
			t.Fatalf("translation lost its #line directives")
		}
	})
}

// FuzzExpr parses and evaluates arbitrary WIDTH/HEIGHT expressions.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{"$WIDTH/4", "floor($WIDTH / 3.0)", "max($WIDTH, $HEIGHT, 1000)", "pow(2, $level)", "($level > 2) * 10",
		"clamp($WIDTH, 0, 512)", "-$HEIGHT + 2*($WIDTH - 40)", "1e2", "$WIDTH % 100 != 0", strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100)} {
		f.Add(s, 640.0, 360.0, 3.0)
	}
	f.Fuzz(func(t *testing.T, src string, w, h, level float64) {
		e, err := ParseExpr(src)
		if err != nil {
			return
		}
		v, err := e.Eval(map[string]float64{"WIDTH": w, "HEIGHT": h, "level": level})
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("%q = %v without an error", src, v)
		}
	})
}

// FuzzCoerce feeds JSON values (as the API decodes them) to every input
// type: colours, points, longs with labels.
func FuzzCoerce(f *testing.F) {
	for _, s := range []string{`0.5`, `true`, `"#ff8000"`, `"#ff800080"`, `[0.1, 0.2]`, `[1, 0, 0]`, `[1, 0, 0, 0.5]`, `"Two"`, `3`, `1e300`, `-4e9`, `null`, `{"a": 1}`, `"#+f0000"`} {
		f.Add(s)
	}
	inputs := []Input{
		{Name: "f", Type: TypeFloat, Min: Value{0}, Max: Value{1}},
		{Name: "b", Type: TypeBool},
		{Name: "e", Type: TypeEvent},
		{Name: "l", Type: TypeLong, Values: []int{1, 2, 3}, Labels: []string{"One", "Two", "Three"}},
		{Name: "n", Type: TypeLong},
		{Name: "c", Type: TypeColor},
		{Name: "p", Type: TypePoint2D, Min: Value{0, 0}, Max: Value{100, 100}},
		{Name: "i", Type: TypeImage},
	}
	f.Fuzz(func(t *testing.T, js string) {
		var x any
		if json.Unmarshal([]byte(js), &x) != nil {
			return
		}
		for i := range inputs {
			in := &inputs[i]
			v, err := in.Coerce(x)
			if err != nil {
				continue
			}
			if len(v) != in.Components() {
				t.Fatalf("%s: %v has %d components", in.Type, v, len(v))
			}
			for _, c := range v {
				if math.IsNaN(c) || math.IsInf(c, 0) {
					t.Fatalf("%s: %v", in.Type, v)
				}
			}
			if in.Type == TypeLong && !isLong(v[0]) {
				t.Fatalf("long %v", v)
			}
			_ = in.Go(v)
		}
	})
}

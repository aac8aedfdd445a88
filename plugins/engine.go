package plugins

// This file is the registry's only contact with the shader format: it turns
// a plugin file into a shader (metadata + a way to make passes). Everything
// else in the package deals in names, files and passes.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/shadercast/shadercast/compositor"
)

// shader is one parsed plugin file.
type shader struct {
	name        string
	file        string // the path errors name
	description string
	inputs      []Input
	passes      int
	// deps are other files whose change must recompile this shader (the
	// .vs beside it, IMPORTED images), absolute.
	deps []string
	// newPass makes a fresh pass; values are input values to start with
	// (those that no longer fit the declaration are dropped).
	newPass func(values map[string]any) (compositor.Pass, error)
}

// Input is one declared input of a pass, ISF-style.
type Input struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"` // float, bool, long, color, point2D, event, image
	Label   string   `json:"label,omitempty"`
	Default any      `json:"default,omitempty"`
	Min     any      `json:"min,omitempty"`
	Max     any      `json:"max,omitempty"`
	Values  []int    `json:"values,omitempty"`
	Labels  []string `json:"labels,omitempty"`
}

type isfHeader struct {
	Description string `json:"DESCRIPTION"`
	Inputs      []struct {
		Name    string          `json:"NAME"`
		Type    string          `json:"TYPE"`
		Label   string          `json:"LABEL"`
		Default json.RawMessage `json:"DEFAULT"`
		Min     json.RawMessage `json:"MIN"`
		Max     json.RawMessage `json:"MAX"`
		Values  []int           `json:"VALUES"`
		Labels  []string        `json:"LABELS"`
	} `json:"INPUTS"`
	Passes   []json.RawMessage `json:"PASSES"`
	Imported json.RawMessage   `json:"IMPORTED"`
}

// loadShader reads a plugin file (ISF .fs, ShaderToy .glsl) from dir.
func loadShader(dir, base string) (*shader, error) {
	path := filepath.Join(dir, base)
	fs, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(base, filepath.Ext(base))
	sh, err := parseShader(name, path, fs)
	if err != nil {
		return nil, err
	}
	vs := filepath.Join(dir, name+".vs")
	if abs, err := filepath.Abs(vs); err == nil {
		sh.deps = append(sh.deps, abs)
	}
	return sh, nil
}

// parseShader is the stand-in translator for single-pass ISF filters until
// the isf package lands: header JSON, old-style GLSL mapped to 330 core,
// #line kept so that errors name the plugin's own lines.
func parseShader(name, file string, src []byte) (*shader, error) {
	if filepath.Ext(file) == ".glsl" {
		return nil, fmt.Errorf("%s: ShaderToy shaders need the isf package", file)
	}
	text := string(src)
	start := strings.Index(text, "/*")
	end := strings.Index(text, "*/")
	if start < 0 || end < start || strings.TrimSpace(text[:start]) != "" {
		return nil, fmt.Errorf("%s:1: no ISF JSON header (a /*{...}*/ comment first in the file)", file)
	}
	var h isfHeader
	dec := json.NewDecoder(bytes.NewReader(src[start+2 : end]))
	if err := dec.Decode(&h); err != nil {
		line := 1 + strings.Count(text[:start], "\n")
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line += bytes.Count(src[start+2:start+2+int(se.Offset)], []byte("\n"))
		}
		return nil, fmt.Errorf("%s:%d: ISF header: %v", file, line, err)
	}
	if len(h.Passes) > 1 || len(h.Imported) > 0 {
		return nil, fmt.Errorf("%s:1: multi-pass and IMPORTED need the isf package", file)
	}
	sh := &shader{name: name, file: file, description: h.Description, passes: 1}
	var decl strings.Builder
	defaults := map[string]any{}
	glslType := map[string]string{"float": "float", "bool": "bool", "long": "int", "color": "vec4", "point2D": "vec2", "event": "bool"}
	for _, in := range h.Inputs {
		if in.Type == "image" && in.Name == "inputImage" {
			continue
		}
		t, ok := glslType[in.Type]
		if !ok {
			return nil, fmt.Errorf("%s:1: input %q: type %q is not supported", file, in.Name, in.Type)
		}
		fmt.Fprintf(&decl, "uniform %s %s;\n", t, in.Name)
		inp := Input{Name: in.Name, Type: in.Type, Label: in.Label, Values: in.Values, Labels: in.Labels}
		for _, f := range []struct {
			raw json.RawMessage
			dst *any
		}{{in.Default, &inp.Default}, {in.Min, &inp.Min}, {in.Max, &inp.Max}} {
			if len(f.raw) > 0 {
				if err := json.Unmarshal(f.raw, f.dst); err != nil {
					return nil, fmt.Errorf("%s:1: input %q: %v", file, in.Name, err)
				}
			}
		}
		if inp.Default != nil {
			v, err := uniformValue(in.Type, inp.Default)
			if err != nil {
				return nil, fmt.Errorf("%s:1: input %q: DEFAULT: %v", file, in.Name, err)
			}
			defaults[in.Name] = v
		}
		sh.inputs = append(sh.inputs, inp)
	}
	bodyLine := 1 + strings.Count(text[:end], "\n")
	glsl := "#version 330 core\n" + isfPrelude + decl.String() + fmt.Sprintf("#line %d\n", bodyLine) + text[end+2:]
	sh.newPass = func(values map[string]any) (compositor.Pass, error) {
		u := map[string]any{}
		for k, v := range defaults {
			u[k] = v
		}
		for _, in := range sh.inputs {
			if v, ok := values[in.Name]; ok {
				if cv, err := uniformValue(in.Type, v); err == nil {
					u[in.Name] = cv
				}
			}
		}
		return compositor.NewShaderPass(compositor.ShaderPassSpec{Name: name, File: file, Source: glsl, Uniforms: u}), nil
	}
	return sh, nil
}

func uniformValue(typ string, v any) (any, error) {
	switch typ {
	case "float":
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		}
	case "bool", "event":
		switch x := v.(type) {
		case bool:
			return x, nil
		case float64:
			return x != 0, nil
		}
	case "long":
		switch x := v.(type) {
		case float64:
			return int(x), nil
		case int32:
			return int(x), nil
		case int:
			return x, nil
		}
	case "color", "point2D":
		n := 4
		if typ == "point2D" {
			n = 2
		}
		var c []float64
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				f, ok := e.(float64)
				if !ok {
					return nil, fmt.Errorf("%v is not a number", e)
				}
				c = append(c, f)
			}
		case []float32:
			for _, f := range x {
				c = append(c, float64(f))
			}
		case []float64:
			c = x
		}
		if len(c) == n {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%v does not fit a %s input", v, typ)
}

const isfPrelude = `uniform sampler2D uInput;
uniform ivec2 uInputSize;
uniform float uTime;
uniform int uFrame;
out vec4 isf_FragColor;
#define gl_FragColor isf_FragColor
#define texture2D texture
#define inputImage uInput
#define RENDERSIZE vec2(uInputSize)
#define TIME uTime
#define FRAMEINDEX uFrame
#define isf_FragNormCoord vec2(gl_FragCoord.x / float(uInputSize.x), 1.0 - gl_FragCoord.y / float(uInputSize.y))
#define IMG_NORM_PIXEL(img, c) texture(img, vec2((c).x, 1.0 - (c).y))
#define IMG_PIXEL(img, c) IMG_NORM_PIXEL(img, (c) / vec2(textureSize(img, 0)))
#define IMG_THIS_PIXEL(img) IMG_NORM_PIXEL(img, isf_FragNormCoord)
#define IMG_THIS_NORM_PIXEL(img) IMG_NORM_PIXEL(img, isf_FragNormCoord)
#define IMG_SIZE(img) vec2(textureSize(img, 0))
`

// engineLinear: IMG_NORM_PIXEL filters linearly between texels (ISF's
// reference does); the stand-in translator samples the nearest texel.
const engineLinear = false

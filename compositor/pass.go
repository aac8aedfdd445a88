package compositor

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/shaders"
)

// Pass is one step of a chain: the pipeline's own (after composition) or a
// layer's. The compositor has ShaderPass; other kinds implement Pass with
// what this package exports for them (Device's GL objects, Frame, Target,
// Picture). A Pass belongs to at most one chain; its methods other than
// Name run on the GL thread.
type Pass interface {
	// Name identifies the pass in its chain; names are unique per chain.
	Name() string
	// Setup makes the pass's GL objects, when it joins a chain; an error
	// leaves the chain as it was.
	Setup(d *Device) error
	// Render runs the pass on a frame. src holds the previous result; the
	// pass either draws into dst and returns it, or returns src when it
	// changed nothing or drew into src in place (through Frame.Writable).
	Render(f *Frame, src, dst *Target) (*Target, error)
	// Release frees what Setup and Render made.
	Release(d *Device)
	// Uniforms describes the pass's inputs, with ISF's type names.
	Uniforms() []UniformInfo
	// SetUniform sets an input from the next frame, type-checked.
	SetUniform(name string, v any) error
}

// FrameInfo is what a pass's per-frame update sees.
type FrameInfo struct {
	Index     uint64 // frames processed by the pipeline before this one
	Timestamp int64  // microseconds, the input frame's
	Width     int
	Height    int
}

// UniformInfo describes one input (uniform) a pass declares, for control
// APIs and the controls a UI builds. Every pass kind reports its inputs
// with ISF's type names, so that UIs treat them alike.
type UniformInfo struct {
	Name string `json:"name"`
	// Type is "float", "bool", "long", "color", "point2D", "event" or
	// "image" (ISF's names: a GLSL int is a long, a vec2 a point2D, a vec4
	// a color); "vec3" for the one GLSL type ISF has no name for.
	Type  string `json:"type"`
	Value any    `json:"value"`
	// The rest comes from an ISF declaration, when there is one.
	Label    string   `json:"label,omitempty"`
	Default  any      `json:"default,omitempty"`
	Min      any      `json:"min,omitempty"`
	Max      any      `json:"max,omitempty"`
	Identity any      `json:"identity,omitempty"`
	Values   []int    `json:"values,omitempty"` // a long's choices
	Labels   []string `json:"labels,omitempty"` // their names
}

// Describer is implemented by passes that describe themselves beyond
// their name and uniforms (ISF metadata).
type Describer interface {
	Describe(*PassInfo)
}

// describePass lists a pass for Pipeline.Passes.
func describePass(p Pass, enabled bool) PassInfo {
	info := PassInfo{Name: p.Name(), Enabled: enabled, Uniforms: p.Uniforms()}
	if d, ok := p.(Describer); ok {
		d.Describe(&info)
	}
	return info
}

// Uniforms holds the values a ShaderPass sends to its program. The typed
// setters allocate nothing, for per-frame updates; Set takes any supported
// Go value, for control APIs.
type Uniforms struct {
	prog   *Program
	values map[string]*uniformValue
}

type uniformValue struct {
	typ uint32
	f   [4]float32
	i   int32
	set bool
}

var glslTypes = map[uint32]string{
	gl.FLOAT:      "float",
	gl.INT:        "int",
	gl.BOOL:       "bool",
	gl.FLOAT_VEC2: "vec2",
	gl.FLOAT_VEC3: "vec3",
	gl.FLOAT_VEC4: "vec4",
}

// isfTypeNames are the names UniformInfo reports for GLSL types.
var isfTypeNames = map[uint32]string{
	gl.FLOAT:      "float",
	gl.INT:        "long",
	gl.BOOL:       "bool",
	gl.FLOAT_VEC2: "point2D",
	gl.FLOAT_VEC3: "vec3",
	gl.FLOAT_VEC4: "color",
}

func (u *Uniforms) slot(name string, typ uint32) (*uniformValue, error) {
	v, ok := u.values[name]
	if !ok {
		return nil, fmt.Errorf("compositor: no uniform %q (only float, int, bool, vec2-4 uniforms other than the built-ins can be set)", name)
	}
	if v.typ != typ {
		return nil, fmt.Errorf("compositor: uniform %q is %s, not %s", name, glslTypes[v.typ], glslTypes[typ])
	}
	return v, nil
}

// SetFloat sets a float uniform.
func (u *Uniforms) SetFloat(name string, x float32) error {
	v, err := u.slot(name, gl.FLOAT)
	if err == nil {
		v.f[0], v.set = x, true
	}
	return err
}

// SetInt sets an int uniform.
func (u *Uniforms) SetInt(name string, x int32) error {
	v, err := u.slot(name, gl.INT)
	if err == nil {
		v.i, v.set = x, true
	}
	return err
}

// SetBool sets a bool uniform.
func (u *Uniforms) SetBool(name string, b bool) error {
	v, err := u.slot(name, gl.BOOL)
	if err == nil {
		v.i, v.set = 0, true
		if b {
			v.i = 1
		}
	}
	return err
}

// SetVec sets a vec2, vec3 or vec4 uniform from as many components.
func (u *Uniforms) SetVec(name string, c ...float32) error {
	typ := map[int]uint32{2: gl.FLOAT_VEC2, 3: gl.FLOAT_VEC3, 4: gl.FLOAT_VEC4}[len(c)]
	if typ == 0 {
		return fmt.Errorf("compositor: uniform %q: %d components is not a vector", name, len(c))
	}
	v, err := u.slot(name, typ)
	if err == nil {
		copy(v.f[:], c)
		v.set = true
	}
	return err
}

// Set type-checks a Go value against the uniform's GLSL type: float32 or
// float64 for float, int types for int, bool for bool, [N]float32 or
// []float32/[]float64 of N components for vecN.
func (u *Uniforms) Set(name string, x any) error {
	switch x := x.(type) {
	case float32:
		return u.SetFloat(name, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("compositor: uniform %q: %v is not a finite number", name, x)
		}
		return u.SetFloat(name, float32(x))
	case int:
		return u.SetInt(name, int32(x))
	case int32:
		return u.SetInt(name, x)
	case int64:
		return u.SetInt(name, int32(x))
	case bool:
		return u.SetBool(name, x)
	case [2]float32:
		return u.SetVec(name, x[:]...)
	case [3]float32:
		return u.SetVec(name, x[:]...)
	case [4]float32:
		return u.SetVec(name, x[:]...)
	case []float32:
		return u.SetVec(name, x...)
	case []float64:
		c := make([]float32, len(x))
		for i, f := range x {
			c[i] = float32(f)
		}
		return u.SetVec(name, c...)
	case []any: // decoded JSON arrays
		c := make([]float32, len(x))
		for i, e := range x {
			f, ok := e.(float64)
			if !ok {
				return fmt.Errorf("compositor: uniform %q: component %d is %T, not a number", name, i, e)
			}
			c[i] = float32(f)
		}
		return u.SetVec(name, c...)
	}
	return fmt.Errorf("compositor: uniform %q: unsupported value type %T", name, x)
}

func (v *uniformValue) value() any {
	switch v.typ {
	case gl.FLOAT:
		return v.f[0]
	case gl.INT:
		return v.i
	case gl.BOOL:
		return v.i != 0
	case gl.FLOAT_VEC2:
		return v.f[:2]
	case gl.FLOAT_VEC3:
		return v.f[:3]
	}
	return v.f[:4]
}

func (u *Uniforms) applyTo(prog *Program) {
	for name, v := range u.values {
		if !v.set {
			continue
		}
		loc := prog.loc(name)
		switch v.typ {
		case gl.FLOAT:
			gl.Uniform1f(loc, v.f[0])
		case gl.INT, gl.BOOL:
			gl.Uniform1i(loc, v.i)
		case gl.FLOAT_VEC2:
			gl.Uniform2f(loc, v.f[0], v.f[1])
		case gl.FLOAT_VEC3:
			gl.Uniform3f(loc, v.f[0], v.f[1], v.f[2])
		case gl.FLOAT_VEC4:
			gl.Uniform4f(loc, v.f[0], v.f[1], v.f[2], v.f[3])
		}
	}
}

// builtinUniforms are set by the compositor, not by users.
var builtinUniforms = map[string]bool{"uInput": true, "uInputSize": true, "uTime": true, "uFrame": true}

// ShaderPassSpec describes a single fragment-shader pass.
type ShaderPassSpec struct {
	Name string
	// File names the shader in compile errors; Source is its GLSL (330
	// core, following the convention in package shaders).
	File   string
	Source string
	// Uniforms gives initial values, type-checked at setup.
	Uniforms map[string]any
	// Update, when set, runs on the GL thread before each frame this pass
	// renders; it must not block, should use the typed setters, and must
	// not call the Pipeline's methods (they wait for the GL thread it is
	// running on).
	Update func(FrameInfo, *Uniforms)
}

// ShaderPass runs one fragment shader over the frame.
type ShaderPass struct {
	spec ShaderPassSpec

	// Everything below is touched on the GL thread only (control calls
	// reach it through the pipeline), so no lock: a lock held around
	// Update would deadlock an Update that asks the pipeline something.
	prog     *Program
	uniforms Uniforms
	// fused are variants that read the YUV planes themselves (I420,
	// NV12), made on first use; fuseFailed remembers a variant that does
	// not compile so that it is not tried every frame.
	fusable    bool
	fused      [numYUVVariants]*Program
	fuseFailed [numYUVVariants]bool
}

// NewShaderPass returns a pass for spec; it compiles when added to a
// pipeline, and a compile error leaves the pipeline as it was.
func NewShaderPass(spec ShaderPassSpec) *ShaderPass {
	if spec.File == "" {
		spec.File = spec.Name + ".frag"
	}
	return &ShaderPass{spec: spec}
}

// NewBuiltinPass returns a pass running the built-in shader file
// (see package shaders), e.g. NewBuiltinPass("invert", "invert.frag", nil).
func NewBuiltinPass(name, file string, uniforms map[string]any) (*ShaderPass, error) {
	src, err := shaders.Source(file)
	if err != nil {
		return nil, err
	}
	return NewShaderPass(ShaderPassSpec{Name: name, File: file, Source: src, Uniforms: uniforms}), nil
}

// Name implements Pass.
func (s *ShaderPass) Name() string { return s.spec.Name }

func (s *ShaderPass) Setup(d *Device) error {
	if s.prog != nil {
		return fmt.Errorf("compositor: pass %q is already in a pipeline; make a new one", s.spec.Name)
	}
	prog, err := d.newProgram(fullscreenVert(), ShaderSource{file: s.spec.File, text: s.spec.Source})
	if err != nil {
		return err
	}
	u := Uniforms{prog: prog, values: map[string]*uniformValue{}}
	for name, info := range prog.uniforms {
		if builtinUniforms[name] || info.size != 1 {
			continue
		}
		if _, ok := glslTypes[info.typ]; ok {
			u.values[name] = &uniformValue{typ: info.typ}
		}
	}
	for name, v := range s.spec.Uniforms {
		if err := u.Set(name, v); err != nil {
			d.deleteProgram(&prog)
			return fmt.Errorf("%s: %w", s.spec.File, err)
		}
	}
	s.prog = prog
	s.uniforms = u
	s.fusable = fusable(s.spec.Source)
	return nil
}

func (s *ShaderPass) Release(d *Device) {
	d.deleteProgram(&s.prog)
	for i := range s.fused {
		d.deleteProgram(&s.fused[i])
	}
}

func (s *ShaderPass) Render(f *Frame, src, dst *Target) (*Target, error) {
	s.draw(s.prog, f, src.tex, dst)
	return dst, nil
}

// draw runs prog (the pass's program or a fused variant) with the pass's
// uniforms, input on unit 0.
func (s *ShaderPass) draw(prog *Program, f *Frame, src Texture, dst *Target) {
	gl.UseProgram(prog.id)
	gl.Uniform1i(prog.loc("uInput"), 0)
	gl.Uniform2i(prog.loc("uInputSize"), int32(f.info.Width), int32(f.info.Height))
	gl.Uniform1f(prog.loc("uTime"), float32(float64(f.info.Timestamp)/1e6))
	gl.Uniform1i(prog.loc("uFrame"), int32(f.info.Index))
	if s.spec.Update != nil {
		s.spec.Update(f.info, &s.uniforms)
		f.pl.dirty = true // its values changed: Passes should say so
	}
	s.uniforms.applyTo(prog)
	drawFullscreen(src.id, dst)
}

// fusedInput matches the one input read of a pass that can be fused with
// the YUV conversion; the replacement keeps every line where it was.
var (
	fusedInput   = regexp.MustCompile(`\btexelFetch[ \t]*\([ \t]*uInput[ \t]*,`)
	inputUse     = regexp.MustCompile(`\buInput\b`)
	loopKeyword  = regexp.MustCompile(`\b(for|while)\b`)
	mainDecl     = regexp.MustCompile(`\bvoid\s+main\s*\(\s*(void\s*)?\)\s*\{`)
	glslComments = regexp.MustCompile(`(?s)//[^\n]*|/\*.*?\*/`)
)

// fetchingYUV rewrites a shader that reads its input with
// texelFetch(uInput, ...) to read the YUV planes of variant v instead (see
// yuvVariant), converting each texel it fetches, with more defines.
func fetchingYUV(src ShaderSource, v int, defines ...string) ShaderSource {
	src.text = fusedInput.ReplaceAllString(src.text, "sc_fetch_input(")
	return withYUV(src, v, "\nvec4 sc_fetch_input(ivec2 p, int lod) { return sc_yuv(p); }", defines...)
}

// fetchingLuma is fetchingYUV for shaders that use only the luma of what
// they fetch (the barcode analysis): they get sc_luma's grey, one texel
// fetch where a conversion makes three.
func fetchingLuma(src ShaderSource, v int, defines ...string) ShaderSource {
	src.text = fusedInput.ReplaceAllString(src.text, "sc_fetch_input(")
	return withYUV(src, v, "\nvec4 sc_fetch_input(ivec2 p, int lod) { return vec4(vec3(sc_luma(p)), 1.0); }", defines...)
}

// fusable reports whether a pass reads its input once, with texelFetch,
// outside any loop: then converting YUV inside the pass costs one
// conversion per pixel, as the separate conversion pass would, and saves
// that pass's full-frame write and read. A pass that samples more often
// (a blur, a kernel) is cheaper after a separate conversion.
func fusable(src string) bool {
	code := glslComments.ReplaceAllString(src, "")
	reads := fusedInput.FindAllStringIndex(code, -1)
	if len(reads) != 1 || len(inputUse.FindAllStringIndex(code, -1)) != 2 || // the declaration and the read
		loopKeyword.MatchString(code) || strings.Contains(code, "#define") {
		return false
	}
	// The read must sit in main's own body: in a helper function it may
	// run any number of times per pixel.
	m := mainDecl.FindStringIndex(code)
	if m == nil {
		return false
	}
	depth, end := 1, -1
	for i := m[1]; i < len(code) && end < 0; i++ {
		switch code[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				end = i
			}
		}
	}
	return reads[0][0] > m[1] && reads[0][0] < end
}

// fusedProgram returns the pass's program that reads the YUV planes
// itself, compiling it on first use; nil when the pass cannot be fused.
func (s *ShaderPass) fusedProgram(f *Frame, nv12 bool) *Program {
	if !s.fusable {
		return nil
	}
	i := yuvVariant(nv12, f.cs)
	if s.fused[i] == nil && !s.fuseFailed[i] {
		prog, err := f.dev.newProgram(fullscreenVert(), fetchingYUV(ShaderSource{file: s.spec.File, text: s.spec.Source}, i))
		if err != nil {
			// The plain program compiled, so this is our rewrite's
			// fault: run unfused rather than fail.
			s.fuseFailed[i] = true
			return nil
		}
		s.fused[i] = prog
	}
	return s.fused[i]
}

// renderYUV renders the pass straight from the uploaded YUV planes with a
// program from fusedProgram.
func (s *ShaderPass) renderYUV(f *Frame, prog *Program, dst *Target) {
	gl.UseProgram(prog.id)
	f.res.in.bindYUV(prog)
	s.draw(prog, f, f.res.in.planes[0], dst)
}

func (s *ShaderPass) Uniforms() []UniformInfo {
	var out []UniformInfo
	for name, v := range s.uniforms.values {
		out = append(out, UniformInfo{Name: name, Type: isfTypeNames[v.typ], Value: v.value()})
	}
	sortUniforms(out)
	return out
}

func (s *ShaderPass) SetUniform(name string, v any) error {
	if s.prog == nil {
		return fmt.Errorf("compositor: pass %q is not set up", s.spec.Name)
	}
	return s.uniforms.Set(name, v)
}

// drawFullscreen binds src to unit 0 and covers dst with one triangle; the
// program and its uniforms must be set.
func drawFullscreen(src uint32, dst *Target) {
	gl.BindFramebuffer(gl.FRAMEBUFFER, dst.fbo)
	gl.Viewport(0, 0, int32(dst.tex.w), int32(dst.tex.h))
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, src)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
}

func fullscreenVert() ShaderSource {
	return ShaderSource{file: "fullscreen.vert", text: shaders.MustSource("fullscreen.vert")}
}

func errUniform(pass, name string, v any) error {
	return fmt.Errorf("compositor: pass %q has no settable parameter %q of type %T", pass, name, v)
}

// Package isfpass renders the shaders package isf parses as compositor
// passes: filters (inputImage), generators (no inputImage: a layer's
// picture made from nothing, compositor.Pipeline.NewGenerator) and
// transitions (startImage, endImage, progress: a compositor.Transitioner).
package isfpass

import (
	"fmt"
	"image"
	"strings"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/isf"
)

// Pass runs an ISF or ShaderToy shader (package isf) as a pass: one
// program for all of the shader's PASSES (told apart by PASSINDEX, as in
// the reference implementation), a texture pair per TARGET, persistent
// targets kept across frames, imported images and image inputs as
// textures.
type Pass struct {
	name string
	sh   *isf.Shader

	// Everything below is touched on the GL thread only.
	dev      *compositor.Device
	prog     *compositor.Program
	sampler  uint32
	black    compositor.Texture // bound to image inputs that have no image
	values   map[string]isf.Value
	pulses   []string // events that fired; cleared after the next frame
	images   map[string]compositor.Texture
	files    map[string]string // image input → file it was set from
	imported map[string]compositor.Texture
	targets  map[string]*isfTarget
	// targetNames lists each TARGET once, in pass order.
	targetNames []string
	pending     map[string]pendingImage // image inputs set before setup
	// given are textures the compositor binds to image inputs for one
	// render (a transition's startImage and endImage).
	given map[string]compositor.Texture

	frames  uint64
	started bool
	t0, ts  int64 // first and last frame timestamps (µs)
	now     func() time.Time
}

// isfTarget is a TARGET's texture pair: a pass renders into the back one
// while it (or a later pass) samples the front one, so a pass may read its
// own previous result (a feedback loop would be undefined in GL).
type isfTarget struct {
	buf   [2]compositor.Target
	front int
	float bool
}

func (t *isfTarget) size() (int, int) { return t.buf[0].Texture().W(), t.buf[0].Texture().H() }

// New returns a pass running sh, named after it (sh.Name). It
// compiles when added to a pipeline.
func New(sh *isf.Shader) (*Pass, error) {
	return NewNamed(sh.Name, sh)
}

// NewNamed is New with a pass name of the caller's choice.
func NewNamed(name string, sh *isf.Shader) (*Pass, error) {
	if sh == nil {
		return nil, fmt.Errorf("isfpass: nil shader")
	}
	if name == "" {
		return nil, fmt.Errorf("isfpass: empty pass name")
	}
	p := &Pass{name: name, sh: sh, values: map[string]isf.Value{}, now: time.Now}
	seen := map[string]bool{}
	for _, ps := range sh.Passes {
		if ps.Target != "" && !seen[ps.Target] {
			seen[ps.Target] = true
			p.targetNames = append(p.targetNames, ps.Target)
		}
	}
	for _, in := range sh.Inputs {
		if in.Components() > 0 {
			p.values[in.Name] = in.Default
		}
	}
	return p, nil
}

// Name implements Pass.
func (p *Pass) Name() string { return p.name }

// SetInput sets an input's starting value before the pass joins a
// pipeline (e.g. to carry values over a reload), with the checks of
// Pipeline.SetUniform; an image input takes a file name. Once the pass is
// in a pipeline, use Pipeline.SetUniform: the pass then belongs to the GL
// thread.
func (p *Pass) SetInput(name string, v any) error {
	if p.dev != nil {
		return fmt.Errorf("isfpass: pass %q is in a pipeline: set %q through Pipeline.SetUniform", p.name, name)
	}
	in := p.sh.Input(name)
	if in == nil || in.Name == isf.InputImage && in.Type == isf.TypeImage {
		return fmt.Errorf("isfpass: pass %q has no input %q", p.name, name)
	}
	if in.Type != isf.TypeImage {
		return p.setValue(in, v)
	}
	file, ok := v.(string)
	if !ok {
		return fmt.Errorf("isfpass: pass %q: image input %q takes a file name, not %T", p.name, name, v)
	}
	if p.pending == nil {
		p.pending = map[string]pendingImage{}
	}
	if file == "" {
		delete(p.pending, name)
		return nil
	}
	img, err := p.sh.LoadImage(file)
	if err != nil {
		return fmt.Errorf("isfpass: pass %q: input %q: %w", p.name, name, err)
	}
	p.pending[name] = pendingImage{file, img}
	return nil
}

type pendingImage struct {
	file string
	img  image.Image
}

// Shader returns the shader the pass runs.
func (p *Pass) Shader() *isf.Shader { return p.sh }

// maxISFUnits is the texture units a shader may use; GL 3.3 guarantees 16
// per fragment shader.
const maxISFUnits = 16

func (p *Pass) Setup(d *compositor.Device) error {
	if p.prog != nil || p.dev != nil {
		return fmt.Errorf("isfpass: pass %q is already in a pipeline; make a new one", p.name)
	}
	includes := []string{p.sh.File + " (ISF translation)"}
	vsFile := p.sh.VertexFile
	if vsFile == "" {
		vsFile = p.sh.File + " (vertex)"
	}
	prog, err := d.NewProgram(compositor.NewShaderSource(vsFile, p.sh.Vertex, includes...), compositor.NewShaderSource(p.sh.File, p.sh.Fragment, includes...))
	if glsl := d.Info().GLSL; err != nil && glsl > 330 {
		// Published ISF files lean on implicit conversions of GLSL 4.x
		// (an int literal into a uint; an int returned as a float, 4.20
		// on) that GLSL 3.30 refuses. 3.30 first, because 4.x makes words
		// such as "sample" keywords; the error stays 3.30's when the
		// context's own version fails too.
		vs := compositor.NewShaderSource(vsFile, glslVersion(p.sh.Vertex, glsl), includes...)
		fs := compositor.NewShaderSource(p.sh.File, glslVersion(p.sh.Fragment, glsl), includes...)
		if prog4, err4 := d.NewProgram(vs, fs); err4 == nil {
			prog, err = prog4, nil
		}
	}
	if err != nil {
		return err
	}
	if units := prog.Samplers(); units > maxISFUnits {
		d.DeleteProgram(&prog)
		return fmt.Errorf("%s: the shader samples %d images; at most %d are supported", p.sh.File, units, maxISFUnits)
	}
	p.dev = d
	p.prog = prog
	p.sampler = d.NewSampler(gl.LINEAR)
	p.black = d.UploadImage(image.NewNRGBA(image.Rect(0, 0, 1, 1))) // transparent black
	p.images = map[string]compositor.Texture{}
	p.files = map[string]string{}
	p.imported = map[string]compositor.Texture{}
	p.targets = map[string]*isfTarget{}
	for _, im := range p.sh.Imported {
		p.imported[im.Name] = d.UploadImage(im.Image)
	}
	for name, pi := range p.pending {
		p.images[name] = d.UploadImage(pi.img)
		p.files[name] = pi.file
	}
	p.pending = nil
	if err := compositor.GLError("setting up ISF pass"); err != nil {
		p.Release(d)
		return fmt.Errorf("%s: %w", p.sh.File, err)
	}
	return nil
}

// glslVersion moves a translated shader from GLSL 3.30 to version v.
func glslVersion(src string, v int) string {
	return strings.Replace(src, "#version 330 core", fmt.Sprintf("#version %d core", v), 1)
}

func (p *Pass) Release(d *compositor.Device) {
	d.DeleteProgram(&p.prog)
	d.DeleteSampler(&p.sampler)
	d.DeleteTexture(&p.black)
	for k, t := range p.images {
		d.DeleteTexture(&t)
		delete(p.images, k)
	}
	for k, t := range p.imported {
		d.DeleteTexture(&t)
		delete(p.imported, k)
	}
	for k, t := range p.targets {
		d.DeleteTarget(&t.buf[0])
		d.DeleteTarget(&t.buf[1])
		delete(p.targets, k)
	}
}

// ensureTarget (re)allocates a target for a pass's size and format; a
// new or resized target starts cleared to transparent black.
func (p *Pass) ensureTarget(name string, w, h int, float bool) (*isfTarget, error) {
	t := p.targets[name]
	if t != nil {
		if tw, th := t.size(); tw == w && th == h && t.float == float {
			return t, nil
		}
		p.dev.DeleteTarget(&t.buf[0])
		p.dev.DeleteTarget(&t.buf[1])
		delete(p.targets, name)
	}
	t = &isfTarget{float: float}
	internal, typ := int32(gl.RGBA8), uint32(gl.UNSIGNED_BYTE)
	if float {
		internal, typ = gl.RGBA32F, gl.FLOAT
	}
	for i := range t.buf {
		b, err := p.dev.NewTarget(w, h, internal, gl.RGBA, typ)
		if err != nil {
			p.dev.DeleteTarget(&t.buf[0])
			return nil, err
		}
		t.buf[i] = b
		gl.BindFramebuffer(gl.FRAMEBUFFER, b.FBO())
		gl.ClearColor(0, 0, 0, 0)
		gl.Clear(gl.COLOR_BUFFER_BIT)
	}
	p.targets[name] = t
	return t, nil
}

func (p *Pass) Render(f *compositor.Frame, src, dst *compositor.Target) (*compositor.Target, error) {
	w, h := f.Info().Width, f.Info().Height
	ts := f.Info().Timestamp
	// TIME counts from the first frame this pass rendered, on the frames'
	// clock, so that a still picture repeated with new timestamps still
	// animates; a clock that jumps back before that start (a source
	// restarted) starts TIME again.
	if !p.started || ts < p.t0 {
		p.started, p.t0, p.ts = true, ts, ts
	}
	timeS := float32(float64(ts-p.t0) / 1e6)
	delta := float32(max(0, float64(ts-p.ts)/1e6))
	p.ts = ts
	now := p.now()
	y, mo, day := now.Date()
	midnight := time.Date(y, mo, day, 0, 0, 0, 0, now.Location())
	secs := float32(now.Sub(midnight).Seconds())

	prog := p.prog
	gl.UseProgram(prog.ID())
	gl.Uniform1f(prog.Loc("TIME"), timeS)
	gl.Uniform1f(prog.Loc("TIMEDELTA"), delta)
	gl.Uniform1i(prog.Loc("FRAMEINDEX"), int32(p.frames))
	gl.Uniform4f(prog.Loc("DATE"), float32(y), float32(mo), float32(day), secs)
	for _, in := range p.sh.Inputs {
		v := p.values[in.Name]
		loc := prog.Loc(in.Uniform)
		switch in.Type {
		case isf.TypeFloat:
			gl.Uniform1f(loc, float32(v[0]))
		case isf.TypeBool, isf.TypeEvent, isf.TypeLong:
			gl.Uniform1i(loc, int32(v[0]))
		case isf.TypePoint2D:
			gl.Uniform2f(loc, float32(v[0]), float32(v[1]))
		case isf.TypeColor:
			gl.Uniform4f(loc, float32(v[0]), float32(v[1]), float32(v[2]), float32(v[3]))
		}
	}

	out := dst
	last := len(p.sh.Passes) - 1
	for i, ps := range p.sh.Passes {
		tw, th, err := p.sh.PassSize(i, w, h, p.values)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.sh.File, err)
		}
		var into *compositor.Target
		var tgt *isfTarget
		if ps.Target != "" {
			if tgt, err = p.ensureTarget(ps.Target, tw, th, ps.Float); err != nil {
				return nil, fmt.Errorf("%s: pass %d: %w", p.sh.File, i, err)
			}
			into = &tgt.buf[1-tgt.front]
			if !ps.Persistent {
				// The reference hands non-persistent targets out
				// fresh each frame.
				gl.BindFramebuffer(gl.FRAMEBUFFER, into.FBO())
				gl.ClearColor(0, 0, 0, 0)
				gl.Clear(gl.COLOR_BUFFER_BIT)
			}
		} else {
			into = dst
			tw, th = dst.Texture().W(), dst.Texture().H()
		}
		gl.UseProgram(prog.ID())
		gl.Uniform1i(prog.Loc("PASSINDEX"), int32(i))
		gl.Uniform2f(prog.Loc("RENDERSIZE"), float32(tw), float32(th))
		units := p.bindImages(f, src.Texture())
		gl.BindFramebuffer(gl.FRAMEBUFFER, into.FBO())
		gl.Viewport(0, 0, int32(into.Texture().W()), int32(into.Texture().H()))
		gl.DrawArrays(gl.TRIANGLE_STRIP, 0, 4)
		for u := 0; u < units; u++ {
			gl.BindSampler(uint32(u), 0)
		}
		gl.ActiveTexture(gl.TEXTURE0)
		if tgt != nil {
			tgt.front = 1 - tgt.front
			if i == last {
				// The last pass also renders to a target: the output
				// is that target, scaled to the frame.
				t := &tgt.buf[tgt.front]
				gl.BindFramebuffer(gl.READ_FRAMEBUFFER, t.FBO())
				gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, dst.FBO())
				gl.BlitFramebuffer(0, 0, int32(t.Texture().W()), int32(t.Texture().H()), 0, 0, int32(dst.Texture().W()), int32(dst.Texture().H()), gl.COLOR_BUFFER_BIT, gl.LINEAR)
				gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
			}
		}
	}
	p.frames++
	if len(p.pulses) > 0 {
		f.MarkChanged() // the events fell back to false
	}
	for _, name := range p.pulses {
		p.values[name] = isf.Value{0}
	}
	p.pulses = p.pulses[:0]
	return out, nil
}

// bindImages binds every image the program samples to its own unit, with
// the linear sampler, and sets the reference's _name_imgSize/_imgRect/_flip
// companions; it returns the number of units used.
func (p *Pass) bindImages(f *compositor.Frame, input compositor.Texture) int {
	prog := p.prog
	unit := 0
	bind := func(name string, t compositor.Texture) {
		gl.Uniform2f(prog.Loc("_"+name+"_imgSize"), float32(t.W()), float32(t.H()))
		gl.Uniform4f(prog.Loc("_"+name+"_imgRect"), 0, 0, 1, 1)
		gl.Uniform1i(prog.Loc("_"+name+"_flip"), 0)
		loc := prog.Loc(name)
		if loc < 0 {
			return // not sampled: no unit needed
		}
		gl.ActiveTexture(gl.TEXTURE0 + uint32(unit))
		gl.BindTexture(gl.TEXTURE_2D, t.ID())
		gl.BindSampler(uint32(unit), p.sampler)
		gl.Uniform1i(loc, int32(unit))
		unit++
	}
	for _, in := range p.sh.Inputs {
		switch in.Type {
		case isf.TypeAudio, isf.TypeAudioFFT:
			wave, spectrum := f.AudioTextures()
			if in.Type == isf.TypeAudio {
				bind(in.Uniform, wave)
			} else {
				bind(in.Uniform, spectrum)
			}
			continue
		case isf.TypeImage:
		default:
			continue
		}
		t, ok := p.images[in.Name]
		g, isGiven := p.given[in.Name]
		switch {
		case isGiven:
			t = g
		case in.Name == isf.InputImage:
			t = input
		case !ok:
			t = p.black
		}
		bind(in.Uniform, t)
	}
	for _, im := range p.sh.Imported {
		bind(im.Name, p.imported[im.Name])
	}
	for _, name := range p.targetNames {
		t := p.targets[name]
		if t == nil {
			// Read before any pass wrote it, this frame or before.
			bind(name, p.black)
			continue
		}
		bind(name, t.buf[t.front].Texture())
	}
	return unit
}

func (p *Pass) Uniforms() []compositor.UniformInfo {
	var out []compositor.UniformInfo
	for _, in := range p.sh.Inputs {
		if in.Name == isf.InputImage && in.Type == isf.TypeImage || in.Type == isf.TypeAudio || in.Type == isf.TypeAudioFFT {
			continue // the frame itself, or the host's sound
		}
		u := compositor.UniformInfo{Name: in.Name, Type: in.Type, Label: in.Label, Values: in.Values, Labels: in.Labels}
		if in.Type == isf.TypeImage {
			u.Value = p.files[in.Name]
		} else {
			u.Value = in.Go(p.values[in.Name])
			u.Default = in.Go(in.Default)
			u.Min = in.Go(in.Min)
			u.Max = in.Go(in.Max)
			u.Identity = in.Go(in.Identity)
		}
		out = append(out, u)
	}
	return out
}

func (p *Pass) SetUniform(name string, v any) error {
	if p.prog == nil {
		return fmt.Errorf("isfpass: pass %q is not set up", p.name)
	}
	in := p.sh.Input(name)
	if in == nil || in.Name == isf.InputImage && in.Type == isf.TypeImage {
		return fmt.Errorf("isfpass: pass %q has no input %q", p.name, name)
	}
	if in.Type == isf.TypeImage {
		file, ok := v.(string)
		if !ok {
			return fmt.Errorf("isfpass: pass %q: image input %q takes a file name, not %T", p.name, name, v)
		}
		if file == "" {
			if t, ok := p.images[name]; ok {
				p.dev.DeleteTexture(&t)
				delete(p.images, name)
			}
			delete(p.files, name)
			return nil
		}
		img, err := p.sh.LoadImage(file)
		if err != nil {
			return fmt.Errorf("isfpass: pass %q: input %q: %w", p.name, name, err)
		}
		if t, ok := p.images[name]; ok {
			p.dev.DeleteTexture(&t)
		}
		p.images[name] = p.dev.UploadImage(img)
		p.files[name] = file
		return nil
	}
	return p.setValue(in, v)
}

func (p *Pass) setValue(in *isf.Input, v any) error {
	val, err := in.Coerce(v)
	if err != nil {
		return fmt.Errorf("isfpass: pass %q: %w", p.name, err)
	}
	if in.Type == isf.TypeEvent && val[0] != 0 {
		p.pulses = append(p.pulses, in.Name)
	}
	p.values[in.Name] = val
	return nil
}

// Transition implements Transitioner: the shader's startImage is from,
// its endImage to, its progress progress.
func (p *Pass) Transition(f *compositor.Frame, from, to, dst *compositor.Target, progress float64) (*compositor.Target, error) {
	if !p.sh.IsTransition() {
		return nil, fmt.Errorf("isfpass: pass %q is no transition (it needs image inputs %s and %s and a float %s)",
			p.name, isf.InputStartImage, isf.InputEndImage, isf.InputProgress)
	}
	if p.given == nil {
		p.given = map[string]compositor.Texture{}
	}
	p.given[isf.InputStartImage], p.given[isf.InputEndImage] = from.Texture(), to.Texture()
	if v := p.values[isf.InputProgress]; len(v) == 1 {
		v[0] = min(max(progress, 0), 1) // no slice per frame
	} else {
		p.values[isf.InputProgress] = isf.Value{min(max(progress, 0), 1)}
	}
	out, err := p.Render(f, to, dst)
	clear(p.given)
	return out, err
}

// Describe implements Describer: the ISF header's description, credit,
// categories and file.
func (p *Pass) Describe(info *compositor.PassInfo) {
	info.Description = p.sh.Description
	info.Credit = p.sh.Credit
	info.Categories = p.sh.Categories
	info.File = p.sh.File
}

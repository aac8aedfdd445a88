package compositor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// The helpers below create and delete GL objects through the Device so that
// every object is counted; they run on the GL thread only.

// Texture is a 2D texture with its size and internal format.
type Texture struct {
	id     uint32
	w, h   int
	format int32 // internal format, e.g. gl.RGBA8
}

func (d *Device) newTexture(w, h int, internal int32, format, typ uint32) Texture {
	var id uint32
	gl.GenTextures(1, &id)
	gl.BindTexture(gl.TEXTURE_2D, id)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAX_LEVEL, 0)
	gl.TexImage2D(gl.TEXTURE_2D, 0, internal, int32(w), int32(h), 0, format, typ, nil)
	d.track("texture", 1)
	return Texture{id: id, w: w, h: h, format: internal}
}

func (d *Device) deleteTexture(t *Texture) {
	d.release("texture", &t.id, gl.DeleteTextures)
	*t = Texture{}
}

// Target is a texture with a framebuffer that renders into it.
type Target struct {
	tex Texture
	fbo uint32
}

func (d *Device) newTarget(w, h int, internal int32, format, typ uint32) (Target, error) {
	t := Target{tex: d.newTexture(w, h, internal, format, typ)}
	gl.GenFramebuffers(1, &t.fbo)
	d.track("framebuffer", 1)
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.fbo)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.tex.id, 0)
	if st := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); st != gl.FRAMEBUFFER_COMPLETE {
		d.deleteTarget(&t)
		return Target{}, fmt.Errorf("compositor: framebuffer %dx%d (format 0x%x) incomplete: 0x%x", w, h, internal, st)
	}
	return t, nil
}

// Planes is a framebuffer with two colour attachments, for passes that
// write two textures at once (gl_FragData locations 0 and 1).
type Planes struct {
	tex [2]Texture
	fbo uint32
}

var drawBuffers2 = [2]uint32{gl.COLOR_ATTACHMENT0, gl.COLOR_ATTACHMENT1}

func (d *Device) newPlanes(w, h int, internal [2]int32, format [2]uint32) (Planes, error) {
	var p Planes
	for i := range p.tex {
		p.tex[i] = d.newTexture(w, h, internal[i], format[i], gl.FLOAT)
	}
	gl.GenFramebuffers(1, &p.fbo)
	d.track("framebuffer", 1)
	gl.BindFramebuffer(gl.FRAMEBUFFER, p.fbo)
	for i := range p.tex {
		gl.FramebufferTexture2D(gl.FRAMEBUFFER, drawBuffers2[i], gl.TEXTURE_2D, p.tex[i].id, 0)
	}
	gl.DrawBuffers(2, &drawBuffers2[0])
	if st := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); st != gl.FRAMEBUFFER_COMPLETE {
		d.deletePlanes(&p)
		return Planes{}, fmt.Errorf("compositor: framebuffer %dx%d with two float targets incomplete: 0x%x", w, h, st)
	}
	return p, nil
}

func (d *Device) deletePlanes(p *Planes) {
	d.release("framebuffer", &p.fbo, gl.DeleteFramebuffers)
	d.deleteTexture(&p.tex[0])
	d.deleteTexture(&p.tex[1])
	*p = Planes{}
}

// draw covers the planes' framebuffer with one triangle, src0 and src1 on
// units 0 and 1; the program and its uniforms must be set.
func (p *Planes) draw(src0, src1 uint32) {
	gl.BindFramebuffer(gl.FRAMEBUFFER, p.fbo)
	gl.Viewport(0, 0, int32(p.tex[0].w), int32(p.tex[0].h))
	gl.ActiveTexture(gl.TEXTURE1)
	gl.BindTexture(gl.TEXTURE_2D, src1)
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, src0)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
}

func (d *Device) deleteTarget(t *Target) {
	d.release("framebuffer", &t.fbo, gl.DeleteFramebuffers)
	d.deleteTexture(&t.tex)
	*t = Target{}
}

func (d *Device) newBuffer(kind uint32, size int, usage uint32) uint32 {
	var id uint32
	gl.GenBuffers(1, &id)
	gl.BindBuffer(kind, id)
	gl.BufferData(kind, size, nil, usage)
	gl.BindBuffer(kind, 0)
	d.track("buffer", 1)
	return id
}

// release deletes the object *id names with del (glDeleteBuffers and its
// kin share one signature), uncounts it and zeroes *id.
func (d *Device) release(kind string, id *uint32, del func(int32, *uint32)) {
	if *id != 0 {
		del(1, id)
		d.track(kind, -1)
		*id = 0
	}
}

func (d *Device) deleteBuffer(id *uint32) { d.release("buffer", id, gl.DeleteBuffers) }

func (d *Device) newSampler(filter int32) uint32 {
	var id uint32
	gl.GenSamplers(1, &id)
	gl.SamplerParameteri(id, gl.TEXTURE_MIN_FILTER, filter)
	gl.SamplerParameteri(id, gl.TEXTURE_MAG_FILTER, filter)
	gl.SamplerParameteri(id, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
	gl.SamplerParameteri(id, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	d.track("sampler", 1)
	return id
}

func (d *Device) deleteSampler(id *uint32) { d.release("sampler", id, gl.DeleteSamplers) }

func (d *Device) newQuery() uint32 {
	var id uint32
	gl.GenQueries(1, &id)
	d.track("query", 1)
	return id
}

func (d *Device) deleteQuery(id *uint32) { d.release("query", id, gl.DeleteQueries) }

func (d *Device) newFence() uintptr {
	d.track("sync", 1)
	return gl.FenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0)
}

func (d *Device) deleteFence(s *uintptr) {
	if *s != 0 {
		gl.DeleteSync(*s)
		d.track("sync", -1)
		*s = 0
	}
}

// CompileError is a shader that failed to compile or link. Each message
// names the shader's file and the line in that file.
type CompileError struct {
	File     string
	Messages []CompileMessage
	Log      string // the driver's log, untouched
}

// CompileMessage is one diagnostic of the GLSL compiler.
type CompileMessage struct {
	File string
	Line int // 0 when the driver gave none
	Text string
}

func (m CompileMessage) String() string {
	if m.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", m.File, m.Line, m.Text)
	}
	return fmt.Sprintf("%s: %s", m.File, m.Text)
}

func (e *CompileError) Error() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("%s: %s", e.File, strings.TrimSpace(e.Log))
	}
	parts := make([]string, len(e.Messages))
	for i, m := range e.Messages {
		parts[i] = m.String()
	}
	return strings.Join(parts, "\n")
}

// Driver logs: Mesa prints "0:12(5): error: ...", NVIDIA "0(12) : error C0000: ...".
var (
	mesaLine   = regexp.MustCompile(`^\s*(\d+):(\d+)\(\d+\):\s*(.*)$`)
	nvidiaLine = regexp.MustCompile(`^\s*(\d+)\((\d+)\)\s*:\s*(.*)$`)
)

func parseLog(src ShaderSource, log string) []CompileMessage {
	file := src.file
	var out []CompileMessage
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := mesaLine.FindStringSubmatch(line)
		if m == nil {
			m = nvidiaLine.FindStringSubmatch(line)
		}
		if m == nil {
			out = append(out, CompileMessage{File: file, Text: line})
			continue
		}
		str, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if k := n / includeLines; k > 0 {
			str, n = k, n%includeLines
		}
		f := file
		if str > 0 && str <= len(src.includes) {
			f = src.includes[str-1]
		}
		out = append(out, CompileMessage{File: f, Line: n, Text: m[3]})
	}
	return out
}

// ShaderSource is one stage of a program: its file name (for errors) and
// text. The text is compiled as is: callers that prepend code must add a
// #line directive so that line numbers stay the file's.
type ShaderSource struct {
	file string
	text string
	// includes name the source strings 1, 2, ... that #line directives
	// in text refer to (string 0 is file).
	includes []string
}

// includeLines separates the line numbers of prepended code: include k
// starts at line k*includeLines+1.
const includeLines = 100000

// withPrelude inserts code right after src's #version line, with #line
// directives so that compile errors still name the right file and line.
// defines are added as #define lines before the prelude.
func withPrelude(src ShaderSource, preludeFile, prelude string, defines ...string) ShaderSource {
	lines := strings.SplitAfter(src.text, "\n")
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#version") {
			at = i
			break
		}
	}
	var b strings.Builder
	for i := 0; i <= at; i++ {
		b.WriteString(lines[i])
	}
	if at < 0 {
		// GLSL without #version is 1.10; ours are 330 core.
		b.WriteString("#version 330 core\n")
	}
	for _, d := range defines {
		b.WriteString("#define " + d + "\n")
	}
	includes := src.includes
	if prelude != "" {
		includes = append(append([]string(nil), includes...), preludeFile)
		// Mesa ignores the source-string number of #line and reports
		// string 0, so the line number carries the include too.
		fmt.Fprintf(&b, "#line %d %d\n%s\n", len(includes)*includeLines+1, len(includes), prelude)
	}
	fmt.Fprintf(&b, "#line %d 0\n", at+2)
	for i := at + 1; i < len(lines); i++ {
		b.WriteString(lines[i])
	}
	return ShaderSource{file: src.file, text: b.String(), includes: includes}
}

func compileShader(kind uint32, src ShaderSource) (uint32, error) {
	sh := gl.CreateShader(kind)
	cs, free := gl.Strs(src.text + "\x00")
	gl.ShaderSource(sh, 1, cs, nil)
	free()
	gl.CompileShader(sh)
	var ok int32
	gl.GetShaderiv(sh, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		log := shaderLog(sh, false)
		gl.DeleteShader(sh)
		return 0, &CompileError{File: src.file, Messages: parseLog(src, log), Log: log}
	}
	return sh, nil
}

func shaderLog(obj uint32, program bool) string {
	var n int32
	if program {
		gl.GetProgramiv(obj, gl.INFO_LOG_LENGTH, &n)
	} else {
		gl.GetShaderiv(obj, gl.INFO_LOG_LENGTH, &n)
	}
	if n <= 0 {
		return ""
	}
	buf := make([]byte, n+1)
	if program {
		gl.GetProgramInfoLog(obj, n, nil, &buf[0])
	} else {
		gl.GetShaderInfoLog(obj, n, nil, &buf[0])
	}
	return strings.TrimRight(string(buf), "\x00")
}

// Program is a linked GLSL program with its active uniforms.
type Program struct {
	id       uint32
	uniforms map[string]uniformInfo
}

type uniformInfo struct {
	loc  int32
	typ  uint32 // GL type enum, e.g. gl.FLOAT_VEC2
	size int32  // array length
}

func (d *Device) newProgram(vert, frag ShaderSource) (*Program, error) {
	vs, err := compileShader(gl.VERTEX_SHADER, vert)
	if err != nil {
		return nil, err
	}
	fs, err := compileShader(gl.FRAGMENT_SHADER, frag)
	if err != nil {
		gl.DeleteShader(vs)
		return nil, err
	}
	id := gl.CreateProgram()
	gl.AttachShader(id, vs)
	gl.AttachShader(id, fs)
	gl.LinkProgram(id)
	gl.DetachShader(id, vs)
	gl.DetachShader(id, fs)
	gl.DeleteShader(vs)
	gl.DeleteShader(fs)
	var ok int32
	gl.GetProgramiv(id, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		log := shaderLog(id, true)
		gl.DeleteProgram(id)
		return nil, &CompileError{File: frag.file, Messages: parseLog(frag, log), Log: log}
	}
	d.track("program", 1)
	p := &Program{id: id, uniforms: map[string]uniformInfo{}}
	var count int32
	gl.GetProgramiv(id, gl.ACTIVE_UNIFORMS, &count)
	var name [256]uint8
	for i := int32(0); i < count; i++ {
		var length, size int32
		var typ uint32
		gl.GetActiveUniform(id, uint32(i), int32(len(name)), &length, &size, &typ, &name[0])
		n := string(name[:length])
		n = strings.TrimSuffix(n, "[0]")
		loc := gl.GetUniformLocation(id, gl.Str(n+"\x00"))
		p.uniforms[n] = uniformInfo{loc: loc, typ: typ, size: size}
	}
	return p, nil
}

func (d *Device) deleteProgram(p **Program) {
	if *p != nil && (*p).id != 0 {
		gl.DeleteProgram((*p).id)
		d.track("program", -1)
	}
	*p = nil
}

// loc returns a uniform's location, -1 when the program has no such active
// uniform (GL ignores -1, so optional uniforms need no special casing).
func (p *Program) loc(name string) int32 {
	if u, ok := p.uniforms[name]; ok {
		return u.loc
	}
	return -1
}

// bytesPtr avoids gl.Ptr's interface conversion, which allocates per call.
func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// Package isf reads shader plugins in the Interactive Shader Format (ISF
// v2, VidVox: a JSON header in a GLSL fragment shader, with an optional
// vertex shader) and single-pass ShaderToy shaders, checks them, and
// translates their old-style GLSL into GLSL 330 core for the compositor
// (isfpass.New runs the result).
//
// It is pure Go: parsing, validation, the WIDTH/HEIGHT expression
// evaluator, input value checking and the GLSL translation live here, so
// that tools can check a plugin without a GL context.
//
// Orientation: ISF and ShaderToy use y-up coordinates (0,0 is the
// bottom-left of the picture), while the compositor keeps frames y-down in
// textures (row 0 is the top). The translation hides this: isf_FragNormCoord,
// gl_FragCoord, gl_Position and every image read (IMG_*, texture2D,
// texture, texelFetch) are y-up as the shader sees them, so published
// filters look the same as in their reference host.
package isf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/shadercast/shadercast/internal/imagefile"
	"github.com/shadercast/shadercast/internal/regularfile"
)

// Kind is the source format of a shader.
type Kind string

const (
	KindISF       Kind = "isf"
	KindShaderToy Kind = "shadertoy"
)

// Input types, as ISF names them.
const (
	TypeFloat   = "float"
	TypeBool    = "bool"
	TypeLong    = "long"
	TypeColor   = "color"
	TypePoint2D = "point2D"
	TypeImage   = "image"
	// TypeAudio and TypeAudioFFT are the host's sound as images (ISF's
	// convention): one row per channel, a sample (waveform, centred on
	// 0.5) or a frequency bin (magnitude, 0 to 1) per column.
	TypeAudio    = "audio"
	TypeAudioFFT = "audioFFT"
	TypeEvent    = "event"
)

// InputImage is the name of the input that receives the frame being
// filtered.
const InputImage = "inputImage"

// The inputs of ISF's transition protocol: the outgoing and incoming
// pictures, and how far from one to the other (0 to 1).
const (
	InputStartImage = "startImage"
	InputEndImage   = "endImage"
	InputProgress   = "progress"
)

// Value is an input's value as components: one for float, long, bool and
// event (0 or 1), two for point2D, four (RGBA, 0–1) for color; unused for
// image inputs.
type Value []float64

// Input is one declared input of a shader.
type Input struct {
	Name  string
	Type  string
	Label string
	// Default is always set after Parse (the type's zero when the header
	// gives none); Min, Max and Identity are nil when not given.
	Default, Min, Max, Identity Value
	// Samples is the MAX of an audio or audioFFT input: the samples or
	// bins it asks for (0: the host's choice).
	Samples int
	// Values and Labels are a long's choices.
	Values []int
	Labels []string
	// Uniform is the GLSL uniform the value is sent to: Name, except for
	// inputs a shim renames (ShaderToy's iMouse).
	Uniform string
}

// Pass is one entry of PASSES (a shader without PASSES has one, rendering
// to the output).
type Pass struct {
	Target     string // "" renders to the output (only the last pass)
	Persistent bool
	Float      bool
	// Width and Height are nil for the frame's size.
	Width, Height *Expr
}

// Imported is an image from IMPORTED, decoded.
type Imported struct {
	Name  string
	Path  string // as written in the header, relative to the shader
	Image image.Image
}

// Shader is a parsed, validated and translated plugin.
type Shader struct {
	// Name is the plugin's name: its file name without the extension.
	Name string
	Kind Kind
	// File and VertexFile name the sources in error messages (VertexFile
	// is "" when there is no vertex shader).
	File, VertexFile string

	ISFVSN, VSN string
	Description string
	Credit      string
	Categories  []string
	Inputs      []Input
	Passes      []Pass
	Imported    []Imported

	// Fragment and Vertex are the translated GLSL 330 core sources: a
	// prelude then the author's code, with #line directives so that
	// compiler messages give lines in File and VertexFile. Prelude lines
	// use line numbers from PreludeLine up.
	Fragment, Vertex string

	// Source and VertexSource are the files' bytes as read, before any
	// parsing: what a trial render in another process parses again, so
	// that it tries exactly this version whatever the files hold by then.
	Source, VertexSource []byte

	// dir and root locate the shader for image inputs set by file name;
	// root is nil for Parse. images bounds their decoding.
	root   fs.FS
	dir    string
	images imagefile.Options
}

// PreludeLine is the first line number of generated code in Fragment and
// Vertex: a compiler message with a line at or above it is about the
// translation, not the author's code.
const PreludeLine = 100001

// IsFilter reports whether the shader reads the frame (declares
// inputImage); other shaders are generators.
func (s *Shader) IsFilter() bool {
	in := s.Input(InputImage)
	return in != nil && in.Type == TypeImage
}

// IsImage reports whether the input is read as an image: an image, or
// the host's sound (audio, audioFFT).
func (in *Input) IsImage() bool {
	return in.Type == TypeImage || in.Type == TypeAudio || in.Type == TypeAudioFFT
}

// Input returns the input named name, or nil.
func (s *Shader) Input(name string) *Input {
	for i := range s.Inputs {
		if s.Inputs[i].Name == name {
			return &s.Inputs[i]
		}
	}
	return nil
}

// IsTransition reports whether the shader follows ISF's transition
// protocol: image inputs startImage and endImage and a float progress.
func (s *Shader) IsTransition() bool {
	a, b, p := s.Input(InputStartImage), s.Input(InputEndImage), s.Input(InputProgress)
	return a != nil && a.Type == TypeImage && b != nil && b.Type == TypeImage && p != nil && p.Type == TypeFloat
}

// Error is a problem in a shader's source, at a line (and column) of a
// file when known.
type Error struct {
	File string
	Line int // 0 when not about one line
	Col  int
	Msg  string
	Err  error // the cause, when another error is (reading an image)
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrUnsupported matches errors about valid ISF this implementation does
// not run (audio inputs).
var ErrUnsupported = errors.New("isf: unsupported feature")

// Limits on a pass's target size, so that a runaway expression cannot
// exhaust GPU memory.
const (
	MaxTargetSize = 8192
	MaxAreaFactor = 4 // times the frame's area
)

// Limits on what a shader file may make the parser hold: far above real
// plugins (a few kB, a dozen inputs, a handful of passes), low enough that
// a hostile file costs little memory or time.
const (
	// MaxShaderBytes bounds a fragment or vertex shader file.
	MaxShaderBytes = 1 << 20
	// MaxInputs, MaxPasses and MaxImported bound the header's lists.
	MaxInputs   = 128
	MaxPasses   = 32
	MaxImported = 32
	// MaxLongValues bounds a long input's VALUES (and LABELS).
	MaxLongValues = 1024
)

// LoadOptions bound what loading a shader may decode. The zero value uses
// the defaults.
type LoadOptions struct {
	// MaxImagePixels refuses IMPORTED images, and images set on image
	// inputs by file name, whose header declares more pixels; 0 means
	// imagefile.DefaultMaxPixels (64 Mpx).
	MaxImagePixels int64
}

// Load reads the shader file (.fs or .glsl) from root, with its optional
// .vs beside it and its IMPORTED images; every path stays inside root.
// root is typically regularfile.DirFS(folder) (confined by an os.Root,
// regular files only), or os.DirFS(folder). Only regular files up to
// MaxShaderBytes are read as shaders.
func Load(root fs.FS, file string) (*Shader, error) {
	return LoadWith(root, file, LoadOptions{})
}

// LoadWith is Load with options.
func LoadWith(root fs.FS, file string, opts LoadOptions) (*Shader, error) {
	file = path.Clean(filepath.ToSlash(file))
	if err := confined(file); err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	frag, err := regularfile.ReadFile(root, file, MaxShaderBytes)
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error(), Err: err}
	}
	var vert []byte
	ext := path.Ext(file)
	vsFile := ""
	if ext == ".fs" || ext == ".frag" {
		vsFile = strings.TrimSuffix(file, ext) + ".vs"
		vert, err = regularfile.ReadFile(root, vsFile, MaxShaderBytes)
		if errors.Is(err, fs.ErrNotExist) {
			vert, vsFile, err = nil, "", nil
		}
		if err != nil {
			return nil, &Error{File: vsFile, Msg: err.Error(), Err: err}
		}
	}
	return parseIn(root, file, vsFile, frag, vert, opts)
}

// ParseIn parses a shader whose bytes were read earlier (file and its .vs
// beside it, vert nil when it has none) as if loaded from root by
// LoadWith: its IMPORTED images, and image inputs set by file name, are
// read from root. A trial render in another process uses it to parse
// exactly the version the service read.
func ParseIn(root fs.FS, file string, frag, vert []byte, opts LoadOptions) (*Shader, error) {
	file = path.Clean(filepath.ToSlash(file))
	if err := confined(file); err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	vsFile := ""
	if vert != nil {
		vsFile = strings.TrimSuffix(file, path.Ext(file)) + ".vs"
	}
	return parseIn(root, file, vsFile, frag, vert, opts)
}

func parseIn(root fs.FS, file, vsFile string, frag, vert []byte, opts LoadOptions) (*Shader, error) {
	sh, err := parse(file, vsFile, frag, vert)
	if err != nil {
		return nil, err
	}
	sh.root = root
	sh.dir = path.Dir(file)
	sh.images = imagefile.Options{MaxPixels: opts.MaxImagePixels}
	for i := range sh.Imported {
		im := &sh.Imported[i]
		img, err := sh.LoadImage(im.Path)
		if err != nil {
			return nil, &Error{File: file, Msg: fmt.Sprintf("IMPORTED %q: %v", im.Name, err), Err: err}
		}
		im.Image = img
	}
	return sh, nil
}

// LoadFile is Load for a file on disk: the file's own folder is the root
// its images must stay in (through an os.Root: regularfile.DirFS).
func LoadFile(name string) (*Shader, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	sh, err := Load(regularfile.DirFS(dir), base)
	if err != nil {
		return nil, err
	}
	sh.File = name
	if sh.VertexFile != "" {
		sh.VertexFile = filepath.Join(dir, sh.VertexFile)
	}
	return sh, nil
}

// confined refuses paths that could leave the shader's folder.
func confined(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return fmt.Errorf("path %q is absolute: images must be beside the shader", p)
	}
	if strings.Contains(p, `\`) {
		return fmt.Errorf("path %q contains a backslash", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("path %q leaves the shader's folder", p)
		}
	}
	if !fs.ValidPath(path.Clean(p)) {
		return fmt.Errorf("path %q is not a valid relative path", p)
	}
	return nil
}

// LoadImage decodes a PNG or JPEG named relative to the shader's folder,
// refusing paths that leave the root the shader was loaded from (absolute
// paths, "..", and symbolic links pointing outside when the root is an
// os.DirFS), files that are not regular, and images over the pixel cap of
// the LoadOptions (checked on the header, before decoding).
func (s *Shader) LoadImage(rel string) (image.Image, error) {
	if s.root == nil {
		return nil, fmt.Errorf("image %q: the shader was parsed from memory, so it has no folder to load images from", rel)
	}
	if err := confined(rel); err != nil {
		return nil, err
	}
	p := path.Join(s.dir, rel)
	if err := confined(p); err != nil {
		return nil, err
	}
	if err := noSymlinkEscape(s.root, p); err != nil {
		return nil, err
	}
	img, _, err := imagefile.ReadFS(s.root, p, s.images)
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("image %q is not an image (PNG and JPEG are supported, and a GIF's first frame): %w", rel, err)
	}
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Dx() > MaxTargetSize || b.Dy() > MaxTargetSize || b.Empty() {
		return nil, fmt.Errorf("image %q is %dx%d; at most %d on a side", rel, b.Dx(), b.Dy(), MaxTargetSize)
	}
	return img, nil
}

// noSymlinkEscape walks p's elements in root and refuses a symbolic link
// whose target is absolute or climbs out of root. os.DirFS follows links
// anywhere; an os.Root's FS refuses them itself.
func noSymlinkEscape(root fs.FS, p string) error {
	rl, ok := root.(fs.ReadLinkFS)
	if !ok {
		return nil
	}
	els := strings.Split(p, "/")
	for i := range els {
		sub := strings.Join(els[:i+1], "/")
		target, err := rl.ReadLink(sub)
		if err != nil {
			continue // not a link (or missing: the read reports it)
		}
		if filepath.IsAbs(target) || strings.HasPrefix(target, "/") {
			return fmt.Errorf("path %q: %s is a symbolic link to an absolute path (%s); only relative links that stay inside the shader's folder are followed", p, sub, target)
		}
		joined := path.Join(path.Dir(sub), filepath.ToSlash(target))
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return fmt.Errorf("path %q: %s is a symbolic link out of the shader's folder (to %s)", p, sub, target)
		}
		if err := noSymlinkEscape(root, joined); err != nil {
			return err
		}
	}
	return nil
}

// Parse parses a shader held in memory; name is its file name (its
// extension chooses the format: .glsl is ShaderToy unless it has an ISF
// header), vs the optional vertex shader. IMPORTED images cannot be loaded
// without a folder: use Load for shaders that import.
func Parse(name string, frag, vert []byte) (*Shader, error) {
	vsFile := ""
	if vert != nil {
		vsFile = strings.TrimSuffix(name, path.Ext(name)) + ".vs"
	}
	sh, err := parse(name, vsFile, frag, vert)
	if err != nil {
		return nil, err
	}
	if len(sh.Imported) > 0 {
		return nil, &Error{File: name, Msg: fmt.Sprintf("IMPORTED %q needs the shader's folder: load it with isf.Load", sh.Imported[0].Name)}
	}
	return sh, nil
}

type rawHeader struct {
	ISFVSN             any
	VSN                any
	DESCRIPTION        string
	CREDIT             string
	CATEGORIES         []string
	INPUTS             []rawInput
	PASSES             []rawPass
	IMPORTED           json.RawMessage
	PERSISTENT_BUFFERS json.RawMessage
}

type rawInput struct {
	NAME     string
	TYPE     string
	LABEL    string
	DEFAULT  any
	MIN      any
	MAX      any
	IDENTITY any
	VALUES   []any
	LABELS   []any
}

type rawPass struct {
	TARGET           string
	PERSISTENT       any
	PersistentBuffer any `json:"persistentBuffer"`
	FLOAT            any
	WIDTH            any
	HEIGHT           any
}

// header finds the leading /*{ ... }*/ comment: the JSON text, its byte
// offset in src and the offset just past the comment. ok is false when
// the file has no header.
func header(src []byte) (js []byte, off int, ok bool, err error) {
	i := 0
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\r' || src[i] == '\n' || src[i] == 0xEF || src[i] == 0xBB || src[i] == 0xBF) {
		i++
	}
	if !bytes.HasPrefix(src[i:], []byte("/*")) {
		return nil, 0, false, nil
	}
	end := bytes.Index(src[i+2:], []byte("*/"))
	if end < 0 {
		return nil, 0, false, fmt.Errorf("the header comment /* is never closed")
	}
	body := src[i+2 : i+2+end]
	j := bytes.IndexByte(body, '{')
	if j < 0 || strings.TrimSpace(string(body[:j])) != "" {
		return nil, 0, false, nil // an ordinary leading comment
	}
	return body[j:], i + 2 + j, true, nil
}

// lineCol turns a byte offset of src into a 1-based line and column.
func lineCol(src []byte, off int) (int, int) {
	off = max(0, min(off, len(src)))
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(src[:off], '\n')
	return line, col
}

func parse(file, vsFile string, frag, vert []byte) (*Shader, error) {
	if len(frag) > MaxShaderBytes || len(vert) > MaxShaderBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("shader of %d bytes (vertex shader %d): at most %d each", len(frag), len(vert), MaxShaderBytes)}
	}
	sh := &Shader{Name: strings.TrimSuffix(path.Base(file), path.Ext(file)), File: file, VertexFile: vsFile,
		Source: frag, VertexSource: vert}
	js, off, has, err := header(frag)
	if err != nil {
		return nil, &Error{File: file, Line: 1, Msg: err.Error()}
	}
	shadertoy := false
	switch {
	case has:
	case strings.EqualFold(path.Ext(file), ".glsl") || mainImageDecl.Match(frag):
		shadertoy = true
	default:
		return nil, &Error{File: file, Line: 1, Msg: "no ISF header: an ISF shader starts with a /*{ JSON }*/ comment (a ShaderToy shader needs mainImage and the .glsl extension)"}
	}
	var h rawHeader
	if has {
		dec := json.NewDecoder(bytes.NewReader(js))
		if err := dec.Decode(&h); err != nil {
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			at := -1
			switch {
			case errors.As(err, &se):
				at = int(se.Offset) - 1 // Offset is just past the bad byte
			case errors.As(err, &te):
				at = int(te.Offset)
			}
			if at >= 0 {
				l, c := lineCol(frag, off+at)
				msg := err.Error()
				if te != nil {
					msg = fmt.Sprintf("header field %s should be %s, not a JSON %s", te.Field, te.Type, te.Value)
				}
				return nil, &Error{File: file, Line: l, Col: c, Msg: "malformed JSON header: " + msg}
			}
			l, c := lineCol(frag, off+len(js))
			return nil, &Error{File: file, Line: l, Col: c, Msg: "malformed JSON header: " + err.Error()}
		}
	}
	if shadertoy && !mainImageDecl.Match(frag) {
		return nil, &Error{File: file, Msg: "a ShaderToy shader needs void mainImage(out vec4 fragColor, in vec2 fragCoord)"}
	}
	sh.ISFVSN = scalarString(h.ISFVSN)
	sh.VSN = scalarString(h.VSN)
	sh.Description, sh.Credit, sh.Categories = h.DESCRIPTION, h.CREDIT, h.CATEGORIES
	// hdrErr reports a header error at the line where anchor (a regular
	// expression) first matches in the header, else at its first line.
	hdrErr := func(anchor, format string, a ...any) error {
		at := off
		if anchor != "" {
			// Anchors quote names from the file: compile without
			// panicking, whatever their size.
			if re, err := regexp.Compile(anchor); err == nil {
				if m := re.FindIndex(js); m != nil {
					at = off + m[0]
				}
			}
		}
		l, _ := lineCol(frag, at)
		return &Error{File: file, Line: l, Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case len(h.INPUTS) > MaxInputs:
		return nil, hdrErr(`"INPUTS"`, "%d INPUTS: at most %d", len(h.INPUTS), MaxInputs)
	case len(h.PASSES) > MaxPasses:
		return nil, hdrErr(`"PASSES"`, "%d PASSES: at most %d", len(h.PASSES), MaxPasses)
	}
	if err := sh.readInputs(h.INPUTS, hdrErr); err != nil {
		return nil, err
	}
	if err := sh.readImported(h.IMPORTED, hdrErr); err != nil {
		return nil, err
	}
	if err := sh.readPasses(h.PASSES, h.PERSISTENT_BUFFERS, hdrErr); err != nil {
		return nil, err
	}
	if err := sh.checkImageReads(string(frag)); err != nil {
		return nil, err
	}
	if shadertoy {
		sh.Kind = KindShaderToy
		sh.addShaderToyInputs()
		sh.Fragment = translateShaderToy(sh, string(frag))
		sh.Vertex = translateVertex(sh, "")
	} else {
		sh.Kind = KindISF
		sh.Fragment = translateFragment(sh, string(frag))
		sh.Vertex = translateVertex(sh, string(vert))
	}
	return sh, nil
}

func scalarString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	}
	return fmt.Sprint(v)
}

func (sh *Shader) addShaderToyInputs() {
	if sh.Input(InputImage) == nil {
		sh.Inputs = append([]Input{{Name: InputImage, Type: TypeImage, Uniform: InputImage}}, sh.Inputs...)
	}
	if sh.Input("iMouse") == nil {
		sh.Inputs = append(sh.Inputs, Input{Name: "iMouse", Type: TypePoint2D, Label: "Mouse (pixels)", Default: Value{0, 0}, Uniform: "isf_iMouse"})
	}
}

// reserved names cannot be inputs or targets: they are the built-ins.
var reserved = map[string]bool{
	"TIME": true, "TIMEDELTA": true, "FRAMEINDEX": true, "DATE": true, "RENDERSIZE": true,
	"PASSINDEX": true, "isf_FragNormCoord": true, "main": true,
}

func validIdent(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdent(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return !strings.HasPrefix(s, "gl_") && !strings.Contains(s, "__") && !glslKeywords[s]
}

// glslKeywords are GLSL 3.30's keywords and reserved words (section
// 3.6): a name from the header becomes a uniform, and "half" as a target
// name would otherwise fail in the compiler on a line the author never
// wrote.
var glslKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`attribute const uniform varying layout centroid flat smooth noperspective
		break continue do for while switch case default if else in out inout float int void bool true false
		invariant discard return mat2 mat3 mat4 mat2x2 mat2x3 mat2x4 mat3x2 mat3x3 mat3x4 mat4x2 mat4x3 mat4x4
		vec2 vec3 vec4 ivec2 ivec3 ivec4 bvec2 bvec3 bvec4 uint uvec2 uvec3 uvec4 lowp mediump highp precision
		sampler1D sampler2D sampler3D samplerCube sampler1DShadow sampler2DShadow samplerCubeShadow
		sampler1DArray sampler2DArray sampler1DArrayShadow sampler2DArrayShadow isampler1D isampler2D isampler3D
		isamplerCube isampler1DArray isampler2DArray usampler1D usampler2D usampler3D usamplerCube
		usampler1DArray usampler2DArray sampler2DRect sampler2DRectShadow isampler2DRect usampler2DRect
		samplerBuffer isamplerBuffer usamplerBuffer sampler2DMS isampler2DMS usampler2DMS sampler2DMSArray
		isampler2DMSArray usampler2DMSArray struct common partition active asm class union enum typedef
		template this packed goto inline noinline volatile public static extern external interface long short
		double half fixed unsigned superp input output hvec2 hvec3 hvec4 dvec2 dvec3 dvec4 fvec2 fvec3 fvec4
		sampler3DRect filter image1D image2D image3D imageCube iimage1D iimage2D iimage3D iimageCube
		uimage1D uimage2D uimage3D uimageCube image1DArray image2DArray iimage1DArray iimage2DArray
		uimage1DArray uimage2DArray image1DShadow image2DShadow image1DArrayShadow image2DArrayShadow
		imageBuffer iimageBuffer uimageBuffer sizeof cast namespace using row_major`) {
		m[w] = true
	}
	return m
}()

func (sh *Shader) readInputs(raw []rawInput, hdrErr headerErr) error {
	seen := map[string]bool{}
	for i, r := range raw {
		in := Input{Name: r.NAME, Type: r.TYPE, Label: r.LABEL, Uniform: r.NAME}
		where := fmt.Sprintf("INPUTS[%d] %q", i, r.NAME)
		if !validIdent(r.NAME) || reserved[r.NAME] {
			return hdrErr(keyAnchor("NAME", r.NAME), "%s: NAME must be a GLSL identifier that is not a built-in", where)
		}
		if seen[r.NAME] {
			return hdrErr(keyAnchor("NAME", r.NAME), "%s: the name is declared twice", where)
		}
		seen[r.NAME] = true
		n := 0
		switch r.TYPE {
		case TypeFloat, TypeBool, TypeLong, TypeEvent:
			n = 1
		case TypePoint2D:
			n = 2
		case TypeColor:
			n = 4
		case TypeImage:
		case TypeAudio, TypeAudioFFT:
			// MAX is how many samples or bins the shader would like; the
			// host may give fewer (IMG_SIZE says how many).
			if r.MAX != nil {
				f, ok := r.MAX.(float64)
				if !ok || f < 1 || f > 1<<16 || f != math.Trunc(f) {
					return hdrErr(keyAnchor("NAME", r.NAME), "%s: MAX of an %s input is a whole number of samples, 1 to 65536", where, r.TYPE)
				}
				in.Samples = int(f)
			}
			r.MAX = nil
		case "cube":
			return fmt.Errorf("%w: %w", hdrErr(keyAnchor("NAME", r.NAME), "%s: TYPE %q (cube maps) is not supported", where, r.TYPE), ErrUnsupported)
		default:
			return hdrErr(keyAnchor("NAME", r.NAME), "%s: unknown TYPE %q (want float, bool, long, color, point2D, image, event, audio or audioFFT)", where, r.TYPE)
		}
		var err error
		conv := func(field string, v any) Value {
			if v == nil || err != nil || n == 0 {
				return nil
			}
			var val Value
			val, err = jsonValue(v, n)
			if err != nil {
				err = hdrErr(keyAnchor("NAME", r.NAME), "%s: %s: %v", where, field, err)
			}
			return val
		}
		in.Default = conv("DEFAULT", r.DEFAULT)
		in.Min = conv("MIN", r.MIN)
		in.Max = conv("MAX", r.MAX)
		in.Identity = conv("IDENTITY", r.IDENTITY)
		if err != nil {
			return err
		}
		if r.TYPE == TypeLong {
			if len(r.VALUES) > MaxLongValues || len(r.LABELS) > MaxLongValues {
				return hdrErr(keyAnchor("NAME", r.NAME), "%s: %d VALUES and %d LABELS: at most %d", where, len(r.VALUES), len(r.LABELS), MaxLongValues)
			}
			for _, v := range []Value{in.Min, in.Max} {
				if v != nil && math.Abs(v[0]) > math.MaxInt32 {
					return hdrErr(keyAnchor("NAME", r.NAME), "%s: MIN and MAX must be within ±%d (a long is a GLSL int)", where, math.MaxInt32)
				}
			}
			for j, v := range r.VALUES {
				f, ok := v.(float64)
				if !ok || !isLong(f) {
					return hdrErr(keyAnchor("NAME", r.NAME), "%s: VALUES[%d] is not an integer within ±%d", where, j, math.MaxInt32)
				}
				in.Values = append(in.Values, int(f))
			}
			for j, v := range r.LABELS {
				s, ok := v.(string)
				if !ok {
					return hdrErr(keyAnchor("NAME", r.NAME), "%s: LABELS[%d] is not a string", where, j)
				}
				in.Labels = append(in.Labels, s)
			}
			if len(in.Labels) > 0 && len(in.Labels) != len(in.Values) {
				return hdrErr(keyAnchor("NAME", r.NAME), "%s: %d LABELS for %d VALUES", where, len(in.Labels), len(in.Values))
			}
			if len(in.Values) == 0 && in.Min != nil && in.Max != nil && in.Max[0]-in.Min[0] <= 1024 {
				// The reference turns a MIN/MAX long into a menu of
				// the integers between.
				for v := int(math.Ceil(in.Min[0])); v <= int(math.Floor(in.Max[0])); v++ {
					in.Values = append(in.Values, v)
				}
			}
		}
		if n > 0 {
			if in.Min != nil && in.Max != nil {
				for c := range in.Min {
					// A range written backwards (a slider that runs
					// down, as some published files have it) is the
					// range between the two.
					if in.Min[c] > in.Max[c] {
						in.Min[c], in.Max[c] = in.Max[c], in.Min[c]
					}
				}
			}
			if in.Default == nil {
				in.Default = zeroValue(&in)
			}
			d, err := in.Check(in.Default)
			if err != nil {
				return hdrErr(keyAnchor("NAME", r.NAME), "%s: DEFAULT: %v", where, err)
			}
			in.Default = d
		}
		sh.Inputs = append(sh.Inputs, in)
	}
	return nil
}

// isLong reports whether f is a value a long (a GLSL int) can hold.
func isLong(f float64) bool { return f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 }

func zeroValue(in *Input) Value {
	switch in.Type {
	case TypeColor:
		return Value{0, 0, 0, 1}
	case TypePoint2D:
		return Value{0, 0}
	case TypeLong:
		if len(in.Values) > 0 {
			return Value{float64(in.Values[0])}
		}
	case TypeFloat:
		if in.Min != nil {
			return Value{in.Min[0]}
		}
	}
	return Value{0}
}

// jsonValue reads a header value of n components: a number, a bool, an
// array of numbers (a color may omit alpha).
func jsonValue(v any, n int) (Value, error) {
	switch v := v.(type) {
	case float64:
		if n == 1 {
			return Value{v}, nil
		}
	case bool:
		if n == 1 {
			return Value{b2f(v)}, nil
		}
	case string:
		if n == 4 && strings.HasPrefix(v, "#") {
			return hexColor(v)
		}
	case []any:
		if len(v) == n || n == 4 && len(v) == 3 {
			out := make(Value, n)
			out[n-1] = 1
			for i, e := range v {
				f, ok := e.(float64)
				if !ok {
					return nil, fmt.Errorf("component %d is %s, not a number", i, jsonKind(e))
				}
				out[i] = f
			}
			return out, nil
		}
		return nil, fmt.Errorf("%d components, want %d", len(v), n)
	}
	return nil, fmt.Errorf("%s is not a value of %d component(s)", jsonKind(v), n)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case float64:
		return "a number"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func hexColor(s string) (Value, error) {
	h := strings.TrimPrefix(s, "#")
	if len(h) != 6 && len(h) != 8 {
		return nil, fmt.Errorf("color %q: want #rrggbb or #rrggbbaa", s)
	}
	out := Value{0, 0, 0, 1}
	for i := 0; i < len(h)/2; i++ {
		b, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8) // no sign, no spaces, unlike Sscanf
		if err != nil {
			return nil, fmt.Errorf("color %q: want #rrggbb or #rrggbbaa", s)
		}
		out[i] = float64(b) / 255
	}
	return out, nil
}

func (sh *Shader) readImported(raw json.RawMessage, hdrErr headerErr) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	type entry struct {
		NAME, PATH string
	}
	var list []entry
	var obj map[string]entry
	if err := json.Unmarshal(raw, &obj); err == nil {
		for name, e := range obj {
			if e.NAME == "" {
				e.NAME = name
			}
			list = append(list, e)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].NAME < list[j].NAME })
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return hdrErr(`"IMPORTED"`, "IMPORTED must be an object of {\"PATH\": file} entries (or an array of {NAME, PATH})")
	}
	if len(list) > MaxImported {
		return hdrErr(`"IMPORTED"`, "%d IMPORTED images: at most %d", len(list), MaxImported)
	}
	for _, e := range list {
		if !validIdent(e.NAME) || reserved[e.NAME] || sh.Input(e.NAME) != nil {
			return hdrErr(`"`+regexp.QuoteMeta(e.NAME)+`"`, "IMPORTED %q: the name must be a GLSL identifier not used by an input or built-in", e.NAME)
		}
		if e.PATH == "" {
			return hdrErr(`"`+regexp.QuoteMeta(e.NAME)+`"`, "IMPORTED %q has no PATH", e.NAME)
		}
		if err := confined(e.PATH); err != nil {
			return hdrErr(`"`+regexp.QuoteMeta(e.NAME)+`"`, "IMPORTED %q: %v", e.NAME, err)
		}
		sh.Imported = append(sh.Imported, Imported{Name: e.NAME, Path: e.PATH})
	}
	return nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v == "true" || v == "1" || v == "YES" || v == "yes"
	}
	return false
}

func (sh *Shader) readPasses(raw []rawPass, persistentBuffers json.RawMessage, hdrErr headerErr) error {
	persistent := map[string]bool{}
	if len(persistentBuffers) > 0 && string(persistentBuffers) != "null" {
		// ISF v1: a list of names, or an object of name → {WIDTH, HEIGHT}.
		var names []string
		var obj map[string]json.RawMessage
		if json.Unmarshal(persistentBuffers, &names) == nil {
			for _, n := range names {
				persistent[n] = true
			}
		} else if json.Unmarshal(persistentBuffers, &obj) == nil {
			for n := range obj {
				persistent[n] = true
			}
		} else {
			return hdrErr(`"PERSISTENT_BUFFERS"`, "PERSISTENT_BUFFERS must be a list of target names")
		}
	}
	if len(raw) == 0 {
		raw = []rawPass{{}}
	}
	targets := map[string]int{}
	for i, r := range raw {
		p := Pass{Target: r.TARGET, Persistent: truthy(r.PERSISTENT) || truthy(r.PersistentBuffer) || persistent[r.TARGET], Float: truthy(r.FLOAT)}
		where := fmt.Sprintf("PASSES[%d]", i)
		if p.Target != "" {
			if !validIdent(p.Target) || reserved[p.Target] || sh.Input(p.Target) != nil {
				return hdrErr(passAnchor(r), "%s: TARGET %q must be a GLSL identifier not used by an input or built-in", where, p.Target)
			}
			for _, im := range sh.Imported {
				if im.Name == p.Target {
					return hdrErr(passAnchor(r), "%s: TARGET %q is also an IMPORTED image", where, p.Target)
				}
			}
			// Two passes may write one target (the later overwrites),
			// as the reference allows.
			targets[p.Target] = i
		} else if i < len(raw)-1 {
			return hdrErr(passAnchor(r), "%s has no TARGET: only the last pass may render to the output", where)
		}
		if p.Persistent && p.Target == "" {
			return hdrErr(passAnchor(r), "%s is PERSISTENT but has no TARGET", where)
		}
		var err error
		if p.Width, err = sizeExpr(r.WIDTH); err != nil {
			return hdrErr(passAnchor(r), "%s: WIDTH: %v", where, err)
		}
		if p.Height, err = sizeExpr(r.HEIGHT); err != nil {
			return hdrErr(passAnchor(r), "%s: HEIGHT: %v", where, err)
		}
		for _, e := range []*Expr{p.Width, p.Height} {
			if e == nil {
				continue
			}
			for _, v := range e.Vars() {
				if v == "WIDTH" || v == "HEIGHT" {
					continue
				}
				in := sh.Input(v)
				if in == nil || (in.Type != TypeFloat && in.Type != TypeLong && in.Type != TypeBool && in.Type != TypeEvent) {
					return hdrErr(passAnchor(r), "%s: size expression %q uses $%s, which is not a float, long or bool input", where, e, v)
				}
			}
		}
		sh.Passes = append(sh.Passes, p)
	}
	for n := range persistent {
		if _, ok := targets[n]; !ok {
			return hdrErr(`"PERSISTENT_BUFFERS"`, "PERSISTENT_BUFFERS names %q, which no pass targets", n)
		}
	}
	// A probe at 1080p with default inputs catches sizes that can never
	// work before the shader reaches a pipeline.
	for i := range sh.Passes {
		if _, _, err := sh.PassSize(i, 1920, 1080, nil); err != nil {
			return hdrErr(passAnchor(raw[i]), "%v", err)
		}
	}
	return nil
}

func sizeExpr(v any) (*Expr, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case float64:
		return ParseExpr(fmt.Sprint(v))
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		return ParseExpr(v)
	}
	return nil, fmt.Errorf("%s: want a number or an expression string", jsonKind(v))
}

// PassSize evaluates pass i's target size for a w×h frame; values gives
// the current input values by name (missing ones take their default).
// Sizes are rounded to the nearest pixel, at least 1, and refused above
// MaxTargetSize on a side or MaxAreaFactor times the frame's area.
func (sh *Shader) PassSize(i, w, h int, values map[string]Value) (int, int, error) {
	p := sh.Passes[i]
	if p.Width == nil && p.Height == nil {
		return w, h, nil
	}
	vars := map[string]float64{"WIDTH": float64(w), "HEIGHT": float64(h)}
	for _, in := range sh.Inputs {
		if len(in.Default) != 1 {
			continue
		}
		v := in.Default
		if x, ok := values[in.Name]; ok && len(x) == 1 {
			v = x
		}
		vars[in.Name] = v[0]
	}
	size := func(e *Expr, def int, axis string) (int, error) {
		if e == nil {
			return def, nil
		}
		v, err := e.Eval(vars)
		if err != nil {
			return 0, fmt.Errorf("pass %d (%s) %s: %v", i, p.Target, axis, err)
		}
		r := math.Round(v)
		if r > MaxTargetSize {
			return 0, fmt.Errorf("pass %d (%s) %s %q is %g for a %dx%d frame: more than %d", i, p.Target, axis, e, v, w, h, MaxTargetSize)
		}
		return max(1, int(r)), nil
	}
	tw, err := size(p.Width, w, "WIDTH")
	if err != nil {
		return 0, 0, err
	}
	th, err := size(p.Height, h, "HEIGHT")
	if err != nil {
		return 0, 0, err
	}
	if tw*th > MaxAreaFactor*max(w*h, 1) && tw*th > 256*256 {
		return 0, 0, fmt.Errorf("pass %d (%s) size %dx%d (WIDTH %q, HEIGHT %q) is more than %d times the %dx%d frame's area", i, p.Target, tw, th, exprText(p.Width), exprText(p.Height), MaxAreaFactor, w, h)
	}
	return tw, th, nil
}

func exprText(e *Expr) string {
	if e == nil {
		return "$size"
	}
	return e.src
}

// imageRead matches the ISF image functions with the image they read.
var imageRead = regexp.MustCompile(`\b(IMG_PIXEL|IMG_NORM_PIXEL|IMG_THIS_PIXEL|IMG_THIS_NORM_PIXEL|IMG_NORM_THIS_PIXEL|IMG_SIZE)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)`)

// checkImageReads gives a clear error, at its line, for an image function
// reading a name that is no image: most often a TARGET that no pass
// declares (the compiler would only say "undeclared identifier").
func (sh *Shader) checkImageReads(src string) error {
	images := map[string]bool{}
	for _, in := range sh.Inputs {
		if in.IsImage() {
			images[in.Uniform] = true
		}
	}
	for _, im := range sh.Imported {
		images[im.Name] = true
	}
	for _, p := range sh.Passes {
		if p.Target != "" {
			images[p.Target] = true
		}
	}
	if js, off, ok, _ := header([]byte(src)); ok {
		// The header is no code: blank it, keeping offsets.
		src = src[:off] + strings.Repeat(" ", len(js)) + src[off+len(js):]
	}
	code := glslComments.ReplaceAllStringFunc(src, func(c string) string {
		return strings.Map(func(r rune) rune {
			if r == '\n' {
				return r
			}
			return ' '
		}, c)
	})
	for _, m := range imageRead.FindAllStringSubmatchIndex(code, -1) {
		name := code[m[4]:m[5]]
		if images[name] {
			continue
		}
		l, c := lineCol([]byte(src), m[4])
		return &Error{File: sh.File, Line: l, Col: c, Msg: fmt.Sprintf("%s reads %q, which is no image input, IMPORTED image or pass TARGET", code[m[2]:m[3]], name)}
	}
	return nil
}

var glslComments = regexp.MustCompile(`(?s)//[^\n]*|/\*.*?\*/`)

type headerErr func(anchor, format string, a ...any) error

// keyAnchor matches "KEY": "value" in a header.
func keyAnchor(key, value string) string {
	return `"` + regexp.QuoteMeta(key) + `"\s*:\s*"` + regexp.QuoteMeta(value) + `"`
}

// passAnchor matches pass i's TARGET, or PASSES for a pass without one.
func passAnchor(p rawPass) string {
	if p.TARGET != "" {
		return keyAnchor("TARGET", p.TARGET)
	}
	return `"PASSES"`
}

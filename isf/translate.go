package isf

import (
	"fmt"
	"regexp"
	"strings"
)

// The translation keeps every line of the author's code where it was
// (#line 1 0 before it) and puts generated code on lines PreludeLine and
// up, so that compiler messages point into the author's files.

// Old GLSL and ISF names the translation rewrites in the author's code.
var (
	rewriteIdents = regexp.MustCompile(`\b(texture2DRect|texture2DLod|texture2D|textureLod|texture|texelFetch|gl_FragCoord|gl_FragColor|varying|attribute|sampler2DRect)\b`)
	fragDataZero  = regexp.MustCompile(`\bgl_FragData\s*\[\s*0\s*\]`)
	userMain      = regexp.MustCompile(`\bvoid\s+main\s*\(\s*(void\s*)?\)`)
	mainImageDecl = regexp.MustCompile(`\bvoid\s+mainImage\s*\(`)
	usesFragColor = regexp.MustCompile(`\bgl_Frag(Color|Data)\b`)
)

// authorCode prepares the author's source: the ISF header blanked (it may
// hold characters a GLSL compiler refuses), #version lines dropped and
// #extension lines returned separately (they must precede declarations),
// each keeping its line; then the identifier rewrites.
func authorCode(src string, vertex bool) (code string, extensions []string) {
	if _, off, ok, _ := header([]byte(src)); ok {
		end := strings.Index(src[off:], "*/")
		start := strings.LastIndex(src[:off], "/*")
		if end >= 0 && start >= 0 {
			end += off + 2
			src = src[:start] + blankKeepLines(src[start:end]) + src[end:]
		}
	}
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "#version"):
			lines[i] = ""
		case strings.HasPrefix(t, "#extension"):
			extensions = append(extensions, t)
			lines[i] = ""
		}
	}
	code = strings.Join(lines, "\n")
	code = fragDataZero.ReplaceAllString(code, "isf_FragColor")
	code = rewriteIdents.ReplaceAllStringFunc(code, func(id string) string {
		switch id {
		case "texture2D", "texture":
			return "isf_texture"
		case "textureLod", "texture2DLod":
			return "isf_textureLod"
		case "texture2DRect":
			return "isf_texture2DRect"
		case "texelFetch":
			return "isf_texelFetch"
		case "gl_FragCoord":
			return "isf_FragCoord"
		case "gl_FragColor":
			return "isf_FragColor"
		case "varying":
			if vertex {
				return "out"
			}
			return "in"
		case "attribute":
			return "in"
		case "sampler2DRect":
			return "sampler2D"
		}
		return id
	})
	return code, extensions
}

func blankKeepLines(s string) string {
	return strings.Repeat("\n", strings.Count(s, "\n"))
}

// uniformDecls declares the built-ins and every input, imported image and
// target.
func uniformDecls(sh *Shader) string {
	var b strings.Builder
	b.WriteString(`uniform int PASSINDEX;
uniform vec2 RENDERSIZE;
uniform float TIME;
uniform float TIMEDELTA;
uniform vec4 DATE;
uniform int FRAMEINDEX;
#define vv_FragNormCoord isf_FragNormCoord
#define vv_vertShaderInit isf_vertShaderInit
`)
	image := func(name string) {
		fmt.Fprintf(&b, "uniform sampler2D %s;\nuniform vec2 _%s_imgSize;\nuniform vec4 _%s_imgRect;\nuniform bool _%s_flip;\n", name, name, name, name)
	}
	for _, in := range sh.Inputs {
		switch in.Type {
		case TypeFloat:
			fmt.Fprintf(&b, "uniform float %s;\n", in.Uniform)
		case TypeBool, TypeEvent:
			fmt.Fprintf(&b, "uniform bool %s;\n", in.Uniform)
		case TypeLong:
			fmt.Fprintf(&b, "uniform int %s;\n", in.Uniform)
		case TypeColor:
			fmt.Fprintf(&b, "uniform vec4 %s;\n", in.Uniform)
		case TypePoint2D:
			fmt.Fprintf(&b, "uniform vec2 %s;\n", in.Uniform)
		case TypeImage, TypeAudio, TypeAudioFFT:
			image(in.Uniform)
		}
	}
	for _, im := range sh.Imported {
		image(im.Name)
	}
	seen := map[string]bool{}
	for _, p := range sh.Passes {
		if p.Target != "" && !seen[p.Target] {
			seen[p.Target] = true
			image(p.Target)
		}
	}
	return b.String()
}

// samplerHelpers read images y-up as ISF sees them from textures stored
// y-down (row 0 at the top, as the compositor keeps frames).
const samplerHelpers = `vec4 isf_texture(sampler2D s, vec2 uv) { return texture(s, vec2(uv.x, 1.0 - uv.y)); }
vec4 isf_texture(sampler2D s, vec3 uvq) { return isf_texture(s, uvq.xy / uvq.z); }
vec4 isf_textureLod(sampler2D s, vec2 uv, float lod) { return textureLod(s, vec2(uv.x, 1.0 - uv.y), lod); }
vec4 isf_texelFetch(sampler2D s, ivec2 p, int lod) { return texelFetch(s, ivec2(p.x, textureSize(s, lod).y - 1 - p.y), lod); }
vec2 IMG_SIZE(sampler2D s) { return vec2(textureSize(s, 0)); }
vec4 IMG_NORM_PIXEL(sampler2D s, vec2 uv) { return isf_texture(s, uv); }
vec4 IMG_PIXEL(sampler2D s, vec2 p) { return isf_texture(s, p / IMG_SIZE(s)); }
vec4 isf_texture2DRect(sampler2D s, vec2 p) { return IMG_PIXEL(s, p); }
`

// thisPixelHelpers read at the fragment being rendered (fragment shaders
// only).
const thisPixelHelpers = `vec4 isf_texture(sampler2D s, vec2 uv, float bias) { return texture(s, vec2(uv.x, 1.0 - uv.y), bias); }
vec4 IMG_THIS_NORM_PIXEL(sampler2D s) { return isf_texture(s, isf_FragNormCoord); }
vec4 IMG_THIS_PIXEL(sampler2D s) { return isf_texture(s, isf_FragNormCoord); }
vec4 IMG_NORM_THIS_PIXEL(sampler2D s) { return isf_texture(s, isf_FragNormCoord); }
`

func translateFragment(sh *Shader, src string) string {
	code, ext := authorCode(src, false)
	var b strings.Builder
	b.WriteString("#version 330 core\n")
	for _, e := range ext {
		b.WriteString(e + "\n")
	}
	fmt.Fprintf(&b, "#line %d 1\n", PreludeLine)
	b.WriteString(uniformDecls(sh))
	b.WriteString("in vec2 isf_FragNormCoord;\n")
	// gl_FragCoord, y-up like isf_FragNormCoord.
	b.WriteString("#define isf_FragCoord vec4(gl_FragCoord.x, RENDERSIZE.y - gl_FragCoord.y, gl_FragCoord.z, gl_FragCoord.w)\n")
	if usesFragColor.MatchString(src) {
		b.WriteString("out vec4 isf_FragColor;\n")
	}
	b.WriteString(samplerHelpers)
	b.WriteString(thisPixelHelpers)
	b.WriteString("#line 1 0\n")
	b.WriteString(code)
	b.WriteString("\n")
	return b.String()
}

func translateShaderToy(sh *Shader, src string) string {
	code, ext := authorCode(src, false)
	var b strings.Builder
	b.WriteString("#version 330 core\n")
	for _, e := range ext {
		b.WriteString(e + "\n")
	}
	fmt.Fprintf(&b, "#line %d 1\n", PreludeLine)
	b.WriteString(uniformDecls(sh))
	b.WriteString(`in vec2 isf_FragNormCoord;
#define isf_FragCoord vec4(gl_FragCoord.x, RENDERSIZE.y - gl_FragCoord.y, gl_FragCoord.z, gl_FragCoord.w)
out vec4 isf_FragColor;
`)
	b.WriteString(samplerHelpers)
	b.WriteString(thisPixelHelpers)
	b.WriteString(`#define iTime TIME
#define iGlobalTime TIME
#define iTimeDelta TIMEDELTA
#define iFrame FRAMEINDEX
#define iDate vec4(DATE.x, DATE.y - 1.0, DATE.zw) // ShaderToy counts months from 0
#define iResolution vec3(RENDERSIZE, 1.0)
#define iMouse vec4(isf_iMouse, isf_iMouse)
#define iChannel0 inputImage
#define iFrameRate (1.0 / max(TIMEDELTA, 1e-6))
vec3 iChannelResolution[4];
float iChannelTime[4];
`)
	b.WriteString("#line 1 0\n")
	b.WriteString(code)
	fmt.Fprintf(&b, "\n#line %d 1\n", PreludeLine+50000)
	b.WriteString(`void main() {
	iChannelResolution[0] = vec3(IMG_SIZE(inputImage), 1.0);
	for (int i = 1; i < 4; i++) iChannelResolution[i] = vec3(0.0);
	for (int i = 0; i < 4; i++) iChannelTime[i] = TIME;
	vec4 c = vec4(0.0, 0.0, 0.0, 1.0);
	mainImage(c, isf_FragCoord.xy);
	// ShaderToy shows its canvas opaque, whatever alpha a shader writes.
	isf_FragColor = vec4(c.rgb, 1.0);
}
`)
	return b.String()
}

// translateVertex wraps the author's vertex shader (src may be empty: the
// default one calls isf_vertShaderInit only). The author's main runs in
// y-up clip space; the wrapper flips gl_Position so that the picture's
// top lands on row 0.
func translateVertex(sh *Shader, src string) string {
	var b strings.Builder
	b.WriteString("#version 330 core\n")
	code, ext := "", []string(nil)
	if strings.TrimSpace(src) != "" {
		code, ext = authorCode(src, true)
		code = userMain.ReplaceAllString(code, "void isf_user_main()")
	}
	for _, e := range ext {
		b.WriteString(e + "\n")
	}
	fmt.Fprintf(&b, "#line %d 1\n", PreludeLine)
	b.WriteString(uniformDecls(sh))
	b.WriteString("out vec2 isf_FragNormCoord;\n")
	b.WriteString(samplerHelpers)
	// A quad as a 4-vertex strip, like the reference draws, so that
	// vertex shaders that move corners work.
	b.WriteString(`void isf_vertShaderInit() {
	vec2 p = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1)) * 2.0 - 1.0;
	gl_Position = vec4(p, 0.0, 1.0);
	isf_FragNormCoord = p * 0.5 + 0.5;
}
`)
	if code == "" {
		b.WriteString("void isf_user_main() { isf_vertShaderInit(); }\n")
	} else {
		b.WriteString("void isf_user_main();\n#line 1 0\n")
		b.WriteString(code)
		fmt.Fprintf(&b, "\n#line %d 1\n", PreludeLine+50000)
	}
	b.WriteString("void main() {\n\tisf_user_main();\n\tgl_Position.y = -gl_Position.y;\n}\n")
	return b.String()
}

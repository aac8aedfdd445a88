package isf

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpr(t *testing.T) {
	vars := map[string]float64{"WIDTH": 640, "HEIGHT": 360, "level": 3}
	for src, want := range map[string]float64{
		"$WIDTH/4":                      160,
		"$WIDTH / 4.0 + 0.5":            160.5,
		"-$HEIGHT + 2*($WIDTH - 40)":    840,
		"floor($WIDTH / 3.0)":           213,
		"max($WIDTH, $HEIGHT, 1000)":    1000,
		"min(1, 2)":                     1,
		"pow(2, $level)":                8,
		"$WIDTH % 100":                  40,
		"sqrt(16) + abs(-2) + ceil(.1)": 7,
		"round(2.5)":                    3,
		"($level > 2) * 10":             10,
		"1e2":                           100,
		"clamp($WIDTH, 0, 512)":         512,
	} {
		e, err := ParseExpr(src)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		got, err := e.Eval(vars)
		if err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", src, got, err, want)
		}
	}
	for _, bad := range []string{"$WIDTH/", "(1", "foo(1)", "$", "1 2", "max()", "pow(1)", "os.exit"} {
		if _, err := ParseExpr(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	e, _ := ParseExpr("$nope + 1")
	if _, err := e.Eval(vars); err == nil || !strings.Contains(err.Error(), "$nope") {
		t.Errorf("unknown variable: %v", err)
	}
	e, _ = ParseExpr("$WIDTH / 0")
	if _, err := e.Eval(vars); err == nil {
		t.Error("division by zero gave a size")
	}
}

const simpleBody = "\nvoid main() { gl_FragColor = vec4(1.0); }\n"

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      string // in the message
		line, col int    // 0: not checked
	}{
		{"malformed JSON", "/*{\n\t\"INPUTS\": [\n\t\t{\"NAME\": \"a\" \"TYPE\": \"float\"}\n\t]\n}*/" + simpleBody,
			"malformed JSON header", 3, 16},
		{"wrong JSON type", "/*{\n\"INPUTS\": {\"NAME\": \"a\"}\n}*/" + simpleBody, "header field INPUTS", 2, 0},
		{"unclosed header", "/*{ \"INPUTS\": [] " + simpleBody, "never closed", 1, 0},
		{"unknown type", `/*{"INPUTS": [{"NAME": "a", "TYPE": "vec3"}]}*/` + simpleBody, `unknown TYPE "vec3"`, 1, 0},
		{"bad default", `/*{"INPUTS": [{"NAME": "a", "TYPE": "color", "DEFAULT": 1}]}*/` + simpleBody, "DEFAULT", 1, 0},
		{"reserved name", `/*{"INPUTS": [{"NAME": "TIME", "TYPE": "float"}]}*/` + simpleBody, "built-in", 0, 0},
		{"twice", `/*{"INPUTS": [{"NAME": "a", "TYPE": "float"}, {"NAME": "a", "TYPE": "bool"}]}*/` + simpleBody, "twice", 0, 0},
		{"labels", `/*{"INPUTS": [{"NAME": "a", "TYPE": "long", "VALUES": [1, 2], "LABELS": ["one"]}]}*/` + simpleBody, "LABELS", 0, 0},
		{"missing target", "/*{\"PASSES\": [{\"TARGET\": \"blurred\"}, {}]}*/\nvoid main() {\n\tgl_FragColor = IMG_NORM_PIXEL(blured, isf_FragNormCoord);\n}\n",
			`"blured", which is no image input`, 3, 32},
		{"output pass not last", `/*{"PASSES": [{}, {"TARGET": "a"}]}*/` + simpleBody, "only the last pass", 0, 0},
		{"persistent without target", `/*{"PASSES": [{"PERSISTENT": true}]}*/` + simpleBody, "no TARGET", 0, 0},
		{"persistent buffers", `/*{"PERSISTENT_BUFFERS": ["x"], "PASSES": [{"TARGET": "y"}, {}]}*/` + simpleBody, `"x"`, 0, 0},
		{"huge size", `/*{"PASSES": [{"TARGET": "big", "WIDTH": "$WIDTH*100"}, {}]}*/` + simpleBody, `"$WIDTH*100"`, 0, 0},
		{"huge area", `/*{"PASSES": [{"TARGET": "big", "WIDTH": "$WIDTH*3", "HEIGHT": "$HEIGHT*3"}, {}]}*/` + simpleBody, "times the 1920x1080 frame's area", 0, 0},
		{"bad expression", `/*{"PASSES": [{"TARGET": "a", "WIDTH": "$WIDTH/"}, {}]}*/` + simpleBody, "WIDTH", 0, 0},
		{"expression input", `/*{"INPUTS": [{"NAME": "c", "TYPE": "color"}], "PASSES": [{"TARGET": "a", "WIDTH": "$c"}, {}]}*/` + simpleBody, "$c", 0, 0},
		{"imported absolute", `/*{"IMPORTED": {"img": {"PATH": "/etc/passwd"}}}*/` + simpleBody, "absolute", 0, 0},
		{"imported parent", `/*{"IMPORTED": {"img": {"PATH": "../secret.png"}}}*/` + simpleBody, "leaves the shader's folder", 0, 0},
		{"imported inside dots", `/*{"IMPORTED": {"img": {"PATH": "a/../../b.png"}}}*/` + simpleBody, "leaves the shader's folder", 0, 0},
		{"input line", "/*{\n\"INPUTS\": [\n\t{\"NAME\": \"a\", \"TYPE\": \"float\"},\n\t{\"NAME\": \"b\",\n\t \"TYPE\": \"vec9\"}\n]}*/" + simpleBody,
			`INPUTS[1] "b": unknown TYPE "vec9"`, 4, 0},
		{"pass line", "/*{\n\"PASSES\": [\n\t{\"TARGET\": \"a\"},\n\t{\"TARGET\": \"big\", \"WIDTH\": \"$WIDTH*100\"},\n\t{}\n]}*/" + simpleBody,
			`"$WIDTH*100"`, 4, 0},
		{"imported line", "/*{\n\"IMPORTED\": {\n\t\"img\": {\"PATH\": \"../x.png\"}\n}}*/" + simpleBody,
			"leaves", 3, 0},
		{"no header", "void main() { gl_FragColor = vec4(1.0); }\n", "no ISF header", 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("plugins/x.fs", []byte(c.src), nil)
			if err == nil {
				t.Fatal("parsed")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "plugins/x.fs:") {
				t.Errorf("error %q should start with plugins/x.fs: and contain %q", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not *isf.Error", err)
			}
			if c.line > 0 && e.Line != c.line || c.col > 0 && e.Col != c.col {
				t.Errorf("at %d:%d, want %d:%d (%v)", e.Line, e.Col, c.line, c.col, err)
			}
		})
	}
	sh, err := Parse("a.fs", []byte(`/*{"INPUTS": [{"NAME": "snd", "TYPE": "audioFFT", "MAX": 128}, {"NAME": "w", "TYPE": "audio"}]}*/`+simpleBody), nil)
	if err != nil || sh.Input("snd").Samples != 128 || sh.Input("w").Samples != 0 || !sh.Input("w").IsImage() || !strings.Contains(sh.Fragment, "uniform sampler2D snd;") {
		t.Errorf("audio inputs: %v", err)
	}
	if _, err := Parse("a.fs", []byte(`/*{"INPUTS": [{"NAME": "snd", "TYPE": "audio", "MAX": 0.5}]}*/`+simpleBody), nil); err == nil {
		t.Error("an audio input with a MAX that is no number of samples")
	}
	// A range written backwards is the range between the two.
	sh, err = Parse("a.fs", []byte(`/*{"INPUTS": [{"NAME": "size", "TYPE": "float", "MIN": 1, "MAX": 0.05, "DEFAULT": 0.001}]}*/`+simpleBody), nil)
	if err != nil || sh.Input("size").Min[0] != 0.05 || sh.Input("size").Max[0] != 1 || sh.Input("size").Default[0] != 0.05 {
		t.Errorf("a reversed range: %v", err)
	}
}

func TestParseHeader(t *testing.T) {
	sh, err := Parse("Blur.fs", []byte(`/*{
	"ISFVSN": "2",
	"VSN": 1.5,
	"DESCRIPTION": "d",
	"CREDIT": "c",
	"CATEGORIES": ["Blur", "Test"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "level", "TYPE": "long", "VALUES": [2, 4, 8], "LABELS": ["two", "four", "eight"], "DEFAULT": 4},
		{"NAME": "steps", "TYPE": "long", "MIN": 1, "MAX": 3},
		{"NAME": "go", "TYPE": "event"},
		{"NAME": "c", "TYPE": "color", "DEFAULT": [0.5, 0.5, 0.5]},
		{"NAME": "p", "TYPE": "point2D"},
		{"NAME": "f", "TYPE": "float", "MIN": -1, "MAX": 1, "IDENTITY": 0}
	],
	"PASSES": [
		{"TARGET": "small", "WIDTH": "$WIDTH/$level", "HEIGHT": "$HEIGHT/$level", "persistentBuffer": 1, "FLOAT": true},
		{}
	]
}*/
void main() { gl_FragColor = IMG_THIS_PIXEL(small); }
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Name != "Blur" || sh.Kind != KindISF || sh.ISFVSN != "2" || sh.VSN != "1.5" || sh.Description != "d" || len(sh.Categories) != 2 || !sh.IsFilter() {
		t.Errorf("header: %+v", sh)
	}
	if p := sh.Passes[0]; !p.Persistent || !p.Float || p.Target != "small" || p.Width.String() != "$WIDTH/$level" {
		t.Errorf("pass 0: %+v", p)
	}
	if w, h, err := sh.PassSize(0, 640, 360, nil); w != 160 || h != 90 || err != nil {
		t.Errorf("size %dx%d %v", w, h, err)
	}
	if w, h, _ := sh.PassSize(0, 640, 360, map[string]Value{"level": {8}}); w != 80 || h != 45 {
		t.Errorf("size with level 8: %dx%d", w, h)
	}
	if w, h, _ := sh.PassSize(1, 640, 360, nil); w != 640 || h != 360 {
		t.Errorf("output pass %dx%d", w, h)
	}
	level := sh.Input("level")
	if v, err := level.Coerce("eight"); err != nil || v[0] != 8 {
		t.Errorf("long by label: %v %v", v, err)
	}
	if _, err := level.Coerce(3.0); err == nil {
		t.Error("long outside VALUES accepted")
	}
	if v, err := sh.Input("steps").Coerce(7); err != nil || v[0] != 3 {
		t.Errorf("long MIN/MAX: %v %v", v, err)
	}
	if got := sh.Input("steps").Values; len(got) != 3 {
		t.Errorf("MIN/MAX long values %v", got)
	}
	if _, err := sh.Input("steps").Coerce(1.5); err == nil {
		t.Error("fractional long accepted")
	}
	if d := sh.Input("c").Default; len(d) != 4 || d[3] != 1 {
		t.Errorf("color default %v", d)
	}
	if v, err := sh.Input("c").Coerce("#ff000080"); err != nil || v[0] != 1 || v[3] != 128.0/255 {
		t.Errorf("hex color %v %v", v, err)
	}
	if v, err := sh.Input("c").Coerce([]any{2.0, -1.0, 0.5}); err != nil || v[0] != 1 || v[1] != 0 || v[3] != 1 {
		t.Errorf("clamped color %v %v", v, err)
	}
	if _, err := sh.Input("p").Coerce([]any{1.0}); err == nil {
		t.Error("point2D with one component accepted")
	}
	if _, err := sh.Input("f").Coerce("x"); err == nil {
		t.Error("float from a string accepted")
	}
	if v, _ := sh.Input("f").Coerce(-5); v[0] != -1 {
		t.Errorf("float clamp %v", v)
	}
	if v, err := sh.Input("go").Coerce(true); err != nil || v[0] != 1 {
		t.Errorf("event %v %v", v, err)
	}
	if sh.Input("f").Go(sh.Input("f").Identity) != 0.0 || sh.Input("level").Go(Value{4}) != 4 || sh.Input("go").Go(Value{1}) != true {
		t.Error("Go values")
	}
	// The author's code keeps its line: main is on line 21 of the file.
	lines := strings.Split(sh.Fragment, "\n")
	for i, l := range lines {
		if strings.Contains(l, "void main()") {
			n := 0
			for j := i - 1; j >= 0; j-- {
				if strings.HasPrefix(lines[j], "#line 1 0") {
					n = i - j
					break
				}
			}
			if n != 21 {
				t.Errorf("main is on translated line %d after #line 1, want 21", n)
			}
		}
	}
}

func TestImportedArrayForm(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), image.NewNRGBA(image.Rect(0, 0, 2, 2)))
	os.WriteFile(filepath.Join(dir, "arr.fs"), []byte(`/*{"IMPORTED": [{"NAME": "tex", "PATH": "a.png"}]}*/`+simpleBody), 0o644)
	sh, err := Load(os.DirFS(dir), "arr.fs")
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Imported) != 1 || sh.Imported[0].Name != "tex" || sh.Imported[0].Image == nil {
		t.Errorf("imported %+v", sh.Imported)
	}
}

func TestShaderToyParse(t *testing.T) {
	sh, err := Parse("wave.glsl", []byte("void mainImage(out vec4 o, in vec2 p) { o = texture(iChannel0, p / iResolution.xy); }\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Kind != KindShaderToy || sh.Input("iMouse") == nil || sh.Input("iMouse").Type != TypePoint2D || !sh.IsFilter() {
		t.Errorf("%+v", sh)
	}
	if _, err := Parse("x.glsl", []byte("void main() {}"), nil); err == nil {
		t.Error("a .glsl without mainImage parsed")
	}
}

func writePNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestLoadImportedConfined(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	dir := filepath.Join(root, "fx")
	os.MkdirAll(filepath.Join(dir, "img"), 0o755)
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	writePNG(t, filepath.Join(dir, "img", "logo.png"), img)
	writePNG(t, filepath.Join(outside, "secret.png"), img)
	os.Symlink(filepath.Join(outside, "secret.png"), filepath.Join(dir, "abs.png"))
	os.Symlink("../../"+filepath.Base(outside)+"/secret.png", filepath.Join(dir, "rel.png"))
	os.Symlink("img", filepath.Join(dir, "inside"))
	os.WriteFile(filepath.Join(dir, "bad.png"), []byte("not a png"), 0o644)
	write := func(path string) {
		src := `/*{"IMPORTED": {"logo": {"PATH": "` + path + `"}}}*/` + "\nvoid main() { gl_FragColor = IMG_THIS_PIXEL(logo); }\n"
		os.WriteFile(filepath.Join(dir, "fx.fs"), []byte(src), 0o644)
	}
	write("img/logo.png")
	sh, err := Load(os.DirFS(root), "fx/fx.fs")
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Imported) != 1 || sh.Imported[0].Image.Bounds().Dx() != 3 {
		t.Fatalf("imported %+v", sh.Imported)
	}
	if sh.File != "fx/fx.fs" {
		t.Errorf("File %q", sh.File)
	}
	write("inside/logo.png")
	if _, err := Load(os.DirFS(root), "fx/fx.fs"); err != nil {
		t.Errorf("a link inside the folder: %v", err)
	}
	for path, want := range map[string]string{
		"abs.png":  "symbolic link to an absolute path",
		"rel.png":  "symbolic link out of",
		"bad.png":  "PNG and JPEG",
		"none.png": "no such file",
	} {
		write(path)
		_, err := Load(os.DirFS(root), "fx/fx.fs")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "fx/fx.fs") {
			t.Errorf("IMPORTED %s: %v, want an error naming fx/fx.fs with %q", path, err, want)
		}
	}
	if _, err := Load(os.DirFS(root), "../x.fs"); err == nil {
		t.Error("loading a file outside the root worked")
	}
	if _, err := Parse("fx.fs", []byte(`/*{"IMPORTED": {"logo": {"PATH": "a.png"}}}*/`+simpleBody), nil); err == nil {
		t.Error("Parse accepted IMPORTED without a folder")
	}
	// LoadFile confines to the file's own folder.
	write("img/logo.png")
	sh, err = LoadFile(filepath.Join(dir, "fx.fs"))
	if err != nil || sh.File != filepath.Join(dir, "fx.fs") {
		t.Fatalf("LoadFile: %v %v", sh, err)
	}
	if _, err := sh.LoadImage("../fx/img/logo.png"); err == nil {
		t.Error("LoadImage with .. worked")
	}
}

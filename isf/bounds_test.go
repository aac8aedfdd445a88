package isf

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/imagefile"
	"github.com/shadercast/shadercast/internal/imagetest"
	"github.com/shadercast/shadercast/internal/regularfile"
)

// TestExprBounds: hostile nesting is an error, never a stack overflow (a
// few thousand parentheses used to kill the process), and real
// expressions still parse.
func TestExprBounds(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "$WIDTH" + strings.Repeat(close, n)
	}
	for name, src := range map[string]string{
		"parens 1000 deep":         nest("(", ")", 1000),
		"parens 100000 deep":       nest("(", ")", 100000),
		"unclosed parens":          strings.Repeat("(", 4000),
		"signs":                    strings.Repeat("-", 2000) + "1",
		"calls":                    nest("floor(", ")", 500),
		"calls in args":            nest("max(1,", ")", 500),
		"left chain":               "1" + strings.Repeat("+1", 1000),
		"product chain":            "1" + strings.Repeat("*1", 1000),
		"comparison chain":         "1" + strings.Repeat("<1", 1000),
		"right nesting via parens": strings.Repeat("1+(", 700) + "1" + strings.Repeat(")", 700),
	} {
		_, err := ParseExpr(src)
		if err == nil || !(strings.Contains(err.Error(), "nested more than") || strings.Contains(err.Error(), "at most")) {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("%s: %d-byte error message", name, len(err.Error()))
		}
	}
	for _, src := range []string{nest("(", ")", MaxExprDepth-1), "1" + strings.Repeat("+1", MaxExprDepth-1), "floor(max($WIDTH/8.0, 1) * 2 + ($HEIGHT > 720))"} {
		e, err := ParseExpr(src)
		if err != nil {
			t.Errorf("%.40q: %v", src, err)
			continue
		}
		if _, err := e.Eval(map[string]float64{"WIDTH": 64, "HEIGHT": 64}); err != nil {
			t.Errorf("%.40q: %v", src, err)
		}
	}
	if _, err := new(Expr).Eval(nil); err == nil {
		t.Error("the zero Expr evaluated")
	}
	// Through the header: an error at the file, not a crash.
	src := fmt.Sprintf(`/*{"PASSES": [{"TARGET": "a", "WIDTH": "%s"}, {}]}*/`, nest("(", ")", 3000)) + simpleBody
	if _, err := Parse("deep.fs", []byte(src), nil); err == nil || !strings.Contains(err.Error(), "deep.fs") {
		t.Errorf("deep WIDTH in a header: %v", err)
	}
}

func TestHeaderLimits(t *testing.T) {
	list := func(n int, f func(i int) string) string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, f(i))
		}
		return strings.Join(s, ",")
	}
	for name, tc := range map[string]struct{ header, want string }{
		"inputs":            {`"INPUTS": [` + list(MaxInputs+1, func(i int) string { return fmt.Sprintf(`{"NAME": "i%d", "TYPE": "float"}`, i) }) + `]`, "INPUTS: at most"},
		"passes":            {`"PASSES": [` + list(MaxPasses+1, func(i int) string { return fmt.Sprintf(`{"TARGET": "t%d"}`, i) }) + `]`, "PASSES: at most"},
		"imported":          {`"IMPORTED": {` + list(MaxImported+1, func(i int) string { return fmt.Sprintf(`"m%d": {"PATH": "a.png"}`, i) }) + `}`, "IMPORTED images: at most"},
		"values":            {`"INPUTS": [{"NAME": "l", "TYPE": "long", "VALUES": [` + list(MaxLongValues+1, func(i int) string { return fmt.Sprint(i) }) + `]}]`, "at most"},
		"huge long value":   {`"INPUTS": [{"NAME": "l", "TYPE": "long", "VALUES": [1e300]}]`, "within"},
		"huge long min":     {`"INPUTS": [{"NAME": "l", "TYPE": "long", "MIN": -1e300, "MAX": -1e300}]`, "within"},
		"huge long default": {`"INPUTS": [{"NAME": "l", "TYPE": "long", "DEFAULT": 4e9}]`, "within"},
		"sign in a color":   {`"INPUTS": [{"NAME": "c", "TYPE": "color", "DEFAULT": "#+f0000"}]`, "color"},
	} {
		_, err := Parse("x.fs", []byte("/*{"+tc.header+"}*/"+simpleBody), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	big := []byte("/*{}*/" + simpleBody + strings.Repeat("//\n", MaxShaderBytes/3))
	if _, err := Parse("big.fs", big, nil); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("a shader over %d bytes: %v", MaxShaderBytes, err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big.fs"), big, 0o644)
	var tl *regularfile.TooLargeError
	if _, err := Load(regularfile.DirFS(dir), "big.fs"); !errors.As(err, &tl) {
		t.Errorf("Load of a shader over %d bytes: %v", MaxShaderBytes, err)
	}
}

// TestLoadRefusesFIFO: a FIFO where a shader or its .vs should be is
// refused at once; reading it would block forever.
func TestLoadRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	syscall.Mkfifo(filepath.Join(dir, "x.fs"), 0o644)
	os.WriteFile(filepath.Join(dir, "y.fs"), []byte("/*{}*/"+simpleBody), 0o644)
	syscall.Mkfifo(filepath.Join(dir, "y.vs"), 0o644)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var nr *regularfile.NotRegularError
		for _, f := range []string{"x.fs", "y.fs"} {
			if _, err := Load(regularfile.DirFS(dir), f); !errors.As(err, &nr) {
				t.Errorf("%s: %v", f, err)
			}
			if _, err := LoadFile(filepath.Join(dir, f)); !errors.As(err, &nr) {
				t.Errorf("LoadFile %s: %v", f, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("loading a FIFO blocked")
	}
}

// TestImportedPixelCap: an IMPORTED image is refused from its header when
// it declares more pixels than the cap (default or LoadOptions).
func TestImportedPixelCap(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "huge.png"), imagetest.DeclaredPNG(50000, 50000, 64), 0o644)
	src := `/*{"IMPORTED": {"logo": {"PATH": "huge.png"}}}*/` + "\nvoid main() { gl_FragColor = IMG_THIS_PIXEL(logo); }\n"
	os.WriteFile(filepath.Join(dir, "fx.fs"), []byte(src), 0o644)
	var tm *imagefile.TooManyPixelsError
	if _, err := Load(regularfile.DirFS(dir), "fx.fs"); !errors.As(err, &tm) || !strings.Contains(err.Error(), "fx.fs") || !strings.Contains(err.Error(), "50000x50000") {
		t.Errorf("50000x50000 IMPORTED: %v", err)
	}
	writePNG(t, filepath.Join(dir, "huge.png"), imageOf(8, 8))
	if _, err := LoadWith(regularfile.DirFS(dir), "fx.fs", LoadOptions{MaxImagePixels: 63}); !errors.As(err, &tm) {
		t.Errorf("8x8 IMPORTED under a 63-pixel cap: %v", err)
	}
	sh, err := LoadWith(regularfile.DirFS(dir), "fx.fs", LoadOptions{MaxImagePixels: 64})
	if err != nil {
		t.Fatalf("8x8 IMPORTED at a 64-pixel cap: %v", err)
	}
	// Images set later by file name keep the shader's cap.
	if _, err := sh.LoadImage("huge.png"); err != nil {
		t.Errorf("LoadImage at the cap: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "huge.png"), imagetest.DeclaredPNG(9, 9, 64), 0o644)
	if _, err := sh.LoadImage("huge.png"); !errors.As(err, &tm) {
		t.Errorf("LoadImage over the cap: %v", err)
	}
}

func imageOf(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	return img
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shadercast/shadercast/internal/shadertest"
)

// brokenShader has a GLSL error on line 9 of the file.
const brokenShader = `/*{
	"DESCRIPTION": "broken on purpose",
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "level", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0}
	]
}*/
void main() {
	gl_FragColor = vec4(level) +;
}
`

func shaderRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	rc := shaderCmd(args, &out, &errb)
	return rc, out.String(), errb.String()
}

func TestShaderCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.fs")
	bad := filepath.Join(dir, "bad.fs")
	header := filepath.Join(dir, "header.fs")
	os.WriteFile(good, []byte(shadertest.Grey), 0o644)
	os.WriteFile(bad, []byte(brokenShader), 0o644)
	os.WriteFile(header, []byte(strings.Replace(shadertest.Grey, `"TYPE": "float",`, `"TYPE": "float",,`, 1)), 0o644)

	filters, _ := filepath.Glob("../../shaders/filters/*.fs")
	toys, _ := filepath.Glob("../../shaders/filters/*.glsl")
	filters = append(filters, toys...)
	if len(filters) < 8 {
		t.Fatalf("found %d example filters, want at least 8", len(filters))
	}
	rc, out, errs := shaderRun(append([]string{"check", good}, filters...)...)
	if rc != 0 {
		t.Fatalf("check of good files: exit %d\nstdout:\n%s\nstderr:\n%s", rc, out, errs)
	}
	if !strings.Contains(out, good+": ok (1 pass, 320x180)\n") {
		t.Errorf("stdout lacks the ok line for %s:\n%s", good, out)
	}
	if n := strings.Count(out, ": ok ("); n != len(filters)+1 {
		t.Errorf("%d ok lines for %d files:\n%s", n, len(filters)+1, out)
	}

	rc, out, errs = shaderRun("check", bad, good, header, filepath.Join(dir, "missing.fs"))
	if rc != 1 {
		t.Fatalf("check with bad files: exit %d, want 1\nstderr:\n%s", rc, errs)
	}
	if !strings.Contains(out, good+": ok") || strings.Contains(out, bad+": ok") {
		t.Errorf("stdout:\n%s", out)
	}
	// Like a compiler: every diagnostic line starts with file:line: .
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	want := map[string]*regexp.Regexp{
		"glsl":    regexp.MustCompile(`^` + regexp.QuoteMeta(bad) + `:9: .+`),
		"header":  regexp.MustCompile(`^` + regexp.QuoteMeta(header) + `:5:(\d+:)? .+`),
		"missing": regexp.MustCompile(`^` + regexp.QuoteMeta(filepath.Join(dir, "missing.fs")) + `: .+`),
	}
	for what, re := range want {
		found := false
		for _, l := range lines {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("no %s diagnostic matching %v in:\n%s", what, re, errs)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, dir) {
			t.Errorf("diagnostic line does not start with a file name: %q", l)
		}
	}

	for _, args := range [][]string{{}, {"check"}, {"frobnicate"}, {"list", "extra"}, {"check", "--bogus", good}} {
		if rc, _, errs := shaderRun(args...); rc != 2 || errs == "" {
			t.Errorf("shader %v: exit %d, stderr %q; want 2 and a usage message", args, rc, errs)
		}
	}
}

func TestShaderList(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "grey.fs"), []byte(shadertest.Grey), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.fs"), []byte("no header"), 0o644)
	rc, out, errs := shaderRun("list", "--shaders", dir)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errs)
	}
	for _, want := range []string{"barcode ", "vignette ", "grey ", "level ", "range 0..1", "broken.fs:1"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	rc, out, errs = shaderRun("list", "--json", "--shaders", dir)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errs)
	}
	var list []struct {
		Name   string
		File   string
		Inputs []struct {
			Name, Type   string
			Default, Min any
			Max          any
		}
		LastError string
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	byName := map[string]int{}
	for i, p := range list {
		byName[p.Name] = i
	}
	g, ok := byName["grey"]
	if !ok || len(list[g].Inputs) != 1 || list[g].Inputs[0].Type != "float" || list[g].Inputs[0].Max != 1.0 {
		t.Errorf("grey in JSON: %+v", list)
	}
	for _, n := range []string{"barcode", "invert", "vignette", "chromakey"} {
		if _, ok := byName[n]; !ok {
			t.Errorf("%s missing from the JSON list", n)
		}
	}
	if rc, _, errs := shaderRun("list", "--shaders", filepath.Join(dir, "nope")); rc != 1 || !strings.Contains(errs, "nope") {
		t.Errorf("missing folder: exit %d, %q", rc, errs)
	}
}

// TestShaderCheckWithoutGL runs the check in a child process whose EGL
// loader finds no driver: a clear message and exit status 1.
func TestShaderCheckWithoutGL(t *testing.T) {
	if os.Getenv("SHADERCAST_CHECK_CHILD") == "1" {
		os.Exit(shaderCmd([]string{"check", "../../shaders/filters/vignette.fs"}, os.Stdout, os.Stderr))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestShaderCheckWithoutGL$")
	cmd.Env = append(os.Environ(), "SHADERCAST_CHECK_CHILD=1", "__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent/egl_vendor.json", "EGL_PLATFORM=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "no OpenGL 3.3 context") {
		t.Errorf("no clear message:\n%s", out)
	}
}

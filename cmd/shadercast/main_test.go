package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadercast/shadercast/internal/barcodetest"
)

// TestDetectCommand runs `detect --json --out` on real photos and a missing
// file: one JSON line per file in order, the readable ones with the right
// values, an error line for the missing one, exit status 1, and the
// highlighted PNGs written under distinct names.
func TestDetectCommand(t *testing.T) {
	dir := barcodetest.DataDir(t)
	files := []string{
		filepath.Join(dir, "code128-1", "1.png"),
		filepath.Join(dir, "qrcode-2", "1.png"),
		filepath.Join(dir, "does-not-exist.png"),
		filepath.Join(dir, "falsepositives-2", "01.png"),
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"detect", "--json", "--out", out}, files...), &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit status %d, want 1 (one file failed); stderr: %s", code, stderr.String())
	}
	var lines []detectResult
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r detectResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		lines = append(lines, r)
	}
	if len(lines) != len(files) {
		t.Fatalf("%d lines for %d files:\n%s", len(lines), len(files), stdout.String())
	}
	for i, r := range lines {
		if r.File != files[i] {
			t.Errorf("line %d names %q, want %q", i, r.File, files[i])
		}
	}
	if l := lines[0]; l.Width != 416 || l.Height != 330 || len(l.Barcodes) != 1 || l.Barcodes[0].Format != "code_128" || l.Barcodes[0].RawValue != "168901" {
		t.Errorf("code128-1/1.png: %+v", l)
	} else if b := l.Barcodes[0]; len(b.CornerPoints) != 4 || b.BoundingBox.Width < 200 || b.CornerPoints[0].X > b.CornerPoints[1].X {
		t.Errorf("code128-1/1.png geometry: %+v", b)
	}
	if l := lines[1]; len(l.Barcodes) != 1 || l.Barcodes[0].Format != "qr_code" || !strings.HasPrefix(l.Barcodes[0].RawValue, "When we at WRT") {
		t.Errorf("qrcode-2/1.png: %+v", l)
	}
	if l := lines[2]; l.Error == "" || len(l.Barcodes) != 0 {
		t.Errorf("missing file: %+v", l)
	}
	if l := lines[3]; l.Error != "" || len(l.Barcodes) != 0 {
		t.Errorf("image without barcodes: %+v", l)
	}
	for _, name := range []string{"1.png", "1-2.png", "01.png"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Errorf("highlighted image: %v", err)
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "1.png" && (img.Bounds().Dx() != 416 || img.Bounds().Dy() != 330) {
			t.Errorf("%s is %v, want 416x330", name, img.Bounds())
		}
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"detect", "-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "Usage: shadercast detect") {
		t.Errorf("detect -h: exit %d, %q", code, stderr.String())
	}
	if code := run([]string{"bogus"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code := run([]string{"detect"}, &stdout, &stderr); code != 2 {
		t.Errorf("detect without files: exit %d, want 2", code)
	}
}

// TestDetectOutputNamesDistinct: inputs whose names collide, even with a
// generated suffix, each get their own highlighted file.
func TestDetectOutputNamesDistinct(t *testing.T) {
	dir := barcodetest.DataDir(t)
	src, err := os.ReadFile(filepath.Join(dir, "code128-1", "1.png"))
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	var files []string
	for _, name := range []string{"a/1.png", "b/1.png", "c/1-2.png"} {
		p := filepath.Join(in, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"detect", "--out", out}, files...), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 3 {
		t.Errorf("%d output files for 3 inputs: %v", len(entries), entries)
	}
}

package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFolderHostileFiles: a FIFO named like a plugin, a link out of the
// folder and an expression nested thousands deep each become that
// plugin's error, without blocking or crashing Open or a reload, and a
// broken reload keeps the previous version.
func TestFolderHostileFiles(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "x.fs"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(outside, "secret.fs"), []byte(constShader("0.5", "")), 0o644)
	os.Symlink(filepath.Join(outside, "secret.fs"), filepath.Join(dir, "abs.fs"))
	os.Symlink("../"+filepath.Base(outside)+"/secret.fs", filepath.Join(dir, "rel.fs"))
	writeFile(t, filepath.Join(dir, "deep.fs"), constShader("0.5", ""))
	opened := make(chan *Registry, 1)
	go func() {
		r, err := Open(Options{Dirs: []string{dir}, Debounce: 20 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		opened <- r
	}()
	var r *Registry
	select {
	case r = <-opened:
	case <-time.After(20 * time.Second):
		t.Fatal("Open blocked on a FIFO in the shader folder")
	}
	if r == nil {
		return
	}
	defer r.Close()
	for name, want := range map[string]string{"x": "named pipe", "abs": "escapes", "rel": "escapes"} {
		if in, ok := r.Lookup(name); !ok || !strings.Contains(in.LastError, want) {
			t.Errorf("%s: %+v, want an error saying %q", name, in, want)
		}
	}
	if in, _ := r.Lookup("deep"); in.LastError != "" || in.Loads != 1 {
		t.Fatalf("deep before the change: %+v", in)
	}
	deep := fmt.Sprintf(`/*{"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}], "PASSES": [{"TARGET": "a", "WIDTH": "%s$WIDTH%s"}, {}]}*/`,
		strings.Repeat("(", 2000), strings.Repeat(")", 2000)) + "\nvoid main() { gl_FragColor = IMG_THIS_PIXEL(inputImage); }\n"
	writeFile(t, filepath.Join(dir, "deep.fs"), deep)
	waitFor(t, "deep.fs's error", 20*time.Second, func() bool {
		in, _ := r.Lookup("deep")
		return in.Loads == 2
	})
	in, _ := r.Lookup("deep")
	if !strings.Contains(in.LastError, "nested more than") || !strings.Contains(in.LastError, "deep.fs") || in.Kind != "isf" || in.Description != "test" {
		t.Errorf("deep after the change: %+v (want its error, and the previous version kept)", in)
	}
}

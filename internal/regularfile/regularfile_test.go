package regularfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// within fails the test when f does not return in time: what these tests
// guard against is a read that blocks forever.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

func TestRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "x.fs"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ok.fs"), []byte("hello"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	var nr *NotRegularError
	within(t, "Open of a FIFO", func() {
		if _, err := Open(filepath.Join(dir, "x.fs")); !errors.As(err, &nr) || !strings.Contains(err.Error(), "named pipe (FIFO)") {
			t.Errorf("Open FIFO: %v", err)
		}
	})
	for _, fsys := range []fs.FS{DirFS(dir), os.DirFS(dir)} {
		within(t, "ReadFile of a FIFO", func() {
			if _, err := ReadFile(fsys, "x.fs", 1<<20); !errors.As(err, &nr) {
				t.Errorf("%T: ReadFile FIFO: %v", fsys, err)
			}
		})
		if _, err := ReadFile(fsys, "sub", 1<<20); !errors.As(err, &nr) || !strings.Contains(err.Error(), "folder") {
			t.Errorf("%T: ReadFile folder: %v", fsys, err)
		}
		if b, err := ReadFile(fsys, "ok.fs", 5); err != nil || string(b) != "hello" {
			t.Errorf("%T: regular file: %q %v", fsys, b, err)
		}
		var tl *TooLargeError
		if _, err := ReadFile(fsys, "ok.fs", 4); !errors.As(err, &tl) || tl.Size != 5 || tl.Limit != 4 {
			t.Errorf("%T: over the limit: %v", fsys, err)
		}
	}
	// The check is on the opened descriptor: DirFS.Open itself refuses.
	within(t, "DirFS.Open of a FIFO", func() {
		if _, err := DirFS(dir).Open("x.fs"); !errors.As(err, &nr) {
			t.Errorf("DirFS.Open FIFO: %v", err)
		}
	})
	if _, err := Open("/dev/null"); !errors.As(err, &nr) || !strings.Contains(err.Error(), "device") {
		t.Errorf("/dev/null: %v", err)
	}
}

func TestDirFSConfined(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "img"), 0o755)
	os.WriteFile(filepath.Join(dir, "img", "a"), []byte("a"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "abs"))
	os.Symlink("../"+filepath.Base(outside)+"/secret", filepath.Join(dir, "rel"))
	os.Symlink(outside, filepath.Join(dir, "dirlink"))
	os.Symlink("img", filepath.Join(dir, "inside"))
	fsys := DirFS(dir)
	for _, name := range []string{"abs", "rel", "dirlink/secret", "../" + filepath.Base(outside) + "/secret", "/etc/passwd"} {
		if b, err := ReadFile(fsys, name, 100); err == nil {
			t.Errorf("%s read outside the folder: %q", name, b)
		}
		if f, err := fsys.Open(name); err == nil {
			f.Close()
			t.Errorf("%s opened outside the folder", name)
		}
	}
	if b, err := ReadFile(fsys, "inside/a", 100); err != nil || string(b) != "a" {
		t.Errorf("a link inside the folder: %q %v", b, err)
	}
	if target, err := fs.ReadLink(fsys, "abs"); err != nil || target != filepath.Join(outside, "secret") {
		t.Errorf("ReadLink: %q %v", target, err)
	}
}

func TestLimitReader(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int64
		ok    bool
	}{{"", 0, true}, {"abc", 3, true}, {"abcd", 3, false}, {"abc", 0, false}} {
		b, err := ReadAll(iotest.OneByteReader(LimitReader(strings.NewReader(tc.in), "x", tc.limit)), "x", 1<<20)
		var tl *TooLargeError
		if tc.ok != (err == nil) || (!tc.ok && !errors.As(err, &tl)) || int64(len(b)) > tc.limit && err == nil {
			t.Errorf("%q limit %d: %q %v", tc.in, tc.limit, b, err)
		}
	}
}

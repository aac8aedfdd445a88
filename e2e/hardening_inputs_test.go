package e2e

// Issue 9, item 1: no file a user or a plugin folder hands the service can
// crash or freeze it. Each crasher the issue lists is made here (small,
// in a temporary folder) and fed to the built binary while a viewer
// watches.

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/imagetest"
)

// keepsServing checks that the service is up and that the viewer decoded
// frames at a steady rate over the next two seconds.
func keepsServing(t *testing.T, s *service, v *viewer, after string) {
	t.Helper()
	from := time.Now()
	time.Sleep(2 * time.Second)
	to := time.Now()
	select {
	case <-s.exited:
		t.Fatalf("the service exited after %s: %v\n%s", after, s.err, s.stderr)
	default:
	}
	log := v.Log()
	if n := framesIn(log, from, to); n < 20 {
		t.Errorf("%d frames in the 2 s after %s (want ≥ 20)", n, after)
	}
	if g := maxGap(log, from, to); g > gapLimit {
		t.Errorf("a %v gap between frames after %s", g, after)
	}
}

// pipelineErrors returns the errors /api/pipeline reports by pass name,
// from the chain and from the available passes.
func pipelineErrors(t *testing.T, s *service) map[string]string {
	t.Helper()
	var view struct {
		Passes    []struct{ Name, Error string }
		Available []struct{ Name, Error string }
	}
	s.getJSON(t, "api/pipeline", "", &view)
	errs := map[string]string{}
	for _, p := range append(view.Passes, view.Available...) {
		if p.Error != "" {
			errs[p.Name] = p.Error
		}
	}
	return errs
}

// nestedWidth is a plugin whose pass WIDTH is nested depth parentheses
// deep: before the fix, parsing it overflowed the goroutine stack (fatal,
// not recoverable), so dropping it in a --shaders folder killed the
// service on hot reload.
func nestedWidth(depth int) string {
	return fmt.Sprintf(`/*{
  "INPUTS": [{"NAME": "inputImage", "TYPE": "image"}],
  "PASSES": [{"TARGET": "buf", "WIDTH": "%s$WIDTH/2%s"}, {}]
}*/
void main() { gl_FragColor = IMG_THIS_PIXEL(inputImage); }
`, strings.Repeat("(", depth), strings.Repeat(")", depth))
}

// TestHostileShaderFolder: a FIFO named like a plugin, and plugins whose
// WIDTH is nested thousands deep (new files, and an edit of a pass that is
// on air), are refused with an error in /api/pipeline while the service
// keeps serving frames and keeps reloading good files.
func TestHostileShaderFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tint.fs"), []byte(tintV1), 0o644); err != nil {
		t.Fatal(err)
	}
	// Present at start: reading it would block the loader forever.
	if err := syscall.Mkfifo(filepath.Join(dir, "x.fs"), 0o644); err != nil {
		t.Fatal(err)
	}
	still := filepath.Join(t.TempDir(), "grey.png")
	writeSolidPNG(t, still, 320, 240, color.RGBA{128, 128, 128, 255})
	s := start(t, nil, nil, "--input", still, "--no-barcode", "--shaders", dir, "--pass", "tint")
	defer func() {
		if t.Failed() {
			t.Logf("service log:\n%s", s.stderr)
		}
	}()
	v := watch(t, s, "")
	v.WaitFrames(t, 20, 30*time.Second)
	red := func(c color.RGBA) bool { return c.R > 200 && c.G < 60 && c.B < 60 }
	eventually(t, 10*time.Second, "the tint pass (red)", func() bool { return red(snapshotAt(t, s, 160, 120)) })
	if e := pipelineErrors(t, s)["x"]; !strings.Contains(e, "named pipe") {
		t.Errorf("the FIFO x.fs: error %q, want one saying it is a named pipe", e)
	}

	// New hostile files while running: nested past the depth bound, and
	// far past the length bound; another FIFO.
	os.WriteFile(filepath.Join(dir, "deep.fs"), []byte(nestedWidth(2000)), 0o644)
	os.WriteFile(filepath.Join(dir, "huge.fs"), []byte(nestedWidth(100000)), 0o644)
	syscall.Mkfifo(filepath.Join(dir, "y.fs"), 0o644)
	eventually(t, 10*time.Second, "the hostile plugins' errors in /api/pipeline", func() bool {
		e := pipelineErrors(t, s)
		return e["deep"] != "" && e["huge"] != "" && e["y"] != ""
	})
	e := pipelineErrors(t, s)
	if !strings.Contains(e["deep"], "nested more than") || !strings.Contains(e["deep"], "deep.fs") {
		t.Errorf("deep.fs: %q", e["deep"])
	}
	if !strings.Contains(e["huge"], "at most") || len(e["huge"]) > 1000 {
		t.Errorf("huge.fs: %.300q (%d bytes)", e["huge"], len(e["huge"]))
	}
	if !strings.Contains(e["y"], "named pipe") {
		t.Errorf("the FIFO y.fs: %q", e["y"])
	}
	keepsServing(t, s, v, "hostile plugins were added")

	// The pass on air is edited into the crasher: refused, the previous
	// version keeps running.
	os.WriteFile(filepath.Join(dir, "tint.fs"), []byte(nestedWidth(3000)), 0o644)
	eventually(t, 10*time.Second, "tint's error in /api/pipeline", func() bool { return pipelineErrors(t, s)["tint"] != "" })
	keepsServing(t, s, v, "the pass on air became a crasher")
	if c := snapshotAt(t, s, 160, 120); !red(c) {
		t.Errorf("after the bad edit the output is %v, want the previous (red) version", c)
	}

	// The watcher still reloads: a good file after all that loads.
	os.WriteFile(filepath.Join(dir, "later.fs"), []byte(tintV1), 0o644)
	eventually(t, 10*time.Second, "a good plugin added afterwards", func() bool {
		var view struct {
			Available []struct{ Name, Error string }
		}
		s.getJSON(t, "api/pipeline", "", &view)
		for _, p := range view.Available {
			if p.Name == "later" {
				return p.Error == ""
			}
		}
		return false
	})
}

// y4mFile writes a Y4M file with the given header parameters and n grey
// 320x240 frames.
func y4mFile(t *testing.T, path, params string, n int) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W320 H240 %s\n", params)
	for i := 0; i < n; i++ {
		b.WriteString("FRAME\n")
		b.Write(bytes.Repeat([]byte{128}, 320*240*3/2))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestY4MOverflowingRate: the Y4M header that made the reader panic with
// an integer overflow (F1:4620909396513) gives a clear error in the API's
// input state while the service stays up, serving the slate.
func TestY4MOverflowingRate(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, params, want string }{
		{"overflow", "F1:4620909396513", "frame rate 1:4620909396513"},
		{"zero denominator", "F30:0", "both positive"},
		{"huge size", "F25:1 W99999999999999999999", "size must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clip := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".y4m")
			y4mFile(t, clip, tc.params, 30)
			s := start(t, nil, nil, "--input", clip, "--width", "320", "--height", "240", "--no-barcode")
			v := watch(t, s, "")
			eventually(t, 15*time.Second, "the header error in /api/stats", func() bool {
				return strings.Contains(s.stats(t, "").Input.LastError, tc.want)
			})
			if st := s.stats(t, ""); st.Input.State != "failed" || st.Frames.In != 0 {
				t.Errorf("input state %q, %d frames in: want failed, none", st.Input.State, st.Frames.In)
			}
			v.WaitFrames(t, 10, 15*time.Second) // the slate
			keepsServing(t, s, v, "a bad Y4M header")
			if !strings.Contains(s.stderr.String(), tc.want) {
				t.Errorf("the log does not give the error:\n%s", s.stderr)
			}
			// The file is reopened with backoff (1 s, 2 s, ...), failing
			// the same way each time: counted every time, logged once.
			eventually(t, 15*time.Second, "a second attempt", func() bool { return s.stats(t, "").Drops["inputErrors"] >= 2 })
			if n := strings.Count(s.stderr.String(), "input failed;"); n != 1 {
				t.Errorf("the same input failure logged %d times, want once:\n%s", n, s.stderr)
			}
		})
	}
}

// TestHugeImage: a 50000x50000 PNG of a few dozen bytes (10 GB decoded)
// is refused from its header by `shadercast detect` (non-zero exit, a
// clear message, little memory) and as the service's --input (a clear
// error, the service up).
func TestHugeImage(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, imagetest.DeclaredPNG(50000, 50000, 256), 0o644); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.png")
	writeSolidPNG(t, small, 100, 100, color.RGBA{200, 200, 200, 255})

	t.Run("detect", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{huge}, 1, "huge.png: PNG image declares 50000x50000 pixels"},
			{[]string{"--max-image-pixels", "9999", small}, 1, "over the limit of 9999 pixels"},
			{[]string{"--max-image-pixels", "10000", small}, 0, "small.png: 100x100"},
		} {
			cmd := exec.Command(binary, append([]string{"detect"}, tc.args...)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("detect %v still running after 60 s", tc.args)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Errorf("detect %v: exit %d, output %q; want %d and %q", tc.args, code, out.String(), tc.code, tc.want)
			}
			// Decoding would take 10 GB; the GL context alone is far
			// below the bound.
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 1<<20 { // KiB
				t.Errorf("detect %v peaked at %d MiB", tc.args, ru.Maxrss>>10)
			}
		}
	})

	t.Run("input", func(t *testing.T) {
		s := start(t, nil, nil, "--input", huge, "--width", "320", "--height", "240", "--no-barcode")
		v := watch(t, s, "")
		eventually(t, 15*time.Second, "the image error in /api/stats", func() bool {
			return strings.Contains(s.stats(t, "").Input.LastError, "50000x50000")
		})
		if st := s.stats(t, ""); st.Input.State != "failed" || !strings.Contains(st.Input.LastError, "huge.png") {
			t.Errorf("input state %q, error %q", st.Input.State, st.Input.LastError)
		}
		v.WaitFrames(t, 10, 15*time.Second)
		keepsServing(t, s, v, "a 50000x50000 image input")
	})
}

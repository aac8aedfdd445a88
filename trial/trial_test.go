package trial

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/shadertest"
)

func TestMain(m *testing.M) {
	RunChildIfRequested()
	os.Exit(m.Run())
}

// TestTrialPassesNormalFilter: a plain filter passes, and the trial's
// cost is logged (it is paid for each new or changed shader).
func TestTrialPassesNormalFilter(t *testing.T) {
	for _, size := range [][2]int{{1280, 720}, {320, 180}} {
		res, err := Run(context.Background(), Shader{File: "/plugins/grey.fs", Source: []byte(shadertest.Grey)}, Options{Width: size[0], Height: size[1]})
		if err != nil {
			t.Fatal(err)
		}
		if res.Frames != DefaultFrames || res.Passes != 1 || res.Width != size[0] {
			t.Errorf("result %+v", res)
		}
		t.Logf("trial at %dx%d: wall %v (start+GL+compile %v, %d frames %v)", size[0], size[1],
			res.Wall.Round(time.Millisecond), res.Setup.Round(time.Millisecond), res.Frames, res.Render.Round(time.Millisecond))
	}
}

// TestTrialRefusesEndlessLoop: the child is killed at the deadline and
// the shader refused with an error at its file.
func TestTrialRefusesEndlessLoop(t *testing.T) {
	t0 := time.Now()
	res, err := Run(context.Background(), Shader{File: "/plugins/loop.fs", Source: []byte(shadertest.Endless)}, Options{Deadline: time.Second})
	took := time.Since(t0)
	if !errors.Is(err, ErrDeadline) || !strings.HasPrefix(err.Error(), "/plugins/loop.fs: did not finish a frame in 1s") {
		t.Fatalf("endless loop: %v (%+v)", err, res)
	}
	if took > res.Setup+3*time.Second {
		t.Errorf("the trial took %v, setup %v, for a 1s deadline", took, res.Setup)
	}
	t.Logf("%v after %v", err, took.Round(time.Millisecond))
}

// TestTrialErrorsAtTheFile: compile errors keep their lines; a pass that
// fails on a frame at the output size is refused too.
func TestTrialErrorsAtTheFile(t *testing.T) {
	bad := strings.Replace(shadertest.Grey, "IMG_THIS_PIXEL(inputImage);", "IMG_THIS_PIXEL(inputImage) +;", 1)
	_, err := Run(context.Background(), Shader{File: "/plugins/bad.fs", Source: []byte(bad)}, Options{Width: 64, Height: 64})
	var ce *compositor.CompileError
	if !errors.As(err, &ce) || len(ce.Messages) == 0 || ce.Messages[0].File != "/plugins/bad.fs" || ce.Messages[0].Line != 9 {
		t.Fatalf("compile error: %#v", err)
	}
	huge := `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}, {"NAME": "k", "TYPE": "float", "DEFAULT": 1.0}],
	"PASSES": [{"TARGET": "big", "WIDTH": "$WIDTH * $k"}, {}]
}*/
void main() { gl_FragColor = IMG_THIS_PIXEL(inputImage); }
`
	sh := Shader{File: "/plugins/huge.fs", Source: []byte(huge)}
	if _, err := Run(context.Background(), sh, Options{Width: 64, Height: 64}); err != nil {
		t.Fatalf("at its default: %v", err)
	}
	sh.Inputs = map[string]any{"k": 1000.0}
	if _, err := Run(context.Background(), sh, Options{Width: 64, Height: 64}); err == nil || !strings.HasPrefix(err.Error(), "/plugins/huge.fs") || !strings.Contains(err.Error(), "WIDTH") {
		t.Fatalf("with the input that breaks it: %v", err)
	}
	if _, err := Run(context.Background(), Shader{File: "/plugins/header.fs", Source: []byte("/*{ nope */")}, Options{Width: 64, Height: 64}); err == nil || !strings.HasPrefix(err.Error(), "/plugins/header.fs") {
		t.Fatalf("header error: %v", err)
	}
}

// TestTrialTriesTheSourceItWasGiven: what is on disk by the time the
// child runs does not matter; images still come from the folder.
func TestTrialTriesTheSourceItWasGiven(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "grey.fs")
	if err := os.WriteFile(file, []byte(shadertest.Endless), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Shader{File: file, Dir: dir, Base: "grey.fs", Source: []byte(shadertest.Grey)}, Options{Width: 64, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != DefaultFrames {
		t.Errorf("%+v", res)
	}
	imp := `/*{
	"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}],
	"IMPORTED": {"logo": {"PATH": "missing.png"}}
}*/
void main() { gl_FragColor = IMG_THIS_PIXEL(inputImage) + IMG_THIS_PIXEL(logo); }
`
	if _, err := Run(context.Background(), Shader{File: file, Dir: dir, Base: "grey.fs", Source: []byte(imp)}, Options{Width: 64, Height: 64}); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Fatalf("missing IMPORTED image: %v", err)
	}
}

// TestTrialCanceled: the caller's context ends the trial and the child.
func TestTrialCanceled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Run(ctx, Shader{File: "/plugins/loop.fs", Source: []byte(shadertest.Endless)}, Options{Deadline: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("canceled trial: %v", err)
	}
}

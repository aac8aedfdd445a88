package compositor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/shaders"
)

func rgbaPipeline(t *testing.T, passes ...Pass) *Pipeline {
	t.Helper()
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA}, passes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func processRGBA(t *testing.T, p *Pipeline, fr media.VideoFrame) []byte {
	t.Helper()
	var o Output
	if err := p.Process(context.Background(), fr, &o); err != nil {
		t.Fatal(err)
	}
	defer o.Frame.Close()
	return gltest.PlaneBytes(t, o.Frame, 0)
}

// TestSharpenMatchesGo runs a 3x3 kernel and compares with the same kernel
// computed in Go.
func TestSharpenMatchesGo(t *testing.T) {
	const k = 0.75
	pass, err := NewBuiltinPass("sharpen", "sharpen.frag", map[string]any{"uStrength": k})
	if err != nil {
		t.Fatal(err)
	}
	p := rgbaPipeline(t, pass)
	w, h := 37, 23
	fr, planes := testFrame(t, media.RGBA, w, h, media.ColorSpace{}, 7)
	defer fr.Close()
	got := processRGBA(t, p, fr)
	src := planes[0]
	at := func(x, y, c int) float64 {
		x = max(0, min(w-1, x))
		y = max(0, min(h-1, y))
		return float64(src[4*(y*w+x)+c]) / 255
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 4; c++ {
				want := src[4*(y*w+x)+c]
				if c < 3 {
					v := at(x, y, c)*(1+4*k) - k*(at(x+1, y, c)+at(x-1, y, c)+at(x, y+1, c)+at(x, y-1, c))
					want = uint8(math.Round(math.Max(0, math.Min(1, v)) * 255))
				}
				g := got[4*(y*w+x)+c]
				if d := int(g) - int(want); d < -1 || d > 1 {
					t.Fatalf("pixel (%d,%d) channel %d: got %d want %d", x, y, c, g, want)
				}
			}
		}
	}
}

// TestChainEditing enables, disables and reorders passes between frames;
// invert then "add" differs from "add" then invert, so the order shows.
func TestChainEditing(t *testing.T) {
	inv, _ := NewBuiltinPass("invert", "invert.frag", map[string]any{"uAmount": 1.0})
	add := NewShaderPass(ShaderPassSpec{Name: "brighten", Source: `#version 330 core
uniform sampler2D uInput;
uniform float uAdd;
out vec4 fragColor;
void main() { vec4 c = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0); fragColor = vec4(c.rgb + uAdd, c.a); }
`, Uniforms: map[string]any{"uAdd": 0.2}})
	p := rgbaPipeline(t, inv, add)
	fr, err := media.NewVideoFrame([]byte{51, 102, 153, 255}, media.VideoFrameInit{Format: media.RGBA, CodedWidth: 1, CodedHeight: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	check := func(want [3]int) {
		t.Helper()
		got := processRGBA(t, p, fr)
		for c := 0; c < 3; c++ {
			if d := int(got[c]) - want[c]; d < -1 || d > 1 {
				t.Fatalf("got %v, want %v", got[:3], want)
			}
		}
	}
	check([3]int{255 - 51 + 51, 255 - 102 + 51, 255 - 153 + 51}) // invert, then +0.2 (51)
	if err := p.SetOrder([]string{"brighten", "invert"}); err != nil {
		t.Fatal(err)
	}
	check([3]int{255 - 102, 255 - 153, 255 - 204})
	if err := p.SetEnabled("invert", false); err != nil {
		t.Fatal(err)
	}
	check([3]int{102, 153, 204})
	if err := p.SetUniform("brighten", "uAdd", 0.4); err != nil {
		t.Fatal(err)
	}
	check([3]int{153, 204, 255})
	if err := p.SetUniform("brighten", "uAdd", true); err == nil {
		t.Error("setting a float uniform to a bool succeeded")
	}
	if err := p.SetUniform("brighten", "nope", 1.0); err == nil {
		t.Error("setting an unknown uniform succeeded")
	}
	if err := p.SetOrder([]string{"brighten"}); err == nil {
		t.Error("an order that drops a pass succeeded")
	}
	if err := p.RemovePass("brighten"); err != nil {
		t.Fatal(err)
	}
	check([3]int{51, 102, 153})
	if got := p.Passes(); len(got) != 1 || got[0].Name != "invert" || got[0].Enabled {
		t.Errorf("Passes() = %+v", got)
	}
}

// TestCompileErrorKeepsChain: a broken shader is refused with its file name
// and line, and the chain keeps producing the previous output.
func TestCompileErrorKeepsChain(t *testing.T) {
	inv, _ := NewBuiltinPass("fx", "invert.frag", map[string]any{"uAmount": 1.0})
	p := rgbaPipeline(t, inv)
	fr, _ := media.NewVideoFrame([]byte{10, 20, 30, 255}, media.VideoFrameInit{Format: media.RGBA, CodedWidth: 1, CodedHeight: 1})
	defer fr.Close()
	before := processRGBA(t, p, fr)

	broken := NewShaderPass(ShaderPassSpec{Name: "fx", File: "plugins/fx.frag", Source: `#version 330 core
uniform sampler2D uInput;
out vec4 fragColor;
void main() {
	fragColor = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0)
	fragColor.r = undefinedThing;
}
`})
	err := p.ReplacePass(broken)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("ReplacePass error %v, want *CompileError", err)
	}
	if !strings.Contains(err.Error(), "plugins/fx.frag:") || len(ce.Messages) == 0 || ce.Messages[0].Line < 5 || ce.Messages[0].Line > 6 {
		t.Errorf("error should name plugins/fx.frag and line 5 or 6: %v (%+v)", err, ce.Messages)
	}
	after := processRGBA(t, p, fr)
	if string(before) != string(after) || after[0] != 245 {
		t.Errorf("output changed after a failed replace: %v -> %v", before, after)
	}
	if err := p.AddPass(NewShaderPass(ShaderPassSpec{Name: "bad", Source: "not glsl"})); err == nil {
		t.Error("adding a non-GLSL pass succeeded")
	}
	if n := len(p.Passes()); n != 1 {
		t.Errorf("chain has %d passes after failed add, want 1", n)
	}
}

// TestInvalidFrames: closed frames are refused with media.ErrClosed, and the
// pipeline keeps working, also across size and format changes.
func TestInvalidFrames(t *testing.T) {
	p, err := NewPipeline(testDevice, Config{}, identity(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fr, _ := testFrame(t, media.I420, 8, 8, media.ColorSpace{}, 1)
	fr.Close()
	var o Output
	if err := p.Process(context.Background(), fr, &o); !errors.Is(err, media.ErrClosed) || !errors.Is(err, ErrFrame) {
		t.Errorf("closed frame: %v", err)
	}
	if err := p.Process(context.Background(), media.VideoFrame{}, &o); !errors.Is(err, media.ErrClosed) {
		t.Errorf("zero frame: %v", err)
	}
	for _, sz := range [][2]int{{16, 16}, {33, 7}, {16, 16}} {
		fr, _ := testFrame(t, media.NV12, sz[0], sz[1], media.ColorSpace{}, 2)
		if err := p.Process(context.Background(), fr, &o); err != nil {
			t.Fatalf("after bad frames, %dx%d: %v", sz[0], sz[1], err)
		}
		if o.Frame.CodedWidth() != sz[0] {
			t.Errorf("size %d, want %d", o.Frame.CodedWidth(), sz[0])
		}
		o.Frame.Close()
		fr.Close()
	}
	if st := p.Stats(); st.Drops["invalid"] != 2 || st.FramesOut != 3 {
		t.Errorf("stats %+v: want 2 invalid drops, 3 frames out", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fr, _ = testFrame(t, media.I420, 8, 8, media.ColorSpace{}, 1)
	defer fr.Close()
	if err := p.Process(ctx, fr, &o); !errors.Is(err, context.Canceled) || !o.Frame.Closed() {
		t.Errorf("canceled context: %v (frame %v)", err, o.Frame)
	}
	if st := p.Stats(); st.Drops["canceled"] != 1 {
		t.Errorf("canceled drops %d, want 1", st.Drops["canceled"])
	}
}

// TestConcurrentCallers: many goroutines, each with its own frames, get
// their own results back.
func TestConcurrentCallers(t *testing.T) {
	for _, mode := range []ReadbackMode{ReadbackAsync, ReadbackSync} {
		p, err := NewPipeline(testDevice, Config{Readback: mode}, identity(t))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					// A flat grey frame whose level names its caller.
					level := byte(20 + 10*g + i)
					w, h := 24+2*g, 16
					fr, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h, Timestamp: int64(g*1000 + i), ColorSpace: media.ColorSpaceBT709Full})
					if err != nil {
						t.Error(err)
						return
					}
					for pi := 0; pi < 3; pi++ {
						pl, _ := fr.Plane(pi)
						v := byte(128)
						if pi == 0 {
							v = level
						}
						for j := range pl.Data {
							pl.Data[j] = v
						}
					}
					var o Output
					err = p.Process(context.Background(), fr, &o)
					fr.Close()
					if err != nil {
						t.Error(err)
						return
					}
					y, _ := o.Frame.Plane(0)
					// Full-range grey Y=v becomes limited 16+219*v/255.
					want := int(math.Round(16 + 219*float64(level)/255))
					if o.Frame.Timestamp() != int64(g*1000+i) || o.Frame.CodedWidth() != w || absInt(int(y.Data[0])-want) > 1 {
						t.Errorf("caller %d frame %d got ts %d width %d Y %d, want ts %d width %d Y %d", g, i, o.Frame.Timestamp(), o.Frame.CodedWidth(), y.Data[0], g*1000+i, w, want)
					}
					o.Frame.Close()
				}
			}(g)
		}
		wg.Wait()
		p.Close()
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestCloseFreesEverything creates, uses and closes pipelines in a loop:
// every GL object they made must be gone, and no frame buffer leaked.
func TestCloseFreesEverything(t *testing.T) {
	base := testDevice.Objects()
	live := media.PoolStats().LiveVideoFrames
	for i := 0; i < 20; i++ {
		inv, _ := NewBuiltinPass("invert", "invert.frag", nil)
		p, err := NewPipeline(testDevice, Config{Readback: ReadbackMode(i % 2)}, identity(t), inv, &markPass{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []media.PixelFormat{media.I420, media.NV12, media.BGRA} {
			fr, _ := testFrame(t, f, 32+i, 18, media.ColorSpace{}, int64(i))
			var o Output
			if err := p.Process(context.Background(), fr, &o); err != nil {
				t.Fatal(err)
			}
			o.Frame.Close()
			fr.Close()
		}
		if i == 0 && len(testDevice.Objects()) == len(base) {
			t.Fatal("an open pipeline shows no GL objects: the count is not tracking")
		}
		p.Close()
		if err := p.Process(context.Background(), media.VideoFrame{}, &Output{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Process after Close: %v", err)
		}
	}
	after := testDevice.Objects()
	for k, v := range after {
		if v != base[k] {
			t.Errorf("%s objects: %d before, %d after closing every pipeline", k, base[k], v)
		}
	}
	if n := media.PoolStats().LiveVideoFrames; n != live {
		t.Errorf("live video frames %d, want %d", n, live)
	}
}

// TestNoGLError runs a child process with EGL pointed at no vendor: opening
// a device must fail with one error that lists what was tried, not panic.
func TestNoGLError(t *testing.T) {
	if os.Getenv("SHADERCAST_CHILD") == "nogl" {
		_, err := OpenDevice(DeviceOptions{})
		if err == nil {
			t.Fatal("OpenDevice succeeded with no EGL vendor")
		}
		if !errors.Is(err, ErrNoGL) {
			t.Fatalf("error does not match ErrNoGL: %v", err)
		}
		os.Stdout.WriteString("ERR=" + err.Error() + "\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoGLError$", "-test.v")
	cmd.Env = append(os.Environ(), "SHADERCAST_CHILD=nogl", "__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent.json", "__EGL_VENDOR_LIBRARY_DIRS=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "ERR=egl: no usable OpenGL") || !strings.Contains(s, "surfaceless") {
		t.Errorf("error should list the platforms tried:\n%s", s)
	}
	t.Logf("child reported: %s", s[strings.Index(s, "ERR="):])
}

// TestPerFrameUpdate: a pass's Update runs before each frame with that
// frame's info, and the built-in uTime and uFrame follow the frames.
func TestPerFrameUpdate(t *testing.T) {
	var seen []FrameInfo
	pass := NewShaderPass(ShaderPassSpec{Name: "levels", Source: `#version 330 core
uniform float uLevel;
uniform float uTime;
uniform int uFrame;
out vec4 fragColor;
void main() { fragColor = vec4(uLevel, uTime, float(uFrame) / 255.0, 1.0); }
`, Update: func(fi FrameInfo, u *Uniforms) {
		seen = append(seen, fi)
		if err := u.SetFloat("uLevel", float32(fi.Index*10)/255); err != nil {
			t.Error(err)
		}
	}})
	p := rgbaPipeline(t, pass)
	for i := 0; i < 3; i++ {
		fr, _ := media.NewVideoFrame([]byte{0, 0, 0, 255}, media.VideoFrameInit{Format: media.RGBA, CodedWidth: 1, CodedHeight: 1, Timestamp: int64(i) * 200000})
		got := processRGBA(t, p, fr)
		fr.Close()
		want := []byte{byte(10 * i), byte(math.Round(0.2 * float64(i) * 255)), byte(i), 255}
		for c := range want {
			if absInt(int(got[c])-int(want[c])) > 1 {
				t.Fatalf("frame %d: got %v, want %v", i, got, want)
			}
		}
	}
	if len(seen) != 3 || seen[2].Index != 2 || seen[2].Timestamp != 400000 || seen[2].Width != 1 {
		t.Errorf("Update saw %+v", seen)
	}
}

// TestDeviceOpenClose: devices opened and closed in a loop leave no
// goroutine behind, and a closed device refuses work.
func TestDeviceOpenClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		d, err := OpenDevice(DeviceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPipeline(d, Config{}, identity(t))
		if err != nil {
			t.Fatal(err)
		}
		fr, _ := testFrame(t, media.I420, 16, 16, media.ColorSpace{}, 1)
		var o Output
		if err := p.Process(context.Background(), fr, &o); err != nil {
			t.Fatal(err)
		}
		o.Frame.Close()
		d.Close()
		if err := p.Process(context.Background(), fr, &o); !errors.Is(err, ErrClosed) {
			t.Errorf("Process on a closed device: %v", err)
		}
		if _, err := NewPipeline(d, Config{}); !errors.Is(err, ErrClosed) {
			t.Errorf("NewPipeline on a closed device: %v", err)
		}
		p.Close()
		fr.Close()
	}
	for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines before, %d after", before, n)
	}
}

// TestPreludeErrorsNameTheirFile: an error in code the compositor prepends
// (here a define that breaks yuv.glsl) names yuv.glsl, and errors in the
// pass itself keep the pass's file and line.
func TestPreludeErrorsNameTheirFile(t *testing.T) {
	compile := func(pass, prelude string) []CompileMessage {
		t.Helper()
		err := testDevice.call(func() error {
			src := withPrelude(ShaderSource{file: "pass.frag", text: pass}, "yuv.glsl", prelude)
			_, err := testDevice.newProgram(fullscreenVert(), src)
			return err
		})
		var ce *CompileError
		if !errors.As(err, &ce) || len(ce.Messages) == 0 {
			t.Fatalf("compile error expected, got %v", err)
		}
		return ce.Messages
	}
	good := "#version 330 core\nout vec4 fragColor;\nvoid main() {\n\tfragColor = vec4(1.0);\n}\n"
	bad := "#version 330 core\nout vec4 fragColor;\nvoid main() {\n\tfragColor = vec4(undefined_name);\n}\n"
	if m := compile(good, "\nfloat broken() { return undefined_name; }")[0]; m.File != "yuv.glsl" || m.Line != 2 {
		t.Errorf("prelude error reported as %v, want yuv.glsl:2", m)
	}
	if m := compile(bad, "float fine() { return 1.0; }")[0]; m.File != "pass.frag" || m.Line != 4 {
		t.Errorf("pass error reported as %v, want pass.frag:4", m)
	}
}

// TestFusableRules: only a single read in main's own body is fused.
func TestFusableRules(t *testing.T) {
	head := "#version 330 core\nuniform sampler2D uInput;\nuniform ivec2 uInputSize;\nout vec4 fragColor;\n"
	cases := []struct {
		body string
		want bool
	}{
		{"void main() { fragColor = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0); }", true},
		{"void main() { ivec2 s = textureSize(uInput, 0); fragColor = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0); }", false},
		{"vec4 at(ivec2 p) { return texelFetch(uInput, p, 0); }\nvoid main() { fragColor = at(ivec2(gl_FragCoord.xy)) + at(ivec2(0)); }", false},
		{"void main() { vec4 c = vec4(0); for (int i = 0; i < 3; i++) c += texelFetch(uInput, ivec2(i), 0); fragColor = c; }", false},
		{"void main() { fragColor = texelFetch(uInput, ivec2(0), 0) + texelFetch(uInput, ivec2(1), 0); }", false},
		{"// texelFetch(uInput, p, 0) in a comment\nvoid main() { fragColor = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0) * float(uInputSize.x); }", true},
	}
	for i, c := range cases {
		if got := fusable(head + c.body); got != c.want {
			t.Errorf("case %d: fusable = %v, want %v", i, got, c.want)
		}
	}
}

// TestCloseDeviceWhileProcessing: closing a device under busy callers ends
// every call (a result or ErrClosed) instead of hanging.
func TestCloseDeviceWhileProcessing(t *testing.T) {
	d, err := OpenDevice(DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(d, Config{}, identity(t))
	if err != nil {
		t.Fatal(err)
	}
	fr, _ := testFrame(t, media.I420, 64, 48, media.ColorSpace{}, 1)
	defer fr.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var o Output
				err := p.Process(context.Background(), fr, &o)
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Process: %v", err)
					}
					return
				}
				o.Frame.Close()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	closed := make(chan struct{})
	go func() { d.Close(); wg.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Device.Close with callers in flight did not finish")
	}
}

// TestReentrantCalls: a pass's Update may query its pipeline; Process from
// the GL thread is refused instead of deadlocking; replacing a pass with
// itself is a no-op.
func TestReentrantCalls(t *testing.T) {
	var p *Pipeline
	var statsErr, processErr error
	pass := NewShaderPass(ShaderPassSpec{Name: "probe", Source: shaders.MustSource("identity.frag"), Update: func(FrameInfo, *Uniforms) {
		_ = p.Stats()
		processErr = p.Process(context.Background(), media.VideoFrame{}, &Output{})
		if got := p.Passes(); len(got) != 1 {
			statsErr = fmt.Errorf("Passes() from Update: %v", got)
		}
	}})
	p = rgbaPipeline(t, pass)
	fr, _ := media.NewVideoFrame([]byte{1, 2, 3, 255}, media.VideoFrameInit{Format: media.RGBA, CodedWidth: 1, CodedHeight: 1})
	defer fr.Close()
	done := make(chan []byte)
	go func() { done <- processRGBA(t, p, fr) }()
	select {
	case got := <-done:
		if got[0] != 1 {
			t.Errorf("output %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pipeline calls from Update deadlocked")
	}
	if statsErr != nil {
		t.Error(statsErr)
	}
	if processErr == nil {
		t.Error("Process from the GL thread succeeded")
	}
	if err := p.ReplacePass(pass); err != nil {
		t.Errorf("replacing a pass with itself: %v", err)
	}
	processRGBA(t, p, fr)
	other := rgbaPipeline(t)
	if err := other.AddPass(pass); err == nil {
		t.Error("a pass joined a second pipeline")
	}
}

// TestUniformInfoISFNames: plain shader passes report their uniforms
// with ISF's type names, like ISF passes.
func TestUniformInfoISFNames(t *testing.T) {
	sp := NewShaderPass(ShaderPassSpec{Name: "typed", Source: `#version 330 core
uniform sampler2D uInput;
uniform int uCount;
uniform vec2 uPoint;
uniform vec4 uColor;
uniform float uAmount;
uniform bool uOn;
out vec4 fragColor;
void main() {
	vec4 c = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0);
	fragColor = uOn ? c * uColor * uAmount + vec4(uPoint, float(uCount), 0.0) : c;
}
`})
	p := rgbaPipeline(t, sp)
	want := map[string]string{"uCount": "long", "uPoint": "point2D", "uColor": "color", "uAmount": "float", "uOn": "bool"}
	passes := p.Passes()
	for _, u := range passes[0].Uniforms {
		if want[u.Name] != u.Type {
			t.Errorf("%s reported as %q, want %q", u.Name, u.Type, want[u.Name])
		}
	}
	if len(passes[0].Uniforms) != len(want) {
		t.Errorf("uniforms %+v", passes[0].Uniforms)
	}
}

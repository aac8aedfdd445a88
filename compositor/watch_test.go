package compositor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
)

// stubPass is a pass whose render fails or blocks on demand, changing
// nothing otherwise: what a broken or endless shader looks like to the
// chain, without depending on a driver's speed.
type stubPass struct {
	name    string
	fail    atomic.Bool
	block   chan struct{} // render waits for it to close when set
	entered chan struct{} // closed when a blocking render started
	renders atomic.Int32
}

func (s *stubPass) Name() string          { return s.name }
func (s *stubPass) Setup(d *Device) error { return nil }
func (s *stubPass) Release(d *Device)     {}
func (s *stubPass) Uniforms() []UniformInfo {
	return []UniformInfo{{Name: "x", Type: "float", Value: float32(0)}}
}
func (s *stubPass) SetUniform(name string, v any) error { return nil }
func (s *stubPass) Render(f *Frame, src, dst *Target) (*Target, error) {
	s.renders.Add(1)
	if s.block != nil {
		close(s.entered)
		<-s.block
		s.block = nil
	}
	if s.fail.Load() {
		return nil, errors.New("stub: broken on purpose")
	}
	return src, nil
}

// passErrors collects OnPassError reports.
type passErrors struct {
	mu   sync.Mutex
	list []PassError
}

func (c *passErrors) add(e PassError) {
	c.mu.Lock()
	c.list = append(c.list, e)
	c.mu.Unlock()
}

func (c *passErrors) get() []PassError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]PassError(nil), c.list...)
}

func invertPass(t *testing.T) Pass {
	t.Helper()
	p, err := NewBuiltinPass("invert", "invert.frag", map[string]any{"uAmount": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// i420At converts pixel (x, y) of an I420 output (BT.709 limited) to RGB.
func i420At(t *testing.T, f media.VideoFrame, x, y int) (uint8, uint8, uint8) {
	t.Helper()
	py, _ := f.Plane(0)
	pu, _ := f.Plane(1)
	pv, _ := f.Plane(2)
	Y := (float64(py.Data[y*py.Stride+x]) - 16) / 219
	U := (float64(pu.Data[(y/2)*pu.Stride+x/2]) - 128) / 224
	V := (float64(pv.Data[(y/2)*pv.Stride+x/2]) - 128) / 224
	c := func(v float64) uint8 { return uint8(max(0, min(255, math.Round(v*255)))) }
	return c(Y + 1.5748*V), c(Y - 0.1873*U - 0.4681*V), c(Y + 1.8556*U)
}

// TestFailingPassBypassed: a pass that fails on a frame is skipped, the
// rest of the chain still runs and the frame comes out; the failure is
// reported once (callback, PassInfo, Stats), not per frame, and the pass
// is used again once it changes.
func TestFailingPassBypassed(t *testing.T) {
	t.Run("software", failingPassBypassed)
	t.Run("gpu-path", func(t *testing.T) { gpuPath(t); failingPassBypassed(t) })
}

func failingPassBypassed(t *testing.T) {
	stub := &stubPass{name: "stub"}
	var errs passErrors
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, OnPassError: errs.add}, stub, invertPass(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fr := gltest.SolidFrame(t, 8, 8, [4]byte{200, 40, 10, 255})
	if got := processRGBA(t, p, fr); !gltest.NearRGB(got, [3]int{55, 215, 245}, 2) {
		t.Fatalf("healthy chain: %v", got[:4])
	}
	stub.fail.Store(true)
	for i := 0; i < 5; i++ {
		got := processRGBA(t, p, fr) // no error: the frame is produced
		if !gltest.NearRGB(got, [3]int{55, 215, 245}, 2) {
			t.Fatalf("frame %d with the pass failing: %v, want the invert after it applied", i, got[:4])
		}
	}
	if n := stub.renders.Load(); n != 2 {
		t.Errorf("the failed pass rendered %d times; it should be held out after its first failure", n)
	}
	if e := errs.get(); len(e) != 1 || e[0].Pass != "stub" || e[0].Overrun || !strings.Contains(e[0].Err.Error(), "broken on purpose") {
		t.Errorf("OnPassError reports: %+v", e)
	}
	info := p.Passes()[0]
	if !info.Enabled || !strings.Contains(info.Error, "broken on purpose") || !strings.Contains(info.Error, "bypassed") {
		t.Errorf("PassInfo: enabled %v, error %q", info.Enabled, info.Error)
	}
	st := p.Stats()
	if st.PassFailures != 1 || st.Errors != 0 || st.Passes[0].Error == "" {
		t.Errorf("stats: %d pass failures, %d frame errors, pass error %q", st.PassFailures, st.Errors, st.Passes[0].Error)
	}
	// Setting an input is a change: the pass gets another try (and
	// fails again, once more reported).
	if err := p.SetUniform("stub", "x", 1.0); err != nil {
		t.Fatal(err)
	}
	if p.Passes()[0].Error != "" {
		t.Error("error not cleared by a new input value")
	}
	processRGBA(t, p, fr)
	processRGBA(t, p, fr)
	if n := stub.renders.Load(); n != 3 {
		t.Errorf("after an input change the pass rendered %d times in all, want 3", n)
	}
	if n := len(errs.get()); n != 2 {
		t.Errorf("%d reports, want 2", n)
	}
	// Fixed, and enabled again: back in the chain.
	stub.fail.Store(false)
	if err := p.SetEnabled("stub", true); err != nil {
		t.Fatal(err)
	}
	processRGBA(t, p, fr)
	processRGBA(t, p, fr)
	if n := stub.renders.Load(); n != 5 || p.Passes()[0].Error != "" {
		t.Errorf("re-enabled pass rendered %d times in all (want 5), error %q", n, p.Passes()[0].Error)
	}
}

// TestReadersDoNotWaitForGLThread: while a frame is stuck in a pass,
// Passes, Stats and Activity answer at once, a control call fails with
// ErrBusy naming the pass instead of blocking, and once the frame returns
// the pass it overran in is disabled and reported.
func TestReadersDoNotWaitForGLThread(t *testing.T) {
	stub := &stubPass{name: "stall", block: make(chan struct{}), entered: make(chan struct{})}
	var errs passErrors
	p, err := NewPipeline(testDevice, Config{Output: OutputRGBA, ControlTimeout: 200 * time.Millisecond,
		FrameDeadline: 100 * time.Millisecond, OnPassError: errs.add}, invertPass(t), stub)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fr := gltest.SolidFrame(t, 8, 8, [4]byte{200, 40, 10, 255})
	done := make(chan []byte)
	go func() {
		var o Output
		if err := p.Process(context.Background(), fr, &o); err != nil {
			t.Error(err)
			done <- nil
			return
		}
		b, _ := o.Frame.Plane(0)
		done <- append([]byte(nil), b.Data[:4]...)
		o.Frame.Close()
	}()
	<-stub.entered
	time.Sleep(150 * time.Millisecond)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		if n := len(p.Passes()); n != 2 {
			t.Errorf("Passes: %d", n)
		}
		if st := p.Stats(); len(st.Passes) != 2 || st.Passes[1].Name != "stall" {
			t.Errorf("Stats: %+v", st.Passes)
		}
		a := p.Activity()
		if !a.Busy || !a.Frame || a.Pass != "stall" || a.For() < 100*time.Millisecond {
			t.Errorf("Activity: %+v", a)
		}
	}()
	select {
	case <-answered:
	case <-time.After(2 * time.Second):
		t.Fatal("Passes/Stats/Activity waited for the stuck GL thread")
	}
	t0 := time.Now()
	err = p.SetUniform("invert", "uAmount", 0.5)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "a frame has been rendering for") || !strings.Contains(err.Error(), `pass "stall"`) {
		t.Errorf("SetUniform on a stuck GL thread: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("SetUniform took %v with a 200ms control timeout", d)
	}
	close(stub.block)
	got := <-done
	if got == nil || !gltest.NearRGB(got, [3]int{55, 215, 245}, 2) {
		t.Errorf("the overrun frame: %v", got)
	}
	// The refused change was not made late.
	if u := p.Passes()[0].Uniforms; len(u) != 1 || fmt.Sprint(u[0].Value) != "1" {
		t.Errorf("invert's uniforms after the refused change: %+v", u)
	}
	info := p.Passes()[1]
	if info.Enabled || !strings.Contains(info.Error, "frame deadline") {
		t.Errorf("after the overrun the pass is %+v", info)
	}
	if e := errs.get(); len(e) != 1 || !e[0].Overrun || e[0].Pass != "stall" {
		t.Errorf("reports: %+v", e)
	}
	if st := p.Stats(); st.Overruns != 1 {
		t.Errorf("stats overruns %d", st.Overruns)
	}
	n := stub.renders.Load()
	processRGBA(t, p, fr)
	if stub.renders.Load() != n {
		t.Error("the disabled pass still renders")
	}
	// Process returns as soon as its frame is read back; the thread may
	// still be finishing that task (its idle work) for a moment.
	idleBy := time.Now().Add(2 * time.Second)
	for p.Activity().Busy && time.Now().Before(idleBy) {
		time.Sleep(time.Millisecond)
	}
	if a := p.Activity(); a.Busy {
		t.Errorf("idle thread reported %+v", a)
	}
	if err := p.SetEnabled("stall", true); err != nil {
		t.Fatal(err)
	}
	processRGBA(t, p, fr)
	if stub.renders.Load() != n+1 || p.Passes()[1].Error != "" {
		t.Error("enabling the pass again did not bring it back")
	}
}

// TestLoopingShaderOverrun: a real shader whose loop count is a uniform:
// raised until one frame overruns the deadline (however fast the
// renderer), the pass is named by Activity while the GPU works on it and
// disabled once the frame returns.
func TestLoopingShaderOverrun(t *testing.T) {
	t.Run("software", func(t *testing.T) { loopingShaderOverrun(t, Config{Output: OutputRGBA}, true) })
	// What a GPU does: fences after each pass, waited for in order where
	// the frame is read back (here asynchronously, frames overlapping).
	// llvmpipe blocks in the readback's issue already, where a GPU does
	// not, so the looping pass goes last here: the pass last issued is
	// the one blamed for a block outside the fence waits.
	t.Run("gpu-path", func(t *testing.T) {
		gpuPath(t)
		loopingShaderOverrun(t, Config{}, false)
		if n := testDevice.Objects()["sync"]; n != 0 {
			t.Errorf("%d fences left behind", n)
		}
	})
}

// gpuPath makes the test device take its GPU code paths (per-pass fences,
// upload buffers) on llvmpipe, for pipelines made until the test ends.
func gpuPath(t *testing.T) {
	prev := testDevice.info.Software
	testDevice.call(func() error { testDevice.info.Software = false; return nil })
	t.Cleanup(func() { testDevice.call(func() error { testDevice.info.Software = prev; return nil }) })
}

func loopingShaderOverrun(t *testing.T, cfg Config, loopFirst bool) {
	loop := NewShaderPass(ShaderPassSpec{Name: "loop", Source: `#version 330 core
uniform sampler2D uInput;
uniform int uN;
out vec4 fragColor;
void main() {
	vec4 c = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0);
	float a = 0.0;
	for (int i = 0; i < uN; i++) {
		for (int j = 0; j < 1000; j++) {
			a += sin(a + float(j) + c.r);
		}
	}
	fragColor = vec4(c.rgb + a * 1e-30, 1.0);
}
`})
	const deadline = 250 * time.Millisecond
	var errs passErrors
	cfg.FrameDeadline, cfg.OnPassError = deadline, errs.add
	chain := []Pass{loop, invertPass(t)}
	if !loopFirst {
		chain = []Pass{chain[1], loop}
	}
	p, err := NewPipeline(testDevice, cfg, chain...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	li := map[bool]int{true: 0, false: 1}[loopFirst]
	fr := gltest.SolidFrame(t, 128, 128, [4]byte{200, 40, 10, 255})
	process := func() []byte {
		t.Helper()
		if cfg.Output == OutputRGBA {
			return processRGBA(t, p, fr)
		}
		var o Output
		if err := p.Process(context.Background(), fr, &o); err != nil {
			t.Fatal(err)
		}
		defer o.Frame.Close()
		r, g, b := i420At(t, o.Frame, 64, 64)
		return []byte{r, g, b, 255}
	}
	process()
	var sawPass atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if a := p.Activity(); a.Busy && a.Frame && a.Pass == "loop" && a.For() > deadline/2 {
				sawPass.Store(true)
			}
		}
	}()
	for n := 1; len(errs.get()) == 0; n *= 2 {
		if n > 1<<24 {
			t.Fatal("no frame overran the deadline")
		}
		if err := p.SetUniform("loop", "uN", n); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		process()
		t.Logf("uN=%d: %v", n, time.Since(t0))
	}
	close(stop)
	<-watched
	if !sawPass.Load() {
		t.Error("Activity never named the looping pass while the frame overran")
	}
	e := errs.get()
	if len(e) != 1 || e[0].Pass != "loop" || !e[0].Overrun {
		t.Fatalf("reports: %+v", e)
	}
	if info := p.Passes()[li]; info.Enabled || info.Error == "" {
		t.Errorf("loop pass after the overrun: %+v", info)
	}
	// The chain goes on without it.
	t0 := time.Now()
	if got := process(); !gltest.NearRGB(got, [3]int{55, 215, 245}, 2) {
		t.Errorf("frame after the overrun: %v", got[:4])
	}
	t.Logf("frame without the loop: %v", time.Since(t0))
	p.Close()
}

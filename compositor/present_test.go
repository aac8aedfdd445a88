package compositor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"testing"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/internal/egl"
	"github.com/shadercast/shadercast/internal/gltest"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
)

// vandal is a presenter that copies each frame into its own texture (as a
// window would) and leaves every piece of GL state it can reach changed, so
// that the pipeline's restore is what keeps the output right.
type vandal struct {
	dev    *Device
	copy   Target
	got    []byte // RGBA of the last frame presented, top row first
	frames []PresentFrame
}

func (v *vandal) Present(f PresentFrame) {
	v.frames = append(v.frames, f)
	if v.copy.tex.w != f.Width || v.copy.tex.h != f.Height {
		v.dev.deleteTarget(&v.copy)
		v.copy, _ = v.dev.newTarget(f.Width, f.Height, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
	}
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, f.Framebuffer)
	gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, v.copy.fbo)
	gl.BlitFramebuffer(0, 0, int32(f.Width), int32(f.Height), 0, 0, int32(f.Width), int32(f.Height), gl.COLOR_BUFFER_BIT, gl.NEAREST)
	v.got = make([]byte, 4*f.Width*f.Height)
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, v.copy.fbo)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 4)
	gl.PixelStorei(gl.PACK_ROW_LENGTH, 0)
	gl.ReadPixels(0, 0, int32(f.Width), int32(f.Height), gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&v.got[0]))

	// Leave a mess behind.
	gl.UseProgram(0)
	gl.BindVertexArray(0)
	gl.Viewport(3, 5, 7, 11)
	gl.Enable(gl.BLEND)
	gl.BlendFunc(gl.ONE, gl.ONE)
	gl.Enable(gl.SCISSOR_TEST)
	gl.Scissor(1, 1, 2, 2)
	gl.Enable(gl.CULL_FACE)
	gl.CullFace(gl.FRONT_AND_BACK)
	gl.ColorMask(true, false, true, false)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 8)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 8)
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, 3)
	gl.ActiveTexture(gl.TEXTURE5)
	gl.BindTexture(gl.TEXTURE_2D, v.copy.tex.id)
	gl.BindFramebuffer(gl.FRAMEBUFFER, v.copy.fbo)
	gl.ClearColor(1, 0, 1, 1)
	gl.GetError()
	gl.BindTexture(gl.TEXTURE_2D, 0xdead) // an error the frame must not inherit
}

// TestPresenterKeepsOutput: with a presenter attached (one that wrecks the
// GL state) the output bytes and results equal those without it, for both
// output formats (a pass that draws in place, markPass, included); the
// presenter sees the same RGBA the RGBA output reads back.
func TestPresenterKeepsOutput(t *testing.T) {
	const w, h = 640, 360
	pat, err := testsrc.New(w, h, 30)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	frame := func(i int) media.VideoFrame {
		pat.Render(i, img)
		fr, err := media.NewVideoFrame(img.Pix, media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h, Timestamp: int64(i) * 33333})
		if err != nil {
			t.Fatal(err)
		}
		return fr
	}
	type result struct {
		planes [][]byte
		dets   string
	}
	run := func(cfg Config, pr Presenter, n int) []result {
		inv, _ := NewBuiltinPass("invert", "invert.frag", map[string]any{"uAmount": 0.25})
		p, err := NewPipeline(testDevice, cfg, &markPass{}, inv)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.SetPresenter(pr); err != nil {
			t.Fatal(err)
		}
		var out []result
		for i := 0; i < n; i++ {
			fr := frame(i * 7)
			var o Output
			if err := p.Process(context.Background(), fr, &o); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			fr.Close()
			var r result
			nplanes := 1
			if o.Frame.Format() == media.I420 {
				nplanes = 3
			}
			for pl := 0; pl < nplanes; pl++ {
				r.planes = append(r.planes, bytes.Clone(gltest.PlaneBytes(t, o.Frame, pl)))
			}
			for _, res := range o.Results {
				r.dets += fmt.Sprintf("%+v;", *res.(*markResult))
			}
			o.Frame.Close()
			out = append(out, r)
		}
		return out
	}
	base := testDevice.Objects()
	for _, cfg := range []Config{{Output: OutputRGBA}, {Output: OutputI420}, {Output: OutputI420, Readback: ReadbackSync}} {
		const n = 4
		want := run(cfg, nil, n)
		v := &vandal{dev: testDevice}
		got := run(cfg, v, n)
		if want[0].dets == "" {
			t.Fatal("the mark pass reported nothing: the comparison would not cover its readback and its drawing in place")
		}
		for i := range want {
			if got[i].dets != want[i].dets {
				t.Errorf("output %d frame %d: detections %q with a presenter, %q without", cfg.Output, i, got[i].dets, want[i].dets)
			}
			for pl := range want[i].planes {
				if !bytes.Equal(got[i].planes[pl], want[i].planes[pl]) {
					t.Errorf("output %d readback %d frame %d plane %d differs with a presenter attached", cfg.Output, cfg.Readback, i, pl)
				}
			}
		}
		if len(v.frames) != n {
			t.Fatalf("presenter saw %d frames, want %d", len(v.frames), n)
		}
		last := v.frames[n-1]
		if last.Width != w || last.Height != h || last.Index != n-1 || last.Timestamp != int64(n-1)*7*33333 {
			t.Errorf("last PresentFrame %+v", last)
		}
		if cfg.Output == OutputRGBA && !bytes.Equal(v.got, want[n-1].planes[0]) {
			t.Error("the presenter's copy of the result differs from the RGBA output")
		}
		if err := testDevice.call(func() error { testDevice.deleteTarget(&v.copy); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for k, n := range testDevice.Objects() {
		if n != base[k] {
			t.Errorf("%s objects: %d before, %d after", k, base[k], n)
		}
	}
}

// TestSetPresenterNil: removing the presenter stops the calls.
func TestSetPresenterNil(t *testing.T) {
	p := rgbaPipeline(t, identity(t))
	v := &vandal{dev: testDevice}
	defer testDevice.call(func() error { testDevice.deleteTarget(&v.copy); return nil })
	fr, _ := testFrame(t, media.RGBA, 8, 8, media.ColorSpace{}, 1)
	defer fr.Close()
	p.SetPresenter(v)
	processRGBA(t, p, fr)
	p.SetPresenter(nil)
	processRGBA(t, p, fr)
	if len(v.frames) != 1 {
		t.Errorf("presenter called %d times, want 1", len(v.frames))
	}
}

// TestPresentSwizzledInput: with no pass, the result is the input texture;
// for BGRA and X formats it reads right only through its swizzle, which a
// framebuffer blit skips. The presenter must still see the output's pixels.
func TestPresentSwizzledInput(t *testing.T) {
	for _, f := range []media.PixelFormat{media.BGRA, media.BGRX, media.RGBX, media.RGBA, media.I420} {
		for _, out := range []OutputFormat{OutputRGBA, OutputI420} {
			p, err := NewPipeline(testDevice, Config{Output: out})
			if err != nil {
				t.Fatal(err)
			}
			fr, _ := testFrame(t, f, 21, 13, media.ColorSpace{}, 5)
			var want [][]byte
			for _, pr := range []bool{false, true} {
				v := &vandal{dev: testDevice}
				if pr {
					p.SetPresenter(v)
				}
				var o Output
				if err := p.Process(context.Background(), fr, &o); err != nil {
					t.Fatalf("%v input, output %d, presenter %v: %v", f, out, pr, err)
				}
				n := 1
				if out == OutputI420 {
					n = 3
				}
				for i := 0; i < n; i++ {
					b := bytes.Clone(gltest.PlaneBytes(t, o.Frame, i))
					if !pr {
						want = append(want, b)
					} else if !bytes.Equal(b, want[i]) {
						t.Errorf("%v input, output %d: plane %d changed with a presenter", f, out, i)
					}
				}
				if pr && out == OutputRGBA && !bytes.Equal(v.got, want[0]) {
					t.Errorf("%v input: the presenter's copy differs from the RGBA output", f)
				}
				o.Frame.Close()
				testDevice.call(func() error { testDevice.deleteTarget(&v.copy); return nil })
			}
			fr.Close()
			p.Close()
		}
	}
}

// countingContext is a context from outside the compositor (here EGL
// again, as a window system would give one).
type countingContext struct {
	c         *egl.Context
	destroyed int
	platform  bool
}

func (c *countingContext) ProcAddress(name string) unsafe.Pointer { return egl.ProcAddress(name) }
func (c *countingContext) Destroy()                               { c.destroyed++; c.c.Destroy() }

type namedContext struct{ *countingContext }

func (namedContext) Platform() string { return "test-window" }

// TestNewContext: a device on a context from a factory renders, reports
// the factory's platform, and destroys the context on Close; a failing
// factory's error comes back from OpenDevice.
func TestNewContext(t *testing.T) {
	for _, named := range []bool{true, false} {
		cc := &countingContext{}
		d, err := OpenDevice(DeviceOptions{NewContext: func() (GLContext, error) {
			c, err := egl.Open(egl.Options{})
			if err != nil {
				return nil, err
			}
			cc.c = c
			if named {
				return namedContext{cc}, nil
			}
			return cc, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		want := "external"
		if named {
			want = "test-window"
		}
		if got := d.Info().Platform; got != want {
			t.Errorf("platform %q, want %q", got, want)
		}
		p, err := NewPipeline(d, Config{Output: OutputRGBA}, identity(t))
		if err != nil {
			t.Fatal(err)
		}
		fr, planes := testFrame(t, media.RGBA, 9, 5, media.ColorSpace{}, 3)
		got := processRGBA(t, p, fr)
		fr.Close()
		if !bytes.Equal(got, planes[0]) {
			t.Error("identity through a factory's context changed the pixels")
		}
		p.Close()
		d.Close()
		if cc.destroyed != 1 {
			t.Errorf("context destroyed %d times, want 1", cc.destroyed)
		}
	}
	boom := errors.New("no window today")
	_, err := OpenDevice(DeviceOptions{NewContext: func() (GLContext, error) { return nil, boom }})
	if !errors.Is(err, boom) {
		t.Errorf("OpenDevice with a failing factory: %v", err)
	}
}

package barcodetest_test

import (
	"fmt"
	"image"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/internal/barcodetest"
	"github.com/shadercast/shadercast/internal/egl"
	"github.com/shadercast/shadercast/shaders"
)

// TestShadersMatchReference runs shaders/barcode_*.frag on the EGL context
// (llvmpipe in CI) and compares the read-back mask with
// barcode.ReferenceMask byte by byte.
func TestShadersMatchReference(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx, err := egl.Open(egl.Options{})
	if err != nil {
		t.Fatalf("barcode shader test needs OpenGL 3.3 through EGL (Mesa llvmpipe works: run scripts/install-deps): %v", err)
	}
	defer ctx.Destroy()
	if err := gl.InitWithProcAddrFunc(egl.ProcAddress); err != nil {
		t.Fatal(err)
	}
	t.Logf("GL: %s | %s", gl.GoStr(gl.GetString(gl.RENDERER)), gl.GoStr(gl.GetString(gl.VERSION)))
	var vao uint32
	gl.GenVertexArrays(1, &vao)
	gl.BindVertexArray(vao)
	defer gl.DeleteVertexArrays(1, &vao)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)

	progs := map[string]uint32{}
	for _, name := range []string{"barcode_tensor.frag", "barcode_boxh.frag", "barcode_classify.frag"} {
		p, err := program(name)
		if err != nil {
			t.Fatal(err)
		}
		defer gl.DeleteProgram(p)
		progs[name] = p
	}

	p := barcode.DefaultParams()
	var imgs []*image.RGBA
	var names []string
	// A few photos of different sizes (incl. s > 1) and a synthetic code
	// so that the test also covers non-multiple-of-s sizes.
	dir := barcodetest.DataDir(t)
	for _, n := range []string{"qrcode-2/6.png", "ean13-2/14.png", "pdf417-2/01.png", "code39-1/4.png", "falsepositives-2/05.png"} {
		img, err := barcodetest.LoadRGBA(dir + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		names = append(names, n)
	}
	// Synthetic frame of odd size with s = 4 (not a multiple of s).
	code, err := barcode.Encode("qr_code", "shadercast", 300, 300)
	if err != nil {
		t.Fatal(err)
	}
	syn := image.NewRGBA(image.Rect(0, 0, 1931, 1003))
	for y := 0; y < 1003; y++ {
		for x := 0; x < 1931; x++ {
			v := byte(96 + (x*7+y*3)%64)
			if x >= 800 && y >= 300 && x < 800+code.Rect.Dx() && y < 300+code.Rect.Dy() {
				v = code.Pix[(y-300)*code.Stride+x-800]
			}
			i := syn.PixOffset(x, y)
			syn.Pix[i], syn.Pix[i+1], syn.Pix[i+2], syn.Pix[i+3] = v, v/2, 255-v, 255
		}
	}
	imgs = append(imgs, syn)
	names = append(names, "synthetic 1931x1003")
	for i, img := range imgs {
		var ref barcode.Mask
		barcode.ReferenceMask(img, p, &ref)
		got := runGPU(t, progs, img, p)
		if len(got) != len(ref.Pix) {
			t.Fatalf("%s: got %d bytes, want %d", names[i], len(got), len(ref.Pix))
		}
		var maxd [4]int
		var off [4]int
		for j := range got {
			d := int(got[j]) - int(ref.Pix[j])
			if d < 0 {
				d = -d
			}
			c := j % 4
			if c == 2 && d > 128 {
				d = 256 - d // the angle byte wraps at 90°
			}
			maxd[c] = max(maxd[c], d)
			if d > 1 {
				off[c]++
			}
		}
		n := len(got) / 4
		t.Logf("%-24s %dx%d s=%d: max |diff| R%d G%d B%d A%d; >1 off: %.3f%% %.3f%% %.3f%% %.3f%%", names[i],
			ref.Width, ref.Height, ref.Scale, maxd[0], maxd[1], maxd[2], maxd[3],
			100*float64(off[0])/float64(n), 100*float64(off[1])/float64(n), 100*float64(off[2])/float64(n), 100*float64(off[3])/float64(n))
		// Float rounding differs (FMA, atan precision), so allow off-by-one
		// everywhere and a few larger differences where a ratio is
		// ill-conditioned (almost flat areas) or the angle is ambiguous.
		for c := 0; c < 4; c++ {
			if float64(off[c]) > 0.005*float64(n) {
				t.Errorf("%s: channel %d differs by more than 1 in %d of %d pixels", names[i], c, off[c], n)
			}
		}
	}
}

func runGPU(t *testing.T, progs map[string]uint32, img *image.RGBA, p barcode.Params) []byte {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	w, h, s := barcode.MaskSize(W, H, p)
	in := newTex(W, H, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&img.Pix[0]))
	defer gl.DeleteTextures(1, &in)
	t1, f1 := newTarget(w, 2*h, gl.RGBA32F, gl.RGBA, gl.FLOAT)
	defer del(t1, f1)
	t2, f2 := newTarget(w, 2*h, gl.RGBA32F, gl.RGBA, gl.FLOAT)
	defer del(t2, f2)
	t3, f3 := newTarget(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
	defer del(t3, f3)

	draw := func(prog, src, fbo uint32, inW, inH, outW, outH int, set func()) {
		gl.UseProgram(prog)
		gl.Uniform1i(loc(prog, "uInput"), 0)
		gl.Uniform2i(loc(prog, "uInputSize"), int32(inW), int32(inH))
		set()
		gl.BindFramebuffer(gl.FRAMEBUFFER, fbo)
		gl.Viewport(0, 0, int32(outW), int32(outH))
		gl.ActiveTexture(gl.TEXTURE0)
		gl.BindTexture(gl.TEXTURE_2D, src)
		gl.DrawArrays(gl.TRIANGLES, 0, 3)
	}
	pt := progs["barcode_tensor.frag"]
	draw(pt, in, f1, W, H, w, 2*h, func() { gl.Uniform1i(loc(pt, "uScale"), int32(s)) })
	pb := progs["barcode_boxh.frag"]
	draw(pb, t1, f2, w, 2*h, w, 2*h, func() { gl.Uniform1i(loc(pb, "uRadius"), int32(p.WindowRadius)) })
	pc := progs["barcode_classify.frag"]
	draw(pc, t2, f3, w, 2*h, w, h, func() {
		gl.Uniform1i(loc(pc, "uRadius"), int32(p.WindowRadius))
		gl.Uniform1f(loc(pc, "uEnergyGain"), p.EnergyGain)
	})
	out := make([]byte, 4*w*h)
	gl.ReadPixels(0, 0, int32(w), int32(h), gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&out[0]))
	if e := gl.GetError(); e != gl.NO_ERROR {
		t.Fatalf("GL error 0x%x", e)
	}
	return out
}

func loc(prog uint32, name string) int32 { return gl.GetUniformLocation(prog, gl.Str(name+"\x00")) }

func newTex(w, h int, internal int32, format, typ uint32, data unsafe.Pointer) uint32 {
	var id uint32
	gl.GenTextures(1, &id)
	gl.BindTexture(gl.TEXTURE_2D, id)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAX_LEVEL, 0)
	gl.TexImage2D(gl.TEXTURE_2D, 0, internal, int32(w), int32(h), 0, format, typ, data)
	return id
}

func newTarget(w, h int, internal int32, format, typ uint32) (tex, fbo uint32) {
	tex = newTex(w, h, internal, format, typ, nil)
	gl.GenFramebuffers(1, &fbo)
	gl.BindFramebuffer(gl.FRAMEBUFFER, fbo)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0)
	return tex, fbo
}

func del(tex, fbo uint32) {
	gl.DeleteFramebuffers(1, &fbo)
	gl.DeleteTextures(1, &tex)
}

func program(frag string) (uint32, error) {
	vs, err := compile(gl.VERTEX_SHADER, "fullscreen.vert")
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(vs)
	fs, err := compile(gl.FRAGMENT_SHADER, frag)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(fs)
	p := gl.CreateProgram()
	gl.AttachShader(p, vs)
	gl.AttachShader(p, fs)
	gl.LinkProgram(p)
	var ok int32
	gl.GetProgramiv(p, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		return 0, fmt.Errorf("link %s: %s", frag, infoLog(p, true))
	}
	return p, nil
}

func compile(kind uint32, file string) (uint32, error) {
	src, err := shaders.Source(file)
	if err != nil {
		return 0, err
	}
	sh := gl.CreateShader(kind)
	cs, free := gl.Strs(src + "\x00")
	gl.ShaderSource(sh, 1, cs, nil)
	free()
	gl.CompileShader(sh)
	var ok int32
	gl.GetShaderiv(sh, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		return 0, fmt.Errorf("compile %s: %s", file, infoLog(sh, false))
	}
	return sh, nil
}

func infoLog(obj uint32, prog bool) string {
	var n int32
	if prog {
		gl.GetProgramiv(obj, gl.INFO_LOG_LENGTH, &n)
	} else {
		gl.GetShaderiv(obj, gl.INFO_LOG_LENGTH, &n)
	}
	if n <= 0 {
		return ""
	}
	buf := make([]byte, n+1)
	if prog {
		gl.GetProgramInfoLog(obj, n, nil, &buf[0])
	} else {
		gl.GetShaderInfoLog(obj, n, nil, &buf[0])
	}
	return strings.TrimRight(string(buf), "\x00")
}

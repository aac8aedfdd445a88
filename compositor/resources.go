package compositor

import (
	"fmt"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/shaders"
)

// Frame is what passes see while a frame renders.
type Frame struct {
	info    FrameInfo
	cs      media.ColorSpace // the input's
	nv12    bool             // the input's planes are NV12
	results []any            // what the passes reported (Report)
	dev     *Device
	res     *resources
	pl      *Pipeline
	// ping are the targets the chain's passes draw into: the pipeline's
	// for its own chain, a layer chain's for its.
	ping *[2]Target
}

// other returns the ping-pong target that cur is not.
func (f *Frame) other(cur *Target) *Target {
	if cur == &f.ping[0] {
		return &f.ping[1]
	}
	return &f.ping[0]
}

// settle waits for the passes issued so far in the pipeline's frame (a
// layer chain's frames are counted apart).
func (f *Frame) settle() { f.pl.settle(f.pl.frames - 1) }

// writable returns a target holding the same pixels as cur that a pass
// may draw into in place (see resources.writable).
func (f *Frame) writable(cur *Target) *Target {
	if cur == &f.res.in.input {
		return f.res.writable(cur)
	}
	return cur
}

// resources are a pipeline's GL objects. Programs are made once; textures
// and buffers once per input format and size, and kept while that stays.
type resources struct {
	yuvProg  [numYUVVariants]*Program // made on first use, see yuvVariant
	packProg [3]*Program              // Y, U, V regions of the packed image
	copyProg *Program
	linear   uint32 // sampler object: bilinear, clamped

	format media.PixelFormat
	w, h   int

	in      inputTextures // the input frame
	ping    [2]Target
	packed  packedI420 // the output in I420, four samples per texel
	staging []byte     // synchronous readback of the packed image
	outCS   media.ColorSpace

	frame  Frame
	result *Target
}

func (r *resources) setup(d *Device, outCS media.ColorSpace) error {
	var err error
	m, off := rgbToYUV(outCS)
	for i := range r.packProg {
		src := withPrelude(builtin("pack_i420.frag"), "", "",
			fmt.Sprintf("PLANE %d", i),
			fmt.Sprintf("ROW vec3(%.9g, %.9g, %.9g)", m[3*i], m[3*i+1], m[3*i+2]),
			fmt.Sprintf("OFFSET %.9g", off[i]))
		if r.packProg[i], err = d.newProgram(fullscreenVert(), src); err != nil {
			return err
		}
	}
	if r.copyProg, err = d.newProgram(fullscreenVert(), builtin("identity.frag")); err != nil {
		return err
	}
	r.linear = d.newSampler(gl.LINEAR)
	r.frame.dev = d
	r.frame.res = r
	r.frame.ping = &r.ping
	return nil
}

func builtin(name string) ShaderSource {
	return ShaderSource{file: name, text: shaders.MustSource(name)}
}

func (r *resources) releaseSized(d *Device) {
	r.in.release(d)
	d.deleteTarget(&r.ping[0])
	d.deleteTarget(&r.ping[1])
	d.deleteTarget(&r.packed.t)
	r.staging = nil
	r.format, r.w, r.h = media.FormatUnknown, 0, 0
}

func (r *resources) release(d *Device) {
	r.releaseSized(d)
	for i := range r.yuvProg {
		d.deleteProgram(&r.yuvProg[i])
	}
	for i := range r.packProg {
		d.deleteProgram(&r.packProg[i])
	}
	d.deleteSampler(&r.linear)
	d.deleteProgram(&r.copyProg)
}

// planeFormat gives the texture format of a plane: internal format, pixel
// format and bytes per texel.
func planeFormat(f media.PixelFormat, plane int) (int32, uint32, int) {
	switch f {
	case media.I420:
		return gl.R8, gl.RED, 1
	case media.NV12:
		if plane == 0 {
			return gl.R8, gl.RED, 1
		}
		return gl.RG8, gl.RG, 2
	}
	return gl.RGBA8, gl.RGBA, 4
}

// ensure (re)creates the sized objects when the input's format or size
// changes. Async readbacks in flight use the old sizes, so they finish
// first.
func (p *Pipeline) ensureSized(f media.PixelFormat, w, h int) error {
	r := &p.res
	if r.format == f && r.w == w && r.h == h {
		return nil
	}
	p.flush()
	p.freeRing()
	p.rends.release(p.dev, false) // scaled from the old size
	// A pass that failed may work at another size (its targets are sized
	// by expressions of the frame's): try the bypassed ones again.
	for _, e := range p.chain {
		if e.err != nil && !e.overran {
			e.err, p.dirty = nil, true
		}
	}
	return r.ensure(p.dev, f, w, h, p.cfg)
}

func (r *resources) ensure(d *Device, f media.PixelFormat, w, h int, cfg Config) error {
	if r.format == f && r.w == w && r.h == h {
		return nil
	}
	if err := r.allocate(d, f, w, h, cfg); err != nil {
		// Nothing half-made may survive: the next frame starts afresh.
		r.releaseSized(d)
		return err
	}
	return nil
}

func (r *resources) allocate(d *Device, f media.PixelFormat, w, h int, cfg Config) error {
	var maxTex int32
	gl.GetIntegerv(gl.MAX_TEXTURE_SIZE, &maxTex)
	rows := h
	if cfg.Output == OutputI420 {
		rows = h + (h+1)/2 // the packed image
	}
	if w > int(maxTex) || rows > int(maxTex) {
		return fmt.Errorf("%w: %dx%d exceeds this GPU's texture size limit %d", ErrFrame, w, h, maxTex)
	}
	r.releaseSized(d)
	if err := r.in.allocate(d, f, w, h, cfg.Upload); err != nil {
		return err
	}
	for i := range r.ping {
		t, err := d.newTarget(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
		if err != nil {
			r.releaseSized(d)
			return err
		}
		r.ping[i] = t
	}
	if cfg.Output == OutputI420 {
		pk, err := d.newPackedI420(w, h)
		if err != nil {
			r.releaseSized(d)
			return err
		}
		r.packed = pk
	}
	if err := glError("allocating frame objects"); err != nil {
		return err
	}
	r.format, r.w, r.h = f, w, h
	r.outCS = cfg.OutputColorSpace
	return nil
}

// writable returns a target holding the same pixels as cur that passes may
// draw into in place: cur itself, or a copy when cur is a swizzled input
// texture (drawing through its framebuffer would skip the swizzle).
func (r *resources) writable(cur *Target) *Target {
	if cur != &r.in.input || !r.in.swizzle {
		return cur
	}
	dst := &r.ping[0]
	gl.UseProgram(r.copyProg.id)
	gl.Uniform1i(r.copyProg.loc("uInput"), 0)
	drawFullscreen(cur.tex.id, dst)
	return dst
}

// convert turns the uploaded YUV planes into RGBA in ping[0].
func (r *resources) convert(d *Device, nv12 bool) (*Target, error) {
	dst := &r.ping[0]
	return dst, r.convertInto(d, &r.in, yuvVariant(nv12, r.frame.cs), dst)
}

// convertInto turns in's YUV planes into RGBA in dst, with the program of
// YUV variant v.
func (r *resources) convertInto(d *Device, in *inputTextures, v int, dst *Target) error {
	if r.yuvProg[v] == nil {
		prog, err := d.newProgram(fullscreenVert(), withYUV(builtin("yuv_to_rgb.frag"), v, ""))
		if err != nil {
			return err
		}
		r.yuvProg[v] = prog
	}
	prog := r.yuvProg[v]
	gl.UseProgram(prog.id)
	in.bindYUV(prog)
	drawFullscreen(in.planes[0].id, dst)
	return nil
}

// YUV programs come in variants: I420 or NV12, times BT.601 or BT.709,
// times limited or full range.
const numYUVVariants = 8

func yuvVariant(nv12 bool, cs media.ColorSpace) int {
	v := 0
	if nv12 {
		v |= 4
	}
	if cs.Matrix == media.MatrixBT601 {
		v |= 2
	}
	if cs.FullRange {
		v |= 1
	}
	return v
}

// withYUV adds yuv.glsl (sc_yuv) for a variant to a fragment shader, and
// extra code after it, with more defines.
func withYUV(src ShaderSource, variant int, extra string, defines ...string) ShaderSource {
	cs := media.ColorSpace{Matrix: media.MatrixBT709, FullRange: variant&1 != 0}
	if variant&2 != 0 {
		cs.Matrix = media.MatrixBT601
	}
	m, off := yuvToRGB(cs)
	// GLSL's mat3 constructor takes columns; m is row-major.
	defs := []string{
		fmt.Sprintf("SC_MATRIX mat3(%.9g, %.9g, %.9g, %.9g, %.9g, %.9g, %.9g, %.9g, %.9g)",
			m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]),
		fmt.Sprintf("SC_OFFSET vec3(%.9g, %.9g, %.9g)", off[0], off[1], off[2]),
	}
	if variant&4 != 0 {
		defs = append(defs, "SC_NV12")
	}
	defs = append(defs, defines...)
	return withPrelude(src, "yuv.glsl", shaders.MustSource("yuv.glsl")+extra, defs...)
}

// yuvUnit is the first texture unit of the YUV planes; units below it stay
// free for the pass a conversion is fused into.
const yuvUnit = 5

// readSync reads the output with glReadPixels.
func (p *Pipeline) readSync(req *request) error {
	r := &p.res
	t0 := time.Now()
	defer func() { p.stats.readback.add(time.Since(t0)) }()
	if p.cfg.Output == OutputRGBA {
		src := r.writable(r.result)
		out, err := media.AllocVideoFrame(media.VideoFrameInit{
			Format: media.RGBA, CodedWidth: r.w, CodedHeight: r.h,
			Timestamp: req.ts, Duration: req.dur,
		})
		if err != nil {
			return err
		}
		pl, _ := out.Plane(0)
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, src.fbo)
		gl.PixelStorei(gl.PACK_ROW_LENGTH, int32(pl.Stride/4))
		gl.ReadPixels(0, 0, int32(r.w), int32(r.h), gl.RGBA, gl.UNSIGNED_BYTE, bytesPtr(pl.Data))
		gl.PixelStorei(gl.PACK_ROW_LENGTH, 0)
		if err := glError("reading back RGBA"); err != nil {
			out.Close()
			return err
		}
		p.setOutput(req, out)
		return nil
	}
	out, err := r.readI420(&r.packed, req.ts, req.dur)
	if err != nil {
		return err
	}
	if err := p.readRenditionsSync(req); err != nil {
		out.Close()
		return err
	}
	p.setOutput(req, out)
	return nil
}

// readI420 reads pk back synchronously into a new frame.
func (r *resources) readI420(pk *packedI420, ts, dur int64) (media.VideoFrame, error) {
	n := pk.size()
	if cap(r.staging) < n {
		r.staging = make([]byte, n)
	}
	buf := r.staging[:n]
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, pk.t.fbo)
	gl.ReadPixels(0, 0, int32(pk.t.tex.w), int32(pk.t.tex.h), gl.RGBA, gl.UNSIGNED_BYTE, bytesPtr(buf))
	if err := glError("reading back I420"); err != nil {
		return media.VideoFrame{}, err
	}
	return pk.unpack(buf, ts, dur, r.outCS)
}

func (p *Pipeline) setOutput(req *request, out media.VideoFrame) {
	req.out.Frame = out
	p.stats.frameOut(time.Since(req.start))
}

// readSlot is one pixel-pack buffer of the async ring.
type readSlot struct {
	pbo   uint32
	fence uintptr
}

func (p *Pipeline) freeRing() {
	for i := range p.ring {
		p.dev.deleteFence(&p.ring[i].fence)
		p.dev.deleteBuffer(&p.ring[i].pbo)
	}
	p.ring = p.ring[:0]
	p.ringNext = 0
	p.rends.freeBuffers(p.dev)
}

// readAsync starts reading the packed image into the next ring buffer.
func (p *Pipeline) readAsync(req *request) {
	r := &p.res
	n := r.packed.size()
	if len(p.ring) == 0 {
		for i := 0; i < p.cfg.RingSize; i++ {
			p.ring = append(p.ring, readSlot{pbo: p.dev.newBuffer(gl.PIXEL_PACK_BUFFER, n, gl.STREAM_READ)})
		}
	}
	s := &p.ring[p.ringNext]
	req.slot = p.ringNext
	p.ringNext = (p.ringNext + 1) % len(p.ring)
	r.packed.readInto(s.pbo)
	p.readRenditionsAsync(req)
	s.fence = p.dev.newFence()
	// Make sure the commands start executing while we return to the queue.
	gl.Flush()
	p.pending = append(p.pending, req)
}

// completeOldest waits for the oldest async readback and hands it out.
func (p *Pipeline) completeOldest() {
	req := p.pending[0]
	copy(p.pending, p.pending[1:])
	p.pending[len(p.pending)-1] = nil
	p.pending = p.pending[:len(p.pending)-1]
	s := &p.ring[req.slot]
	r := &p.res
	p.dev.act.frame.Store(true)
	defer p.dev.act.frame.Store(false)
	p.settle(req.frame)
	p.dev.act.current.Store(nil)
	t0 := time.Now()
	for {
		st := gl.ClientWaitSync(s.fence, gl.SYNC_FLUSH_COMMANDS_BIT, uint64(100*time.Millisecond))
		if st == gl.ALREADY_SIGNALED || st == gl.CONDITION_SATISFIED {
			break
		}
		// Keep waiting on a plain timeout: the passes are done (settle),
		// so this is the packing and the copy, which end unless the
		// context is lost; a lost context answers WAIT_FAILED, or
		// nothing at all, and then the watchdog (Activity) sees a frame
		// that never returns.
		if st != gl.TIMEOUT_EXPIRED {
			p.dev.deleteFence(&s.fence)
			err := glError("waiting for readback fence")
			if err == nil {
				err = fmt.Errorf("compositor: readback fence did not signal (status 0x%x after %v)", st, time.Since(t0).Round(time.Millisecond))
			}
			req.finish(err)
			return
		}
	}
	p.dev.deleteFence(&s.fence)
	out, err := r.packed.mapped(s.pbo, req.ts, req.dur, r.outCS)
	if err == nil {
		if err = p.completeRenditions(req); err != nil {
			out.Close()
		}
	}
	p.stats.readback.add(time.Since(t0))
	if err == nil {
		p.setOutput(req, out)
	}
	req.finish(err)
}

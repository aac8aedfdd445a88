package compositor

import (
	"errors"
	"fmt"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/media"
)

// Rendition is a smaller copy of a frame's output, scaled on the GPU from
// the output's RGBA (not from its I420, so that chroma is not subsampled
// twice) and read back with it: a rung of a rendition ladder, which viewers
// with less bandwidth or smaller screens receive. The caller asks for one
// by its size in Output.Renditions; a size nobody asks for costs nothing.
type Rendition struct {
	// Width and Height are the caller's: at least MinRenditionSide, at
	// most the output's size.
	Width, Height int
	// Frame is the rendition in I420, with the output's timestamp,
	// duration and colour space. The receiver owns it and must Close it.
	// It is zero when Err is set.
	Frame media.VideoFrame
	// Err says why this rendition was not made (ErrRendition); the output
	// frame and the other renditions are made anyway.
	Err error
}

// MinRenditionSide is the smallest width or height of a rendition.
const MinRenditionSide = 16

// ErrRendition reports a rendition size the pipeline cannot make.
var ErrRendition = errors.New("compositor: rendition size out of range")

// maxRenditions bounds the sizes a pipeline keeps GL objects for: asking
// for another size releases those of the size asked for least recently.
const maxRenditions = 8

// renditionSlot holds the GL objects of one rendition size, made on the
// first frame that asks for it and kept while the output's size stays.
type renditionSlot struct {
	w, h int
	// steps are the targets it is scaled through: halvings of the
	// output's size while the half is still at least the rendition's,
	// then the rendition's size (the last; none when it is the
	// output's). A 2:1 step fetched bilinearly between four texels is
	// their mean, so a ladder of halvings is a box filter, and the last
	// step, under 2:1, skips no texel.
	steps  []Target
	packed packedI420
	pbos   []uint32 // async readback, one per ring slot
	used   uint64   // the pipeline's frame that last asked for it
}

// renditions are a pipeline's rendition slots and the program that scales
// into them; GL thread.
type renditions struct {
	prog  *Program
	slots []*renditionSlot
}

// stepSizes are the sizes a w×h image is scaled through to become tw×th.
func stepSizes(w, h, tw, th int) [][2]int {
	var out [][2]int
	for (w+1)/2 >= tw && (h+1)/2 >= th && (w != tw || h != th) {
		w, h = (w+1)/2, (h+1)/2
		out = append(out, [2]int{w, h})
	}
	if w != tw || h != th {
		out = append(out, [2]int{tw, th})
	}
	return out
}

// slot returns the slot for a tw×th rendition of a w×h output, making it
// if needed.
func (p *Pipeline) renditionSlot(tw, th, w, h int) (*renditionSlot, error) {
	if tw < MinRenditionSide || th < MinRenditionSide || tw > w || th > h {
		return nil, fmt.Errorf("%w: %dx%d of a %dx%d output (at least %d, at most the output)", ErrRendition, tw, th, w, h, MinRenditionSide)
	}
	rs := &p.rends
	for _, s := range rs.slots {
		if s.w == tw && s.h == th {
			return s, nil
		}
	}
	if rs.prog == nil {
		prog, err := p.dev.newProgram(fullscreenVert(), builtin("downscale.frag"))
		if err != nil {
			return nil, err
		}
		rs.prog = prog
	}
	if len(rs.slots) >= maxRenditions {
		// Readbacks in flight may use the slot given up.
		p.flush()
		lru := 0
		for i, s := range rs.slots {
			if s.used < rs.slots[lru].used {
				lru = i
			}
		}
		rs.slots[lru].release(p.dev)
		rs.slots = append(rs.slots[:lru], rs.slots[lru+1:]...)
	}
	s := &renditionSlot{w: tw, h: th}
	for _, sz := range stepSizes(w, h, tw, th) {
		t, err := p.dev.newTarget(sz[0], sz[1], gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
		if err != nil {
			s.release(p.dev)
			return nil, err
		}
		s.steps = append(s.steps, t)
	}
	var err error
	if s.packed, err = p.dev.newPackedI420(tw, th); err != nil {
		s.release(p.dev)
		return nil, err
	}
	rs.slots = append(rs.slots, s)
	return s, nil
}

func (s *renditionSlot) release(d *Device) {
	for i := range s.steps {
		d.deleteTarget(&s.steps[i])
	}
	s.steps = nil
	d.deleteTarget(&s.packed.t)
	s.freeBuffers(d)
}

func (s *renditionSlot) freeBuffers(d *Device) {
	for i := range s.pbos {
		d.deleteBuffer(&s.pbos[i])
	}
	s.pbos = s.pbos[:0]
}

// freeBuffers releases the slots' readback buffers, with the ring's.
func (rs *renditions) freeBuffers(d *Device) {
	for _, s := range rs.slots {
		s.freeBuffers(d)
	}
}

// release releases every slot; the program too when all is set.
func (rs *renditions) release(d *Device, all bool) {
	for _, s := range rs.slots {
		s.release(d)
	}
	rs.slots = rs.slots[:0]
	if all {
		d.deleteProgram(&rs.prog)
	}
}

// renderRenditions scales the frame's result into each rendition asked
// for and packs it; GL thread, after the output's packing. A rendition
// starts from the smallest one made before it in this frame that lies on
// its way (a quarter from the half), so a ladder costs little more than
// its largest rung.
func (p *Pipeline) renderRenditions(r *request) {
	r.rends = r.rends[:0]
	if len(r.out.Renditions) == 0 {
		return
	}
	res := &p.res
	for i := range r.out.Renditions {
		rd := &r.out.Renditions[i]
		s, err := p.renditionSlot(rd.Width, rd.Height, res.w, res.h)
		if err != nil {
			rd.Err = err
			r.rends = append(r.rends, nil)
			continue
		}
		s.used = r.frame
		src := res.result
		for j := range s.steps {
			st := &s.steps[j]
			if made := r.made(st.tex.w, st.tex.h); made != nil {
				src = made
				continue
			}
			p.scaleInto(src, st)
			src = st
		}
		res.packInto(src, &s.packed)
		r.rends = append(r.rends, s)
	}
	gl.BindSampler(0, 0)
}

// made returns the final target of a rendition of w×h already made in
// this frame, or nil.
func (r *request) made(w, h int) *Target {
	for _, s := range r.rends {
		if s != nil && s.w == w && s.h == h && len(s.steps) > 0 {
			return &s.steps[len(s.steps)-1]
		}
	}
	return nil
}

// scaleInto draws src scaled to dst's size, bilinear.
func (p *Pipeline) scaleInto(src, dst *Target) {
	prog := p.rends.prog
	gl.UseProgram(prog.id)
	gl.Uniform1i(prog.loc("uInput"), 0)
	gl.Uniform2f(prog.loc("uScale"), 1/float32(dst.tex.w), 1/float32(dst.tex.h))
	gl.BindSampler(0, p.res.linear)
	drawFullscreen(src.tex.id, dst)
}

// readRenditionsSync reads the frame's renditions back into its Output.
func (p *Pipeline) readRenditionsSync(req *request) error {
	for i, s := range req.rends {
		if s == nil {
			continue
		}
		f, err := p.res.readI420(&s.packed, req.ts, req.dur)
		if err != nil {
			closeRenditions(req.out.Renditions[:i])
			return err
		}
		req.out.Renditions[i].Frame = f
	}
	return nil
}

// readRenditionsAsync starts reading the frame's renditions into their
// buffers of the request's ring slot, before its fence.
func (p *Pipeline) readRenditionsAsync(req *request) {
	for _, s := range req.rends {
		if s == nil {
			continue
		}
		for len(s.pbos) < len(p.ring) {
			s.pbos = append(s.pbos, p.dev.newBuffer(gl.PIXEL_PACK_BUFFER, s.packed.size(), gl.STREAM_READ))
		}
		s.packed.readInto(s.pbos[req.slot])
	}
}

// completeRenditions unpacks what readRenditionsAsync read, once the
// request's fence signalled.
func (p *Pipeline) completeRenditions(req *request) error {
	for i, s := range req.rends {
		if s == nil {
			continue
		}
		f, err := s.packed.mapped(s.pbos[req.slot], req.ts, req.dur, p.res.outCS)
		if err != nil {
			closeRenditions(req.out.Renditions[:i])
			return err
		}
		req.out.Renditions[i].Frame = f
	}
	return nil
}

func closeRenditions(rs []Rendition) {
	for i := range rs {
		rs[i].Frame.Close()
		rs[i].Frame = media.VideoFrame{}
	}
}

package compositor

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

// Composition is one programme frame: a canvas, the sources' current
// frames, and the layers that show them. Compose reads the frames during
// the call; they stay the caller's.
type Composition struct {
	Width, Height int
	// Timestamp and Duration (µs) become the output frame's.
	Timestamp, Duration int64
	// Frames are the sources' current frames; layers name them by index.
	// Each is uploaded once per composition, however many layers show it,
	// and only when a visible layer does. A closed (or zero) frame is a
	// source that has none: its layers show nothing.
	Frames []media.VideoFrame
	// Layers are drawn in order, the first at the bottom, over black.
	Layers []Layer
	// Transition, when set, is a scene switch under way: Transition.From
	// (the outgoing scene, drawn as Layers are) combined with Layers.
	Transition *Transition
}

// Transition is a switch from one scene to another, one composition of
// it at a time.
type Transition struct {
	// From are the outgoing scene's layers, on the same Frames. Their
	// results come in Output.Layers numbered after Layers'.
	From []Layer
	// Chain, from Pipeline.NewTransition, combines the two pictures. A
	// closed one (or its pass held out) leaves Layers alone: a cut.
	Chain *LayerChain
	// Progress goes from 0 (all From) to 1 (all Layers).
	Progress float64
}

// Layer is one layer of a Composition.
type Layer struct {
	// Frame is an index into Composition.Frames, or Generated for a
	// generator's picture (Chain, from Pipeline.NewGenerator).
	Frame int
	// Spec places the frame: rectangle, fit, crop, opacity, rotation,
	// visibility, as scene.Parse fills them in (a zero Spec is invisible:
	// opacity 0, not visible). Spec.Passes are names only: what runs is
	// Chain.
	Spec scene.Layer
	// Chain, when set, runs on the frame before the layer draws it; a
	// chain shown by several layers (of the same frame) runs once. Its
	// results are in Output.Layers.
	Chain *LayerChain
	// Nested are the layers of a nested scene (Frame Generated, Chain from
	// Pipeline.NewNested): drawn on the same Frames, on the chain's
	// transparent frame, as its picture. Their chains' results come with
	// the nested placements (LayerResult.Outer).
	Nested []Layer
}

// MaxNesting bounds how deep nested scenes go.
const MaxNesting = 8

// Limits on one composition.
const (
	MaxCompositionFrames = 64
	MaxCompositionLayers = 256
)

// sourceSlot holds one source frame of a composition on the GPU, and how
// its layers draw it.
type sourceSlot struct {
	in  inputTextures
	src Picture
	// last holds (a reference to) the frame uploaded last: while it is
	// held its pixels cannot be reused for another frame, so a frame with
	// the same pixels (a still or colour repeated, a clone) is the same
	// picture and is not uploaded again.
	last    media.VideoFrame
	uploads int // for tests
	// absent: this composition's frame is closed (the source has none);
	// its layers show nothing.
	absent bool
}

// Compose composites c onto its canvas, runs the chain on the result, and
// stores the output in out as Process does: out.Frame is a new frame the
// caller must Close, out.Results and out.Layers are overwritten. Errors caused by c
// wrap ErrFrame.
func (p *Pipeline) Compose(ctx context.Context, c *Composition, out *Output) error {
	if err := p.admit(ctx, out); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		p.stats.dropped(dropInvalid)
		return err
	}
	r := requestPool.Get().(*request)
	r.p, r.in, r.comp, r.out, r.err = p, media.VideoFrame{}, c, out, nil
	r.ts, r.dur = c.Timestamp, c.Duration
	return p.run(ctx, r)
}

// check is what can be checked of c before the GL thread.
func (c *Composition) check() error {
	switch {
	case c.Width < 2 || c.Height < 2 || c.Width%2 != 0 || c.Height%2 != 0:
		return fmt.Errorf("%w: canvas %dx%d: want even sizes", ErrFrame, c.Width, c.Height)
	case len(c.Frames) > MaxCompositionFrames:
		return fmt.Errorf("%w: %d frames in a composition, at most %d", ErrFrame, len(c.Frames), MaxCompositionFrames)
	case len(c.Layers) > MaxCompositionLayers:
		return fmt.Errorf("%w: %d layers in a composition, at most %d", ErrFrame, len(c.Layers), MaxCompositionLayers)
	}
	layers := c.Layers
	if t := c.Transition; t != nil {
		switch {
		case t.Chain == nil:
			return fmt.Errorf("%w: a transition without a Chain", ErrFrame)
		case math.IsNaN(t.Progress):
			return fmt.Errorf("%w: transition progress is NaN", ErrFrame)
		case len(t.From) > MaxCompositionLayers:
			return fmt.Errorf("%w: %d layers going off, at most %d", ErrFrame, len(t.From), MaxCompositionLayers)
		}
		if err := checkLayers(t.From, len(c.Frames), 0); err != nil {
			return err
		}
	}
	return checkLayers(layers, len(c.Frames), 0)
}

// checkLayers checks layers (and those they nest) against n frames.
func checkLayers(layers []Layer, n, depth int) error {
	if depth > MaxNesting {
		return fmt.Errorf("%w: scenes nested deeper than %d", ErrFrame, MaxNesting)
	}
	for i := range layers {
		f := layers[i].Frame
		if f == Generated && layers[i].Chain == nil {
			return fmt.Errorf("%w: layer %d shows a generator but has no Chain", ErrFrame, i)
		}
		if f != Generated && (f < 0 || f >= n) {
			return fmt.Errorf("%w: layer %d shows frame %d of %d", ErrFrame, i, f, n)
		}
		if err := checkLayers(layers[i].Nested, n, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// markUsed marks in used the frames that shown layers (and those they
// nest) show.
func markUsed(layers []Layer, used []bool) {
	for k := range layers {
		l := &layers[k]
		if !shown(l) {
			continue
		}
		if l.Frame >= 0 {
			used[l.Frame] = true
		}
		markUsed(l.Nested, used)
	}
}

// shown reports whether layer l draws anything.
func shown(l *Layer) bool { return l.Spec.Visible && l.Spec.Opacity > 0 }

// compose draws r's composition on the canvas (the RGBA input texture of
// the canvas's size) and returns it for the chain; GL thread.
func (p *Pipeline) compose(r *request) (*Target, error) {
	c := r.comp
	if err := p.ensureSized(media.RGBA, c.Width, c.Height); err != nil {
		p.stats.dropped(dropInvalid)
		return nil, err
	}
	if p.layers.rgb == nil { // the first composition
		if err := p.layers.setup(p.dev); err != nil {
			return nil, err
		}
	}
	p.beginFrame(r, c.Width, c.Height)
	p.releaseSources(len(c.Frames))
	for len(p.sources) < len(c.Frames) {
		p.sources = append(p.sources, sourceSlot{})
	}
	// Upload each frame a visible layer shows, once.
	t0 := time.Now()
	var from []Layer
	if t := c.Transition; t != nil && t.Chain.live() {
		from = t.From
	}
	p.used = slices.Grow(p.used[:0], len(c.Frames))[:len(c.Frames)]
	clear(p.used)
	markUsed(c.Layers, p.used)
	markUsed(from, p.used)
	for i := range c.Frames {
		p.sources[i].absent = c.Frames[i].Closed()
		if !p.used[i] || p.sources[i].absent {
			continue // a closed frame: its layers show nothing
		}
		if err := p.uploadSource(&p.sources[i], c.Frames[i]); err != nil {
			p.stats.dropped(dropInvalid)
			return nil, fmt.Errorf("frame %d: %w", i, err)
		}
	}
	p.stats.upload.add(time.Since(t0))
	canvas := &p.res.in.input
	if err := p.drawLayers(r, c.Layers, 0, canvas, opaqueBlack); err != nil {
		return nil, err
	}
	if from == nil {
		return canvas, glError("composing layers")
	}
	// A transition: the outgoing scene on a canvas of its own, the two
	// combined by the transition's pass.
	if p.fromCanvas.tex.w != c.Width || p.fromCanvas.tex.h != c.Height {
		p.dev.deleteTarget(&p.fromCanvas)
		var err error
		if p.fromCanvas, err = p.dev.newTarget(c.Width, c.Height, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE); err != nil {
			return nil, err
		}
	}
	if err := p.drawLayers(r, from, len(c.Layers), &p.fromCanvas, opaqueBlack); err != nil {
		return nil, err
	}
	return c.Transition.Chain.transition(r, &p.fromCanvas, canvas, c.Transition.Progress)
}

// Backgrounds of drawLayers: a canvas is opaque black; a nested scene is
// transparent, so that what is below it shows where it has nothing.
var (
	opaqueBlack = [4]float32{0, 0, 0, 1}
	transparent = [4]float32{}
)

// drawLayers draws layers over bg on dst, running their chains; their
// results are numbered from base in Output.Layers (a nested scene's,
// base < 0, by the top-level layer that shows it: r.nestTop).
func (p *Pipeline) drawLayers(r *request, layers []Layer, base int, dst *Target, bg [4]float32) error {
	gl.BindFramebuffer(gl.FRAMEBUFFER, dst.fbo)
	gl.ClearColor(bg[0], bg[1], bg[2], bg[3])
	gl.Clear(gl.COLOR_BUFFER_BIT)
	var err error
	for k := range layers {
		l := &layers[k]
		if !shown(l) {
			continue
		}
		var s *sourceSlot
		var src Picture
		w, h := 0, 0
		if l.Frame == Generated {
			if l.Chain.gen[0] == 0 {
				return fmt.Errorf("%w: layer %d: Frame Generated shows a generator, and chain %q is not one", ErrFrame, base+k, l.Chain.name)
			}
			if !l.Chain.live() {
				continue // closed, or its passes all held out: nothing to show
			}
			w, h = l.Chain.gen[0], l.Chain.gen[1]
		} else {
			s = &p.sources[l.Frame]
			if s.absent {
				continue
			}
			src, w, h = s.src, s.in.w, s.in.h
		}
		pl, ok := scene.Place(&l.Spec, w, h)
		if !ok {
			continue
		}
		if l.Chain.live() {
			at := base + k
			if base < 0 {
				at = r.nestTop
			}
			if src, err = l.Chain.run(r, s, l.Frame, at, pl, l.Nested); err != nil {
				return err
			}
		}
		if err := p.layers.draw(p.dev, dst, &src, pl, l.Spec.Opacity); err != nil {
			return err
		}
		if l.Chain != nil && !l.Chain.closed {
			l.Chain.overlay(dst, pl, l.Spec.Opacity)
		}
	}
	return glError("composing layers")
}

// uploadSource puts frame on the GPU in s. A YUV frame stays planes:
// its layers convert it where they are drawn.
func (p *Pipeline) uploadSource(s *sourceSlot, frame media.VideoFrame) error {
	w, h := frame.CodedWidth(), frame.CodedHeight()
	if w == 0 {
		return fmt.Errorf("%w: %w", ErrFrame, media.ErrClosed)
	}
	f := frame.Format()
	if samePixels(s.last, frame) && s.in.format == f && s.in.w == w && s.in.h == h {
		return nil
	}
	if s.in.format != f || s.in.w != w || s.in.h != h {
		s.in.release(p.dev)
		var maxTex int32
		gl.GetIntegerv(gl.MAX_TEXTURE_SIZE, &maxTex)
		if w > int(maxTex) || h > int(maxTex) {
			return fmt.Errorf("%w: %dx%d exceeds this GPU's texture size limit %d", ErrFrame, w, h, maxTex)
		}
		if err := s.in.allocate(p.dev, f, w, h, p.cfg.Upload); err != nil {
			s.in.release(p.dev)
			return err
		}
	}
	s.last.Close()
	s.last = media.VideoFrame{}
	if _, err := s.in.upload(frame); err != nil {
		return err
	}
	s.uploads++
	if c, err := frame.Clone(); err == nil {
		s.last = c
	}
	s.src = Picture{tex: s.in.input.tex, w: w, h: h}
	if f.IsYUV() {
		s.src.in, s.src.yuv = &s.in, yuvVariant(f == media.NV12, frame.ColorSpace())
	}
	return nil
}

// releaseSources frees the source slots from n on; GL thread.
func (p *Pipeline) releaseSources(n int) {
	for i := n; i < len(p.sources); i++ {
		p.sources[i].in.release(p.dev)
		p.sources[i].last.Close()
	}
	if n < len(p.sources) {
		p.sources = p.sources[:n]
	}
}

// samePixels reports whether a and b share their pixels (one is a clone
// of the other, or both of a third frame).
func samePixels(a, b media.VideoFrame) bool {
	pa, errA := a.Plane(0)
	pb, errB := b.Plane(0)
	return errA == nil && errB == nil && len(pa.Data) > 0 && len(pb.Data) > 0 && &pa.Data[0] == &pb.Data[0]
}

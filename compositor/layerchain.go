package compositor

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/shadercast/shadercast/scene"
)

// LayerChain is a layer's own pass chain: it runs on the layer's source
// frame, at that frame's size, before the layer is drawn. An analysis (the
// barcode pass) so sees the source's own pixels, whatever the layer's
// size, and what a pass draws (a highlight) is placed, scaled and turned
// with the layer. A chain keeps its passes' state from frame to frame (a
// barcode pass follows its codes), so it should live as long as what it
// shows: the service keeps one per source and pass list, across scenes.
//
// A chain belongs to the pipeline that made it (NewLayerChain) and its
// passes to it; Close frees them, and so does the pipeline's Close. A
// closed chain in a Composition is skipped: its layer shows the source
// as it is.
type LayerChain struct {
	p    *Pipeline
	name string

	// GL thread.
	entries []*chainEntry
	ping    [2]Target // at the source's size
	frame   Frame
	frames  uint64 // frames the chain has run
	// ranIn is the pipeline frame (+1) the chain last ran in, on source
	// frame ranOn, with the result in result: a chain shared by two layers
	// showing the same frame runs once.
	ranIn  uint64
	ranOn  int
	result *Target
	// analysed: the last run was of analyzers only, on the source itself
	// (result is nil): the layers draw the source and then the overlays.
	analysed bool
	closed   bool
	// gen is the size of a generator's frame (NewGenerator); zero for
	// the chain of a source.
	gen [2]int
	// nested: a nested scene's chain (NewNested), whose frame holds the
	// scene's layers, premultiplied by their alpha.
	nested bool
	// trans: a transition's chain (NewTransition).
	trans bool
	// depth guards against a chain nested in itself.
	depth int

	// view is what Passes reads: published on the GL thread.
	view atomic.Pointer[[]PassInfo]
}

// Generated is the Frame of a Layer that shows a generator
// (Pipeline.NewGenerator) rather than a frame of the Composition.
const Generated = -1

// Analyzer is a pass that can look at a frame without changing it, and
// show what it found over the frame where a layer draws it. A layer chain
// of analyzers only runs them on the source as it is, its YUV planes
// included, and the layer draws the source itself: no RGBA copy of the
// frame is made, and the overlay is drawn at the canvas's resolution
// (crisp lines, whatever the layer's scale).
type Analyzer interface {
	Pass
	// Analyze runs on the GL thread on src, which it must not draw into;
	// what it finds goes to the layer's results through f.Report
	// (LayerResult.Results).
	Analyze(f *Frame, src *Picture) error
	// Overlay draws onto dst where pl puts the analysed frame, clipped
	// to the part of the frame pl shows, its opacity scaled by the
	// layer's; f is the analysis's.
	Overlay(f *Frame, dst *Target, pl scene.Placement, opacity float64)
}

// LayerResult is what a layer's chain found in its source's frame.
type LayerResult struct {
	// Layer is the index in Composition.Layers of the (first) layer whose
	// chain ran; during a transition, the outgoing scene's layers follow
	// (len(Layers) + their index in Transition.From).
	Layer int
	// Chain is the name of the chain that ran (the service names them
	// after their sources).
	Chain string
	// Width and Height are the source frame's: results are in its
	// pixels. Placement maps them to where the layer draws the frame, and
	// for a layer inside nested scenes Outer maps that on to the canvas
	// (the nested scenes' placements, outermost first): ToCanvas does
	// both.
	Width, Height int
	Placement     scene.Placement
	Outer         []scene.Placement
	// Results are what the chain's passes reported (Frame.Report), as
	// Output.Results. Compose reuses the storage of Output.Layers and of
	// their Results.
	Results []any
}

// ToCanvas maps a point of the source frame to the canvas.
func (r *LayerResult) ToCanvas(x, y float64) (float64, float64) {
	x, y = r.Placement.ToCanvas(x, y)
	for i := len(r.Outer) - 1; i >= 0; i-- {
		x, y = r.Outer[i].ToCanvas(x, y)
	}
	return x, y
}

// NewLayerChain makes a chain of passes (in order, all enabled) for the
// layers of compositions on p. name says whose chain it is in errors and in
// Activity ("cam" gives "cam/barcode"). A pass that fails to set up fails
// the call, and the passes set up before it are freed.
func (p *Pipeline) NewLayerChain(name string, passes ...Pass) (*LayerChain, error) {
	c := &LayerChain{p: p, name: name}
	err := p.control(func() error {
		for _, pass := range passes {
			if slices.ContainsFunc(c.entries, func(e *chainEntry) bool { return e.pass.Name() == pass.Name() }) {
				c.release()
				return fmt.Errorf("compositor: layer chain %q: a pass named %q is already in it", name, pass.Name())
			}
			if err := p.setupPass(pass); err != nil {
				c.release()
				return fmt.Errorf("compositor: layer chain %q: %w", name, err)
			}
			c.entries = append(c.entries, &chainEntry{name: name + "/" + pass.Name(), pass: pass, enabled: true, timer: p.timers.newTimer(p.dev), chain: c})
		}
		c.frame = Frame{dev: p.dev, res: &p.res, pl: p, ping: &c.ping}
		p.layerChains = append(p.layerChains, c)
		c.publish()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// NewGenerator makes a chain that makes its picture from nothing, w x h:
// its passes run on a transparent frame of that size (an ISF generator
// draws without looking at it). A Layer shows it with Frame Generated and
// Chain set; it runs once per composition however many layers show it.
func (p *Pipeline) NewGenerator(name string, w, h int, passes ...Pass) (*LayerChain, error) {
	if w < 1 || h < 1 || w > MaxGeneratorSide || h > MaxGeneratorSide {
		return nil, fmt.Errorf("compositor: generator %q: size %dx%d, want 1 to %d a side", name, w, h, MaxGeneratorSide)
	}
	c, err := p.NewLayerChain(name, passes...)
	if err != nil {
		return nil, err
	}
	c.gen = [2]int{w, h}
	return c, nil
}

// NewNested makes the chain of a nested scene, w x h: a Layer with Frame
// Generated, this Chain and the scene's layers in Nested shows them,
// drawn on a transparent frame of that size, then the chain's passes (if
// any). It runs once per composition however many layers show it.
func (p *Pipeline) NewNested(name string, w, h int, passes ...Pass) (*LayerChain, error) {
	c, err := p.NewGenerator(name, w, h, passes...)
	if err != nil {
		return nil, err
	}
	c.nested = true
	return c, nil
}

// MaxGeneratorSide bounds a generator's frame: GL 3.3 guarantees textures
// of 1024 a side, GPUs today take 16384, and 8192 (64 M pixels) is more
// than any canvas needs.
const MaxGeneratorSide = 8192

// NewTransition makes the chain of a scene transition: pass combines the
// outgoing and incoming pictures (an ISF transition: startImage, endImage,
// progress). A Composition's Transition names it.
func (p *Pipeline) NewTransition(name string, pass Pass) (*LayerChain, error) {
	if _, ok := pass.(Transitioner); !ok {
		return nil, fmt.Errorf("compositor: transition %q: a %T is no transition", name, pass)
	}
	c, err := p.NewLayerChain(name, pass)
	if err != nil {
		return nil, err
	}
	c.trans = true
	return c, nil
}

// Transitioner is a pass that combines two pictures into dst: a scene
// transition, from at progress 0 to to at 1.
type Transitioner interface {
	Pass
	Transition(f *Frame, from, to, dst *Target, progress float64) (*Target, error)
}

// transition runs a transition chain on the two canvases; GL thread. A
// pass that fails is held out, and the incoming picture is the result.
func (c *LayerChain) transition(r *request, from, to *Target, progress float64) (*Target, error) {
	p := c.p
	if !c.trans {
		return nil, fmt.Errorf("%w: chain %q is no transition (Pipeline.NewTransition)", ErrFrame, c.name)
	}
	f := &c.frame
	f.info = FrameInfo{Index: c.frames, Timestamp: r.ts, Width: to.tex.w, Height: to.tex.h}
	f.results = f.results[:0]
	c.frames++
	for _, e := range c.entries {
		if !e.enabled || e.err != nil {
			continue
		}
		p.dev.act.current.Store(e)
		e.timer.begin()
		out, err := e.pass.(Transitioner).Transition(f, from, to, &p.res.ping[0], progress)
		e.timer.end()
		if err != nil {
			p.passFailed(e, err)
			return to, nil
		}
		p.passIssued(e)
		return out, nil
	}
	return to, nil
}

// SetUniform sets an input of the chain's pass called pass from the next
// frame, as Pipeline.SetUniform does for the output chain.
func (c *LayerChain) SetUniform(pass, name string, value any) error {
	return c.p.control(func() error {
		if c.closed {
			return ErrClosed
		}
		for _, e := range c.entries {
			if e.pass.Name() != pass {
				continue
			}
			if err := e.pass.SetUniform(name, value); err != nil {
				return err
			}
			if !e.overran {
				e.err = nil // a bypassed pass gets another try
			}
			c.publish()
			return nil
		}
		return fmt.Errorf("compositor: chain %q has no pass %q", c.name, pass)
	})
}

// Passes describes the chain's passes in order, as of the last change: it
// never waits for the GL thread. The slice is the caller's.
func (c *LayerChain) Passes() []PassInfo {
	if v := c.view.Load(); v != nil {
		return slices.Clone(*v)
	}
	return nil
}

// publish makes the chain's description the one Passes reads; GL thread.
func (c *LayerChain) publish() {
	v := make([]PassInfo, len(c.entries))
	for i, e := range c.entries {
		v[i] = describePass(e.pass, e.enabled)
		if e.err != nil {
			v[i].Error = e.err.Error()
		}
	}
	c.view.Store(&v)
}

// Name returns the name the chain was made with.
func (c *LayerChain) Name() string { return c.name }

// Close frees the chain's passes and targets. It is idempotent; a
// composition that still names the chain shows its layer without it.
func (c *LayerChain) Close() error {
	err := c.p.control(func() error {
		c.release()
		c.p.layerChains = slices.DeleteFunc(c.p.layerChains, func(x *LayerChain) bool { return x == c })
		return nil
	})
	if err == ErrClosed {
		return nil // the pipeline's Close freed it
	}
	return err
}

// release frees everything; GL thread.
func (c *LayerChain) release() {
	for _, e := range c.entries {
		e.pass.Release(c.p.dev)
		c.p.timers.deleteTimer(c.p.dev, e.timer)
		e.gone = true
	}
	c.entries = nil
	c.p.dev.deleteTarget(&c.ping[0])
	c.p.dev.deleteTarget(&c.ping[1])
	c.result = nil
	c.closed = true
}

// live reports whether the chain has something to run: a pass, or a
// nested scene to draw.
func (c *LayerChain) live() bool {
	if c == nil || c.closed {
		return false
	}
	if c.nested {
		return true
	}
	for _, e := range c.entries {
		if e.enabled && e.err == nil {
			return true
		}
	}
	return false
}

// run runs the chain on source slot s (frame index i of the composition;
// nil and Generated for a generator) for layer k, and returns what the
// layer draws; GL thread.
func (c *LayerChain) run(r *request, s *sourceSlot, i, k int, pl scene.Placement, nested []Layer) (Picture, error) {
	p := c.p
	if c.trans {
		return Picture{}, fmt.Errorf("%w: layer %d: chain %q is a transition's", ErrFrame, k, c.name)
	}
	if (s == nil) != (c.gen[0] > 0) {
		return Picture{}, fmt.Errorf("%w: layer %d: a generator is shown by Frame Generated, and only a generator", ErrFrame, k)
	}
	w, h := c.gen[0], c.gen[1]
	if s != nil {
		w, h = s.src.w, s.src.h
	}
	if c.ranIn == p.frames {
		if c.ranOn != i {
			return Picture{}, fmt.Errorf("%w: layer chain %q is shown by layers of different frames (%d and %d)", ErrFrame, c.name, c.ranOn, i)
		}
		if c.analysed {
			return s.src, nil
		}
		return Picture{tex: c.result.tex, w: w, h: h, premul: c.nested}, nil
	}
	f := &c.frame
	f.info = FrameInfo{Index: c.frames, Timestamp: r.ts, Width: w, Height: h}
	res := r.out.layerResult(k, w, h, pl)
	res.Chain = c.name
	res.Outer = append(res.Outer[:0], r.outer...)
	f.results = res.Results[:0]
	// A nested scene's layers add results of their own: the slice may
	// move, so the result is found again by its index.
	ri := len(r.out.Layers) - 1
	c.frames++
	if s != nil && c.analysesOnly() {
		p.analyse(f, c.entries, &s.src)
		res.Results = f.results
		c.ranIn, c.ranOn, c.result, c.analysed = p.frames, i, nil, true
		return s.src, nil
	}
	if c.ping[0].tex.w != w || c.ping[0].tex.h != h {
		p.dev.deleteTarget(&c.ping[0])
		p.dev.deleteTarget(&c.ping[1])
		for n := range c.ping {
			t, err := p.dev.newTarget(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE)
			if err != nil {
				p.dev.deleteTarget(&c.ping[0])
				return Picture{}, err
			}
			c.ping[n] = t
		}
		// Passes sized by the frame may work at the new size.
		for _, e := range c.entries {
			if e.err != nil && !e.overran {
				e.err, p.dirty = nil, true
			}
		}
	}
	// The passes draw into the chain's own copy of the source: the slot's
	// texture is shared by other layers and kept for the next frame. A
	// generator's starts transparent every frame.
	cur := &c.ping[0]
	switch {
	case c.nested:
		if c.depth >= MaxNesting {
			return Picture{}, fmt.Errorf("%w: scenes nested deeper than %d", ErrFrame, MaxNesting)
		}
		c.depth++
		if len(r.outer) == 0 {
			r.nestTop = k
		}
		r.outer = append(r.outer, pl)
		err := p.drawLayers(r, nested, -1, cur, transparent)
		r.outer = r.outer[:len(r.outer)-1]
		c.depth--
		if err != nil {
			return Picture{}, err
		}
	case s == nil:
		gl.BindFramebuffer(gl.FRAMEBUFFER, cur.fbo)
		gl.ClearColor(0, 0, 0, 0)
		gl.Clear(gl.COLOR_BUFFER_BIT)
	case s.src.in != nil:
		if err := p.res.convertInto(p.dev, s.src.in, s.src.yuv, cur); err != nil {
			return Picture{}, err
		}
	default:
		gl.UseProgram(p.res.copyProg.id)
		gl.Uniform1i(p.res.copyProg.loc("uInput"), 0)
		drawFullscreen(s.src.tex.id, cur)
	}
	out, err := p.runPasses(f, c.entries, cur, nil)
	r.out.Layers[ri].Results = f.results
	if err != nil {
		return Picture{}, err
	}
	c.ranIn, c.ranOn, c.result, c.analysed = p.frames, i, out, false
	return Picture{tex: out.tex, w: w, h: h, premul: c.nested}, nil
}

// analysesOnly reports whether every pass the chain runs is an analyzer.
func (c *LayerChain) analysesOnly() bool {
	for _, e := range c.entries {
		if _, ok := e.pass.(Analyzer); !ok && e.enabled && e.err == nil {
			return false
		}
	}
	return true
}

// overlay draws the overlays of the chain's analysis onto dst where pl
// puts the source, at the layer's opacity (after each layer that shows
// it); GL thread.
func (c *LayerChain) overlay(dst *Target, pl scene.Placement, opacity float64) {
	if !c.analysed || c.ranIn != c.p.frames {
		return
	}
	for _, e := range c.entries {
		if a, ok := e.pass.(Analyzer); ok && e.enabled && e.err == nil {
			a.Overlay(&c.frame, dst, pl, opacity)
		}
	}
}

// analyse runs analyzers on src, as runPasses runs passes: timed, watched,
// a failing one held out.
func (p *Pipeline) analyse(f *Frame, entries []*chainEntry, src *Picture) {
	for _, e := range entries {
		if !e.enabled || e.err != nil {
			continue
		}
		p.dev.act.current.Store(e)
		e.timer.begin()
		err := e.pass.(Analyzer).Analyze(f, src)
		e.timer.end()
		if err != nil {
			p.passFailed(e, err)
			continue
		}
		p.passIssued(e)
	}
}

// layerResult appends a result for layer k to out.Layers, reusing the
// storage of an earlier frame's.
func (out *Output) layerResult(k, w, h int, pl scene.Placement) *LayerResult {
	n := len(out.Layers)
	if n < cap(out.Layers) {
		out.Layers = out.Layers[:n+1]
	} else {
		out.Layers = append(out.Layers, LayerResult{})
	}
	res := &out.Layers[n]
	res.Layer, res.Width, res.Height, res.Placement = k, w, h, pl
	return res
}

package compositor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadercast/shadercast/internal/glthread"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

// OutputFormat is the pixel format a pipeline reads back.
type OutputFormat uint8

const (
	// OutputI420 converts to I420 on the GPU (the encoders' format).
	OutputI420 OutputFormat = iota
	// OutputRGBA reads the composited RGBA back unchanged.
	OutputRGBA
)

// ReadbackMode selects how output pixels come back from the GPU.
type ReadbackMode uint8

const (
	// ReadbackAsync reads into a ring of pixel-pack buffers guarded by
	// fences, so that a real GPU renders the next frame while the last one
	// is copied out. Each Process call still returns its own frame.
	ReadbackAsync ReadbackMode = iota
	// ReadbackSync reads with a plain glReadPixels; same bytes, no overlap.
	ReadbackSync
)

// UploadMode selects how input planes reach their textures.
type UploadMode uint8

const (
	// UploadAuto uses pixel-unpack buffers on a GPU and direct uploads on a
	// software renderer, where a buffer is only an extra copy.
	UploadAuto UploadMode = iota
	UploadDirect
	UploadPBO
)

// Config configures a pipeline. The zero value is a sensible default:
// I420 output in BT.709 limited range, asynchronous readback.
type Config struct {
	Output OutputFormat
	// OutputColorSpace is the matrix and range of I420 output; the zero
	// value means BT.709 limited.
	OutputColorSpace media.ColorSpace
	Readback         ReadbackMode
	// RingSize is the number of pixel-pack buffers for ReadbackAsync (3
	// when zero).
	RingSize int
	Upload   UploadMode

	// ControlTimeout bounds how long a control call (AddPass, ReplacePass,
	// RemovePass, SetEnabled, SetOrder, SetUniform, Close) waits for the
	// GL thread to take it up: DefaultControlTimeout when zero. Past it
	// the call fails with ErrBusy, saying what the thread is doing, and
	// changes nothing. Readers (Passes, Stats, Activity) never wait.
	ControlTimeout time.Duration
	// FrameDeadline is the watchdog's limit on one frame: a frame still
	// rendering past it has the pass it overran in disabled once the GPU
	// returns (PassInfo.Error says why; enabling it again retries). Zero
	// means DefaultFrameDeadline, negative never.
	FrameDeadline time.Duration
	// OnPassError, when set, is called when a pass is held out of the
	// chain: it failed on a frame (bypassed until it changes) or a frame
	// overran in it (disabled). Once per failure, not per frame. It runs
	// on the GL thread: it must return quickly and not call the
	// pipeline's methods.
	OnPassError func(PassError)
}

// Output is one composited frame.
type Output struct {
	// Frame is the read-back frame, with the input's timestamp and
	// duration. The receiver owns it and must Close it.
	Frame media.VideoFrame
	// Results are what the passes of the output chain reported in this
	// frame (Frame.Report), in chain order: each pass's own type (the
	// barcode pass's *barcodepass.Result). They belong to this Output: a
	// later frame into another Output leaves them as they are; a Process
	// or Compose into this one reuses their storage.
	Results []any
	// Layers are the results of the layers' own chains (Compose), in
	// layer order, one per chain that ran.
	Layers []LayerResult
	// Renditions are scaled copies of Frame (OutputI420 only): the caller
	// sets the sizes it wants in this frame, the pipeline fills in their
	// frames, which the receiver owns like Frame.
	Renditions []Rendition
}

// PassInfo describes one pass of a chain.
type PassInfo struct {
	Name     string        `json:"name"`
	Enabled  bool          `json:"enabled"`
	Uniforms []UniformInfo `json:"uniforms,omitempty"`
	// From an ISF header (ISF and ShaderToy passes).
	Description string   `json:"description,omitempty"`
	Credit      string   `json:"credit,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	File        string   `json:"file,omitempty"`
	// Error is set while the pass is held out of the chain: it failed on
	// a frame (it is bypassed, the rest of the chain runs, until it is
	// replaced, an input is set, it is enabled again or the frame size
	// changes), or a frame overran the deadline in it (it is disabled).
	Error string `json:"error,omitempty"`
}

// Pipeline composites frames: upload, the pass chain, conversion to the
// output format, readback. Its methods are safe for concurrent use;
// concurrent Process calls are serialized on the device's GL thread and
// each gets its own frame's result.
type Pipeline struct {
	dev *Device
	cfg Config

	// Everything below is owned by the GL thread.
	chain    []*chainEntry
	res      resources
	frames   uint64
	pending  []*request // async readbacks in flight, oldest first
	ring     []readSlot
	ringNext int
	rends    renditions
	timers   timerSet
	inTimer  *passTimer // YUV to RGB
	outTimer *passTimer // I420 packing

	presenter Presenter // GL thread; see SetPresenter

	// Compose's, GL thread: one slot per source frame, and the layer
	// program (made on the first composition).
	sources     []sourceSlot
	layers      layerDrawer
	layerChains []*LayerChain
	fromCanvas  Target // a transition's outgoing scene
	used        []bool // per frame of a composition: shown by a layer

	// audio is what ISF passes' audio inputs show (SetAudio).
	audio audioImages

	// The watchdog's state, GL thread: the passes issued on a GPU and
	// not yet known complete, when the frame being rendered started, the
	// start of the last frame that overran (blamed once), and whether a
	// frame changed what Passes describes.
	marks      []passMark
	frameStart time.Time
	blamed     time.Time
	dirty      bool

	// view is what Passes and Stats read: the GL thread publishes it.
	view atomic.Pointer[chainView]

	closed atomic.Bool
	stats  statsRecorder
}

type chainEntry struct {
	name    string // the pass's, which never changes
	pass    Pass
	enabled bool
	timer   *passTimer
	fused   atomic.Bool // the last frame converted YUV inside this pass
	// err holds the pass out of the chain (see PassInfo.Error); overran
	// says the watchdog disabled it. GL thread.
	err     error
	overran bool
	gone    bool // removed from its chain: the watchdog leaves it be
	// chain is the layer chain the entry is in (nil: the pipeline's), to
	// publish its description when the pass is held out.
	chain *LayerChain
}

// NewPipeline creates a pipeline on dev with the given passes, in order, all
// enabled. A pass that fails to set up fails the call.
func NewPipeline(dev *Device, cfg Config, passes ...Pass) (*Pipeline, error) {
	if cfg.RingSize <= 0 {
		cfg.RingSize = 3
	}
	if cfg.OutputColorSpace.Matrix == media.MatrixUnspecified || cfg.OutputColorSpace.Matrix == media.MatrixRGB {
		cfg.OutputColorSpace.Matrix = media.MatrixBT709
	}
	p := &Pipeline{dev: dev, cfg: cfg}
	err := dev.call(func() error {
		if err := p.res.setup(dev, cfg.OutputColorSpace); err != nil {
			p.res.release(dev)
			return err
		}
		p.timers.enabled = dev.info.TimerQueries
		p.inTimer = p.timers.newTimer(dev)
		p.outTimer = p.timers.newTimer(dev)
		p.res.frame.pl = p
		dev.addPipeline(p)
		p.publish()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, pass := range passes {
		if err := p.AddPass(pass); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Device returns the device the pipeline renders on.
func (p *Pipeline) Device() *Device { return p.dev }

// ErrFrame wraps errors caused by the input frame rather than the GPU.
var ErrFrame = errors.New("compositor: bad input frame")

type reqState = int32

const (
	reqQueued reqState = iota
	reqRunning
	reqCanceled
)

// request carries one frame to the GL thread. Requests are pooled so that
// Process allocates nothing in steady state.
type request struct {
	p     *Pipeline
	in    media.VideoFrame // Process's
	comp  *Composition     // Compose's
	ts    int64            // the output's timestamp and duration, µs
	dur   int64
	out   *Output
	err   error
	state atomic.Int32
	done  chan struct{}
	slot  int // ring slot of an async readback
	start time.Time
	frame uint64 // the pipeline's index of the frame, once rendered
	// outer are the placements of the nested scenes being drawn,
	// outermost first, and nestTop the top-level layer that shows them:
	// what a result inside them is told with.
	outer   []scene.Placement
	nestTop int
	// rends are the rendition slots made in this frame, one per
	// out.Renditions entry (nil where it has an Err).
	rends []*renditionSlot
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// Run implements glthread.Task.
func (r *request) Run() { r.p.serve(r) }

// Abort implements glthread.Task: the device closed with r still queued.
func (r *request) Abort() {
	if r.state.CompareAndSwap(reqQueued, reqRunning) {
		r.finish(ErrClosed)
		return
	}
	r.p.recycle(r) // canceled by its caller, who is gone
}

// Process composites in (which stays the caller's) and stores the result in
// out: out.Frame is a new frame the caller must Close, out.Results is
// overwritten. Errors caused by the frame wrap ErrFrame (or media.ErrClosed);
// the pipeline keeps working after any error.
func (p *Pipeline) Process(ctx context.Context, in media.VideoFrame, out *Output) error {
	if err := p.admit(ctx, out); err != nil {
		return err
	}
	if in.Closed() {
		p.stats.dropped(dropInvalid)
		return fmt.Errorf("%w: %w", ErrFrame, media.ErrClosed)
	}
	r := requestPool.Get().(*request)
	r.p, r.in, r.comp, r.out, r.err = p, in, nil, out, nil
	r.ts, r.dur = in.Timestamp(), in.Duration()
	return p.run(ctx, r)
}

// admit is what Process and Compose check before a frame: out to fill
// (cleared, so that a failed call does not leave the previous, closed
// frame looking like its result), the pipeline open, the caller still
// waiting (no work for one that has given up).
func (p *Pipeline) admit(ctx context.Context, out *Output) error {
	if out == nil {
		return errors.New("compositor: Process and Compose need an Output to fill")
	}
	out.Frame = media.VideoFrame{}
	for i := range out.Renditions {
		out.Renditions[i].Frame, out.Renditions[i].Err = media.VideoFrame{}, nil
	}
	if p.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		p.stats.dropped(dropCanceled)
		return err
	}
	return nil
}

// run hands r to the GL thread and waits for its result.
func (p *Pipeline) run(ctx context.Context, r *request) error {
	r.state.Store(reqQueued)
	r.start = time.Now()
	if err := p.dev.thread.Post(ctx, r); err != nil {
		p.recycle(r)
		if errors.Is(err, glthread.ErrStopped) {
			return ErrClosed
		}
		return err
	}
	var err error
	select {
	case <-r.done:
		err = r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqCanceled) {
			// The GL thread will skip it and recycle it.
			p.stats.dropped(dropCanceled)
			return ctx.Err()
		}
		// Already rendering: its result is ours and arrives within a frame.
		<-r.done
		err = r.err
	}
	p.recycle(r)
	return err
}

func (p *Pipeline) recycle(r *request) {
	r.p, r.in, r.comp, r.out, r.err = nil, media.VideoFrame{}, nil, nil, nil
	clear(r.rends)
	r.rends = r.rends[:0]
	requestPool.Put(r)
}

func (r *request) finish(err error) {
	r.err = err
	r.done <- struct{}{}
}

// serve runs on the GL thread.
func (p *Pipeline) serve(r *request) {
	if !r.state.CompareAndSwap(reqQueued, reqRunning) {
		p.recycle(r)
		return
	}
	if p.closed.Load() {
		r.finish(ErrClosed)
		return
	}
	// Readbacks other pipelines left open for overlap wait at most one
	// frame of ours: a busy neighbour must not starve them.
	p.dev.flushExcept(p)
	p.dev.act.frame.Store(true)
	p.frameStart = time.Now()
	r.frame = p.frames
	defer p.frameDone()
	err := p.render(r)
	if err != nil {
		p.settle(r.frame)
		p.stats.failed()
		r.finish(err)
		return
	}
	if p.cfg.Readback == ReadbackSync || p.cfg.Output == OutputRGBA {
		p.settle(r.frame)
		r.finish(p.readSync(r))
		return
	}
	p.readAsync(r)
	if len(p.pending) >= len(p.ring) {
		p.completeOldest()
	}
	// The device flushes the rest when its queue runs dry (idle).
}

// flush completes every async readback in flight; GL thread.
func (p *Pipeline) flush() {
	for len(p.pending) > 0 {
		p.completeOldest()
	}
	if len(p.marks) > 0 {
		p.settle(p.frames)
		p.dev.act.current.Store(nil)
	}
}

// AddPass appends a pass, compiling it first. On error the chain is
// unchanged and keeps running.
func (p *Pipeline) AddPass(pass Pass) error {
	return p.control(func() error {
		if p.find(pass.Name()) >= 0 {
			return fmt.Errorf("compositor: a pass named %q is already in the chain", pass.Name())
		}
		if err := p.setupPass(pass); err != nil {
			return err
		}
		p.chain = append(p.chain, &chainEntry{name: pass.Name(), pass: pass, enabled: true, timer: p.timers.newTimer(p.dev)})
		return nil
	})
}

// ReplacePass swaps the pass with the same name for pass, keeping its
// position and enabled state. When pass fails to set up, the old one keeps
// running and the error is returned.
func (p *Pipeline) ReplacePass(pass Pass) error {
	return p.control(func() error {
		i := p.find(pass.Name())
		if i < 0 {
			return fmt.Errorf("compositor: no pass named %q", pass.Name())
		}
		if p.chain[i].pass == pass {
			return nil
		}
		if err := p.setupPass(pass); err != nil {
			return err
		}
		e := p.chain[i]
		e.pass.Release(p.dev)
		e.pass, e.err = pass, nil
		if e.overran {
			// The watchdog disabled the old version, not the user.
			e.enabled, e.overran = true, false
		}
		return nil
	})
}

// RemovePass removes and frees a pass.
func (p *Pipeline) RemovePass(name string) error {
	return p.control(func() error {
		i := p.find(name)
		if i < 0 {
			return fmt.Errorf("compositor: no pass named %q", name)
		}
		e := p.chain[i]
		e.pass.Release(p.dev)
		p.timers.deleteTimer(p.dev, e.timer)
		e.gone = true
		p.chain = append(p.chain[:i], p.chain[i+1:]...)
		return nil
	})
}

// SetEnabled turns a pass on or off from the next frame.
func (p *Pipeline) SetEnabled(name string, enabled bool) error {
	return p.control(func() error {
		i := p.find(name)
		if i < 0 {
			return fmt.Errorf("compositor: no pass named %q", name)
		}
		e := p.chain[i]
		e.enabled, e.err, e.overran = enabled, nil, false
		return nil
	})
}

// SetOrder reorders the chain; names must be a permutation of the passes.
func (p *Pipeline) SetOrder(names []string) error {
	return p.control(func() error {
		if len(names) != len(p.chain) {
			return fmt.Errorf("compositor: order names %d passes, the chain has %d", len(names), len(p.chain))
		}
		next := make([]*chainEntry, 0, len(names))
		seen := map[string]bool{}
		for _, n := range names {
			i := p.find(n)
			if i < 0 || seen[n] {
				return fmt.Errorf("compositor: order: %q is unknown or repeated", n)
			}
			seen[n] = true
			next = append(next, p.chain[i])
		}
		p.chain = next
		return nil
	})
}

// SetUniform sets a uniform of a pass from the next frame, type-checked
// against the shader's declaration.
func (p *Pipeline) SetUniform(pass, name string, value any) error {
	return p.control(func() error {
		i := p.find(pass)
		if i < 0 {
			return fmt.Errorf("compositor: no pass named %q", pass)
		}
		e := p.chain[i]
		if err := e.pass.SetUniform(name, value); err != nil {
			return err
		}
		if !e.overran {
			e.err = nil // a bypassed pass gets another try
		}
		return nil
	})
}

// Passes lists the chain in order, as of the last control change or
// frame: it never waits for the GL thread. The slice is the caller's; the
// PassInfo values share storage with other callers' and must not be
// modified.
func (p *Pipeline) Passes() []PassInfo {
	v := p.view.Load()
	if v == nil {
		return nil
	}
	return slices.Clone(v.passes)
}

// setupPass compiles a pass on the GL thread, saying so to Activity.
func (p *Pipeline) setupPass(pass Pass) error {
	name := pass.Name()
	p.dev.act.setup.Store(&name)
	defer p.dev.act.setup.Store(nil)
	return pass.Setup(p.dev)
}

func (p *Pipeline) find(name string) int {
	for i, e := range p.chain {
		if e.pass.Name() == name {
			return i
		}
	}
	return -1
}

// control runs f on the GL thread between frames, within the control
// timeout (ErrBusy past it), and publishes what it changed.
func (p *Pipeline) control(f func() error) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return p.callTimeout(func() error {
		if p.closed.Load() {
			return ErrClosed
		}
		err := f()
		p.publish()
		return err
	})
}

// Close frees every GL object the pipeline made. Frames in flight finish
// first. Close is idempotent. When the GL thread stays busy past the
// control timeout (a frame that does not return), Close gives up with
// ErrBusy: the pipeline is closed to callers, its GL objects are left to
// the process's end.
func (p *Pipeline) Close() error {
	if p.closed.Load() {
		return nil
	}
	err := p.callTimeout(func() error {
		if p.closed.Swap(true) {
			return nil
		}
		p.flush()
		for _, e := range p.chain {
			e.pass.Release(p.dev)
			p.timers.deleteTimer(p.dev, e.timer)
		}
		p.chain = nil
		p.freeRing()
		p.timers.deleteTimer(p.dev, p.inTimer)
		p.timers.deleteTimer(p.dev, p.outTimer)
		p.releaseSources(0)
		for _, c := range p.layerChains {
			c.release()
		}
		p.layerChains = nil
		p.dev.deleteTarget(&p.fromCanvas)
		p.audio.release(p.dev)
		p.layers.release(p.dev)
		p.rends.release(p.dev, true)
		p.res.release(p.dev)
		p.dev.removePipeline(p)
		p.view.Store(&chainView{})
		return nil
	})
	p.closed.Store(true)
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// sortUniforms orders uniforms by name for stable listings.
func sortUniforms(u []UniformInfo) {
	sort.Slice(u, func(i, j int) bool { return u[i].Name < u[j].Name })
}

// render uploads, runs the chain and issues the output conversion; GL thread.
func (p *Pipeline) render(r *request) error {
	var cur *Target
	var err error
	if r.comp != nil {
		cur, err = p.compose(r)
	} else {
		cur, err = p.uploadInput(r)
	}
	if err != nil {
		return err
	}
	return p.runChain(r, cur)
}

// uploadInput puts Process's frame on the GPU: the RGBA target for RGB
// input, nil for YUV, whose planes wait for the conversion (or a pass
// fused with it).
func (p *Pipeline) uploadInput(r *request) (*Target, error) {
	in := r.in
	w, h := in.CodedWidth(), in.CodedHeight()
	if w == 0 {
		p.stats.dropped(dropInvalid)
		return nil, fmt.Errorf("%w: %w", ErrFrame, media.ErrClosed)
	}
	if err := p.ensureSized(in.Format(), w, h); err != nil {
		p.stats.dropped(dropInvalid)
		return nil, err
	}
	p.beginFrame(r, w, h)
	p.res.frame.cs = in.ColorSpace()
	t0 := time.Now()
	cur, err := p.res.in.upload(in)
	if err != nil {
		p.stats.dropped(dropInvalid)
		return nil, err
	}
	p.stats.upload.add(time.Since(t0))
	return cur, nil
}

// beginFrame starts the frame's state for the passes.
func (p *Pipeline) beginFrame(r *request, w, h int) {
	f := &p.res.frame
	f.info = FrameInfo{Index: p.frames, Timestamp: r.ts, Width: w, Height: h}
	f.results = r.out.Results[:0]
	r.out.Layers = r.out.Layers[:0]
	r.frame = p.frames
	p.frames++
	p.timers.collect(p)
	p.stats.in.Add(1)
}

// runChain runs the pass chain on cur (nil: YUV planes not yet
// converted), then converts for the output.
func (p *Pipeline) runChain(r *request, cur *Target) error {
	f := &p.res.frame
	f.nv12 = r.comp == nil && r.in.Format() == media.NV12
	cur, err := p.runPasses(f, p.chain, cur, func() (*Target, error) {
		p.inTimer.begin()
		defer p.inTimer.end()
		return p.res.convert(p.dev, f.nv12)
	})
	if err != nil {
		return err
	}
	r.out.Results = f.results
	p.res.result = cur
	if p.presenter != nil {
		if err := p.present(r); err != nil {
			return err
		}
	}
	if p.cfg.Output == OutputI420 {
		p.outTimer.begin()
		p.res.packInto(p.res.result, &p.res.packed)
		p.renderRenditions(r)
		p.outTimer.end()
	}
	return glError("rendering frame")
}

// runPasses runs entries, in order, on cur, drawing into f's ping-pong
// targets, and returns the result. cur is nil only for the output chain's
// YUV input: a pass that can read the planes itself renders from them
// (fused); convert makes the RGBA for the first one that cannot (or for
// the result, with no pass at all). A pass that fails is held out and the
// rest of the chain runs on what the passes before it made.
func (p *Pipeline) runPasses(f *Frame, entries []*chainEntry, cur *Target, convert func() (*Target, error)) (*Target, error) {
	var err error
	for _, e := range entries {
		if !e.enabled || e.err != nil {
			continue
		}
		e.fused.Store(false)
		if cur == nil {
			if sp, ok := e.pass.(*ShaderPass); ok {
				if prog := sp.fusedProgram(f, f.nv12); prog != nil {
					e.timer.begin()
					sp.renderYUV(f, prog, &f.ping[0])
					e.timer.end()
					p.passIssued(e)
					e.fused.Store(true)
					cur = &f.ping[0]
					continue
				}
			}
			if cur, err = convert(); err != nil {
				return nil, err
			}
		}
		dst := f.other(cur)
		p.dev.act.current.Store(e) // a pass may block while issuing, too
		e.timer.begin()
		next, err := e.pass.Render(f, cur, dst)
		e.timer.end()
		if err != nil {
			p.passFailed(e, err)
			continue
		}
		p.passIssued(e)
		cur = next
	}
	if cur == nil {
		return convert()
	}
	return cur, nil
}

// Stats returns counters and timings; safe from any goroutine, and it
// never waits for the GL thread.
func (p *Pipeline) Stats() Stats {
	s := p.stats.snapshot()
	if v := p.view.Load(); v != nil {
		for i, e := range v.entries {
			ps := PassStats{Name: e.name, Enabled: v.passes[i].Enabled, FusedInput: e.fused.Load(), Error: v.passes[i].Error}
			if e.timer != nil {
				ps.GPUMillis = e.timer.millis()
				ps.Measured = e.timer.measured.Load()
			}
			s.Passes = append(s.Passes, ps)
		}
	}
	s.InputGPUMillis = p.inTimer.millis()
	s.OutputGPUMillis = p.outTimer.millis()
	s.Objects = p.dev.Objects()
	return s
}

package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/regularfile"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
)

// scenes is the service composing a scenes description (--scenes): the
// set in force, replaced when the file changes and the new one is good.
type scenes struct {
	path string
	cur  atomic.Pointer[sceneSet]
	// applyMu serializes replacing cur (file reloads, activations); ctx
	// is the run's, which the sources of a new set run under.
	applyMu sync.Mutex
	ctx     context.Context
	// chains are the layers' own pass chains of the set in force, by
	// chainKey (under applyMu).
	chains map[string]*compositor.LayerChain
	// transitions are the transitions' chains by name, made on first use
	// and kept (under applyMu).
	transitions map[string]*compositor.LayerChain

	// fromFile is the last version read from the file: the files it
	// names are the ones a description sent through the API may name
	// besides --media's (under applyMu).
	fromFile *scene.Description

	mu        sync.Mutex
	reloadErr string // the last bad version's error, until a good one
	file      stamp
	// shaders are the isf sources' files as last looked at: a change
	// rebuilds their generators.
	shaders map[string]stamp
}

// sceneSet is one description on the service: its sources, each run on
// its own and holding its newest frame, and the programme scene's layers,
// resolved to the sources' indices.
type sceneSet struct {
	desc    *scene.Description
	sources []*sceneSource     // by name
	program []compositor.Layer // Frame: index into sources
	// trans is the switch to program under way, if any.
	trans *sceneTransition
}

// loadScenes reads, parses and checks a scenes file.
func loadScenes(path string) (*scene.Description, error) {
	f, err := regularfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--scenes: %w", err)
	}
	defer f.Close()
	data, err := regularfile.ReadAll(f, path, scene.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("--scenes: %w", err)
	}
	d, err := parseScenes(data)
	if err != nil {
		return nil, fmt.Errorf("--scenes %s: %w", path, err)
	}
	// A file's relative paths are its folder's, as a web page's are.
	dir := filepath.Dir(path)
	for name, src := range d.Sources {
		for _, p := range []*string{&src.Path, &src.Font} {
			if *p != "" && *p != "-" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
		d.Sources[name] = src
	}
	return d, nil
}

// parseScenes parses and checks a description (a file's, or one sent
// through the API): the model's checks, and the service's own: standard
// input can feed one source only.
func parseScenes(data []byte) (*scene.Description, error) {
	d, err := scene.Parse(data, scene.Checks{})
	if err != nil {
		return nil, err
	}
	var errs scene.Errors
	stdin := ""
	for _, name := range slices.Sorted(maps.Keys(d.Sources)) {
		if d.Sources[name].Path != "-" {
			continue
		}
		if stdin != "" {
			errs = append(errs, &scene.Error{Path: "sources." + name + ".path", Msg: fmt.Sprintf(`"-" (standard input) is source %q's already: one source can read it`, stdin)})
		}
		stdin = name
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return d, nil
}

// configuredInput is what the service was told to show: --input, or the
// scenes file.
func (s *Service) configuredInput() string {
	if s.cfg.Scenes != "" {
		return "scenes:" + s.cfg.Scenes
	}
	return s.cfg.Input
}

// newSceneSet resolves d's programme for Compose, taking over the
// sources of old (may be nil) that d names with the same settings: they
// keep running and keep their frames. Layers with passes get their chain
// from chains (see buildChains).
func newSceneSet(d *scene.Description, old *sceneSet, chains map[string]*compositor.LayerChain) *sceneSet {
	set := &sceneSet{desc: d}
	index := map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(d.Sources)) {
		ss := &sceneSource{name: name, spec: d.Sources[name], state: "opening"}
		if ss.spec.Type == scene.TypeISF || ss.spec.Type == scene.TypeScene {
			ss.state = "live" // rendered by the compositor, not read
		}
		if old != nil {
			if i := slices.IndexFunc(old.sources, func(o *sceneSource) bool { return o.name == name }); i >= 0 &&
				reflect.DeepEqual(old.sources[i].spec, ss.spec) {
				ss = old.sources[i]
			}
		}
		index[name] = len(set.sources)
		set.sources = append(set.sources, ss)
	}
	set.program = resolveLayers(d, d.Scenes[d.Program].Layers, index, chains, 0)
	return set
}

// resolveLayers turns a scene's layers into the compositor's: sources by
// index, generators and nested scenes (whose own layers are resolved in
// turn; validation refused cycles) by their chains.
func resolveLayers(d *scene.Description, layers []scene.Layer, index map[string]int, chains map[string]*compositor.LayerChain, depth int) []compositor.Layer {
	var out []compositor.Layer
	for _, l := range layers {
		cl := compositor.Layer{Frame: index[l.Source], Spec: l, Chain: chains[layerKey(d, &l)]}
		switch src := d.Sources[l.Source]; src.Type {
		case scene.TypeISF:
			cl.Frame = compositor.Generated
		case scene.TypeScene:
			cl.Frame = compositor.Generated
			if depth < compositor.MaxNesting {
				cl.Nested = resolveLayers(d, d.Scenes[src.Scene].Layers, index, chains, depth+1)
			}
		}
		out = append(out, cl)
	}
	return out
}

// size is a source's render size: its own, or the canvas's.
func (set *sceneSet) size(src scene.Source) [2]int {
	if src.Width > 0 {
		return [2]int{src.Width, src.Height}
	}
	return [2]int{set.desc.Canvas.Width, set.desc.Canvas.Height}
}

// runScenes runs every source, the file's watch and the mixer until ctx
// ends.
func (s *Service) runScenes(ctx context.Context) {
	s.scenes.applyMu.Lock()
	s.scenes.ctx = ctx
	s.scenes.applyMu.Unlock()
	set := s.scenes.cur.Load()
	for _, ss := range set.sources {
		ss.start(ctx, s, set)
	}
	var wg sync.WaitGroup
	// Publishers at plain /whip have no place in a description: whip
	// sources have endpoints of their own. Refuse them rather than hold
	// them.
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-s.whipPubs:
				s.log.Warn("WHIP publisher refused: with --scenes, publish to /whip/{name} of a whip source")
				p.Close()
			}
		}
	}()
	go func() {
		defer wg.Done()
		s.watchScenes(ctx)
	}()
	s.inputs.set("scenes", "live")
	s.mix(ctx)
	wg.Wait()
	for _, ss := range s.scenes.cur.Load().sources {
		ss.end()
	}
}

// applyScenes puts d in force: sources the set in force has with the same
// settings run on, new ones start, the others stop; layer chains likewise.
// SSE scenes announces it. A chain that cannot be made (a pass that does
// not compile) fails it, and the set in force stays. fromFile says d is
// the scenes file's: the files it names may be named through the API.
func (s *Service) applyScenes(d *scene.Description, fromFile bool) error {
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	return s.applyScenesLocked(d, fromFile)
}

// applyScenesLocked is applyScenes with applyMu held. A transition under
// way goes on when d keeps the programme and the scene it comes from.
func (s *Service) applyScenesLocked(d *scene.Description, fromFile bool) error {
	chains, err := s.buildChains(d, s.scenes.chains)
	if err != nil {
		if fromFile {
			return fmt.Errorf("--scenes %s: %w", s.scenes.path, err)
		}
		return err
	}
	if !s.applyLocked(d, chains, s.carryTransition(d)) {
		closeChains(chains, s.scenes.chains)
		return errors.New("the service is stopping")
	}
	if fromFile {
		s.scenes.fromFile = d
	}
	return nil
}

// ScenesEvent is SSE "scenes": a description put in force, or a switch.
type ScenesEvent struct {
	Program string `json:"program"`
	// Transition, Duration (seconds) and From (the scene going off) say a
	// switch is made through a transition.
	Transition string  `json:"transition,omitempty"`
	Duration   float64 `json:"duration,omitempty"`
	From       string  `json:"from,omitempty"`
}

// carryTransition is the transition under way, to go on in d: when d keeps
// the programme and the scene it comes from (a PATCH of a layer's gain,
// a plugin reloaded); nil otherwise. Under applyMu.
func (s *Service) carryTransition(d *scene.Description) *sceneTransition {
	cur := s.scenes.cur.Load()
	t := cur.trans
	if t == nil || t.progress(time.Now()) >= 1 || d.Program != cur.desc.Program {
		return nil
	}
	if _, ok := d.Scenes[t.from]; !ok {
		return nil
	}
	return &sceneTransition{name: t.name, from: t.from, chain: t.chain, start: t.start, duration: t.duration}
}

// applyLocked is applyScenes with applyMu held and d's chains made; it
// reports whether it put them in force (not when the service is not
// running, or stopping). A transition's outgoing layers are resolved here,
// on the new set's sources and chains.
func (s *Service) applyLocked(d *scene.Description, chains map[string]*compositor.LayerChain, trans *sceneTransition) bool {
	sc := s.scenes
	if sc.ctx == nil || sc.ctx.Err() != nil {
		return false
	}
	cur := sc.cur.Load()
	next := newSceneSet(d, cur, chains)
	if trans != nil {
		index := map[string]int{}
		for i, ss := range next.sources {
			index[ss.name] = i
		}
		trans.layers = resolveLayers(d, d.Scenes[trans.from].Layers, index, chains, 0)
	}
	next.trans = trans
	// The set is in force before its new sources start: a whip source
	// finds its endpoint in it.
	sc.cur.Store(next)
	for _, ss := range next.sources {
		if ss.done == nil {
			ss.start(sc.ctx, s, next)
		}
	}
	s.syncWHIPSources(d)
	// A composition still in flight with a chain closed here shows its
	// layer without it, once.
	closeChains(sc.chains, chains)
	sc.chains = chains
	for _, ss := range cur.sources {
		if !slices.Contains(next.sources, ss) {
			go ss.end()
		}
	}
	ev := ScenesEvent{Program: d.Program}
	if trans != nil {
		ev.Transition, ev.Duration, ev.From = trans.name, trans.duration.Seconds(), trans.from
	}
	if b, err := json.Marshal(ev); err == nil {
		s.hub.publish(event{name: "scenes", data: b})
	}
	if s.win != nil {
		s.win.SetStatus("scene " + d.Program)
	}
	return true
}

// mix composes the programme at the canvas's rate: each tick, every
// source's newest frame, and the layers whose source has one. A layer
// whose source has none yet shows what is below it.
func (s *Service) mix(ctx context.Context) {
	cv := s.scenes.cur.Load().desc.Canvas // fixed while running
	interval := time.Duration(float64(time.Second) / cv.FPS)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	next := time.Now()
	c := compositor.Composition{Width: cv.Width, Height: cv.Height, Duration: interval.Microseconds()}
	var out compositor.Output
	var trans compositor.Transition
	lastOut := int64(-1)
	for {
		// Frames are due every interval from the start. One a whole
		// interval late is skipped and counted (drops "late"), rather
		// than the programme falling behind.
		next = next.Add(interval)
		if late := time.Since(next); late >= interval {
			n := late / interval
			s.stats.dropsLate.Add(uint64(n))
			next = next.Add(n * interval)
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		set := s.scenes.cur.Load()
		c.Frames = c.Frames[:0]
		for _, ss := range set.sources {
			c.Frames = append(c.Frames, ss.newest(set))
		}
		c.Layers = showable(c.Layers[:0], c.Frames, set.program)
		c.Transition = nil
		if t := set.trans; t != nil {
			if progress := t.progress(time.Now()); progress < 1 {
				trans.From = showable(trans.From[:0], c.Frames, t.layers)
				trans.Chain, trans.Progress = t.chain, progress
				c.Transition = &trans
			}
		}
		c.Timestamp = max(time.Since(s.start).Microseconds(), lastOut+1)
		lastOut = c.Timestamp
		created := time.Now()
		err := s.pl.Compose(ctx, &c, &out)
		for i := range c.Frames {
			c.Frames[i].Close()
			c.Frames[i] = media.VideoFrame{}
		}
		c.Frames = c.Frames[:0]
		s.stats.framesIn.Add(1)
		s.output(ctx, err, created, &out)
	}
}

// showable appends to dst the layers that have something to show: a
// generator, or a source with a frame in frames.
func showable(dst []compositor.Layer, frames []media.VideoFrame, layers []compositor.Layer) []compositor.Layer {
	for _, l := range layers {
		if l.Frame == compositor.Generated && l.Chain != nil || l.Frame >= 0 && !frames[l.Frame].Closed() {
			dst = append(dst, l)
		}
	}
	return dst
}

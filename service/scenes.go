package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/regularfile"
	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/isf"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/plugins"
	"github.com/shadercast/shadercast/scene"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/source/still"
	"github.com/shadercast/shadercast/source/testsrc"
	"github.com/shadercast/shadercast/source/text"
	"github.com/shadercast/shadercast/source/y4m"
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

// sceneTransition is a switch from one scene to the programme through a
// transition's pass, over a duration from start.
type sceneTransition struct {
	name     string
	from     string             // the scene going off
	layers   []compositor.Layer // its layers, on the set's sources
	chain    *compositor.LayerChain
	start    time.Time
	duration time.Duration
}

// progress is how far the transition is at t, 0 to 1.
func (t *sceneTransition) progress(at time.Time) float64 {
	if t.duration <= 0 {
		return 1
	}
	return min(max(float64(at.Sub(t.start))/float64(t.duration), 0), 1)
}

// sceneSource is one source of the description on the service: opened
// (again, with backoff, after a failure), read, its newest frame kept.
type sceneSource struct {
	name string
	spec scene.Source
	// stop ends run; done closes when it has.
	stop context.CancelFunc
	done chan struct{}

	mu        sync.Mutex
	frame     media.VideoFrame // newest, owned; closed when none yet
	at        time.Time        // when it came
	frames    uint64
	state     string // "opening", "live", "ended", "failed"
	lastError string
	// A text source's fields set through the API, given again to each
	// instance opened; running is the one open.
	fields  map[string]string
	running *text.Source
}

// loadScenes reads, parses and checks a scenes file. It names what this
// version cannot do yet (issue 11 is being built in steps) rather than
// ignore it.
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
	d, err := scene.Parse(data, scene.Checks{})
	if err != nil {
		return nil, fmt.Errorf("--scenes %s: %w", path, err)
	}
	var errs scene.Errors
	for _, name := range slices.Sorted(maps.Keys(d.Sources)) {
		switch t := d.Sources[name].Type; t {
		case scene.TypeTestsrc, scene.TypeY4M, scene.TypeImage, scene.TypeColor, scene.TypeText, scene.TypeISF:
		default:
			errs = append(errs, &scene.Error{Path: "sources." + name, Msg: fmt.Sprintf("%s sources are not composed yet: this version composes testsrc, y4m, image, color, text and isf", t)})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("--scenes %s: %w", path, errs)
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

// chainKey names a layer's own pass chain: the layers that show one source
// through the same passes share one chain, in every scene, so that it runs
// once per frame and its state (the codes a barcode pass follows) lives
// on across scene switches.
func chainKey(l *scene.Layer) string {
	return l.Source + "\x00" + strings.Join(l.Passes, "\x00")
}

// generatorKey names the generator chain of a layer showing an isf
// source: the source's name and settings, and the layer's passes (they
// run after the shader, in the same chain).
func generatorKey(d *scene.Description, l *scene.Layer) string {
	spec, _ := json.Marshal(d.Sources[l.Source]) // map keys sorted: one text per value
	return "isf\x00" + string(spec) + "\x00" + chainKey(l)
}

// layerKey is the key of l's chain in a chains map: its generator's for
// an isf source, else its own passes' ("" for none).
func layerKey(d *scene.Description, l *scene.Layer) string {
	if d.Sources[l.Source].Type == scene.TypeISF {
		return generatorKey(d, l)
	}
	if len(l.Passes) == 0 {
		return ""
	}
	return chainKey(l)
}

// buildChains makes the layer chains d needs (layers' own passes, and
// the generators of isf sources), taking over those of have (may be nil)
// that it needs again. On an error (a pass that does not exist or does
// not compile, a shader that does not load or fails its trial, told by
// its place in d) the chains it made are freed and have is left as it
// was. The caller closes what it no longer uses of have once the new
// chains are in force.
func (s *Service) buildChains(d *scene.Description, have map[string]*compositor.LayerChain) (map[string]*compositor.LayerChain, error) {
	chains := map[string]*compositor.LayerChain{}
	var errs scene.Errors
	failed := map[string]bool{} // sources whose shader failed: said once
	for _, name := range slices.Sorted(maps.Keys(d.Scenes)) {
		for i := range d.Scenes[name].Layers {
			l := &d.Scenes[name].Layers[i]
			key := layerKey(d, l)
			if key == "" || chains[key] != nil || failed[l.Source] {
				continue
			}
			if c := have[key]; c != nil {
				chains[key] = c
				continue
			}
			src := d.Sources[l.Source]
			if src.Type == scene.TypeISF {
				c, err := s.newGenerator(d, l)
				if err != nil {
					failed[l.Source] = true
					errs = append(errs, &scene.Error{Path: "sources." + l.Source, Msg: err.Error()})
					continue
				}
				chains[key] = c
				continue
			}
			c, err := s.newLayerChain(l)
			if err != nil {
				errs = append(errs, &scene.Error{Path: fmt.Sprintf("scenes.%s.layers[%d].passes", name, i), Msg: err.Error()})
				continue
			}
			chains[key] = c
		}
	}
	if len(errs) > 0 {
		for key, c := range chains {
			if have[key] != c {
				c.Close()
			}
		}
		return nil, errs
	}
	return chains, nil
}

// newLayerChain makes the chain of l's passes: the barcode pass with the
// service's settings, the others from the plugin registry (built-in
// filters, ISF files).
func (s *Service) newLayerChain(l *scene.Layer) (*compositor.LayerChain, error) {
	var passes []compositor.Pass
	for _, name := range l.Passes {
		p, err := s.newPass(name)
		if err != nil {
			return nil, err
		}
		passes = append(passes, p)
	}
	return s.pl.NewLayerChain(l.Source, passes...)
}

// newPass makes a layer's pass by name.
func (s *Service) newPass(name string) (compositor.Pass, error) {
	if name == "barcode" {
		return compositor.NewBarcodePass(s.barcodeParams), nil
	}
	if in, ok := s.passes.reg.Lookup(name); ok && in.Transition {
		return nil, errTransition(name)
	}
	return s.passes.reg.New(name)
}

// newGenerator makes the generator of l's isf source: its shader (read,
// its inputs checked and set, tried in a child process as a plugin file
// is), at the source's size, then the layer's own passes.
func (s *Service) newGenerator(d *scene.Description, l *scene.Layer) (*compositor.LayerChain, error) {
	src := d.Sources[l.Source]
	// Looked at before it is read: an edit while it is read is seen by
	// the next look.
	s.scenes.noteShader(src.Path)
	_, pass, err := plugins.LoadFileWith(src.Path, plugins.FileOptions{MaxImagePixels: s.cfg.MaxImagePixels, Inputs: src.Inputs, Trial: s.tryShader})
	if err != nil {
		return nil, err
	}
	passes := []compositor.Pass{pass}
	for _, name := range l.Passes {
		p, err := s.newPass(name)
		if err != nil {
			return nil, fmt.Errorf("layer pass %q: %w", name, err)
		}
		passes = append(passes, p)
	}
	w, h := src.Width, src.Height
	if w == 0 {
		w, h = d.Canvas.Width, d.Canvas.Height
	}
	return s.pl.NewGenerator(l.Source, w, h, passes...)
}

// closeChains closes the chains of old that next does not have.
func closeChains(old, next map[string]*compositor.LayerChain) {
	for key, c := range old {
		if next[key] != c {
			c.Close()
		}
	}
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
		if ss.spec.Type == scene.TypeISF {
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
	for _, l := range d.Scenes[d.Program].Layers {
		frame := index[l.Source]
		if d.Sources[l.Source].Type == scene.TypeISF {
			frame = compositor.Generated
		}
		set.program = append(set.program, compositor.Layer{Frame: frame, Spec: l, Chain: chains[layerKey(d, &l)]})
	}
	return set
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
	// WHIP publishers have no place in a description without whip
	// sources: refuse them rather than hold them.
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-s.whipPubs:
				s.log.Warn("WHIP publisher refused: the scenes have no whip source")
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

// scenesPoll is how often the scenes file is looked at for a change.
const scenesPoll = 500 * time.Millisecond

// watchScenes reloads the scenes file when it changes (its size or
// modification time). A good version replaces the one in force (sources
// it keeps as they were run on, new ones open, gone ones close); a bad one
// changes nothing, and its error (with its line) is logged once, counted,
// announced (SSE scenes-error) and shown by GET /api/scenes until a good
// version comes.
func (s *Service) watchScenes(ctx context.Context) {
	t := time.NewTicker(scenesPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := s.scenes.cur.Load()
		if !s.scenes.changed() {
			if redo := s.scenes.shadersChanged(cur.desc); len(redo) > 0 {
				if err := s.rebuildGenerators(redo); err != nil {
					s.scenesError(err)
				} else {
					s.log.Info("isf source shaders reloaded")
				}
			}
			continue
		}
		d, err := loadScenes(s.scenes.path)
		if err == nil && d.Canvas != cur.desc.Canvas {
			err = fmt.Errorf("--scenes %s: canvas: %dx%d at %g fps cannot change while running (it sizes the encoders); restart to change it",
				s.scenes.path, d.Canvas.Width, d.Canvas.Height, d.Canvas.FPS)
		}
		if err == nil {
			err = s.applyScenes(d)
		}
		if err != nil {
			s.scenesError(err)
			continue
		}
		s.scenes.mu.Lock()
		s.scenes.reloadErr = ""
		s.scenes.mu.Unlock()
		s.log.Info("scenes file applied", "program", d.Program)
	}
}

// scenesError reports a version of the scenes (or of an isf source's
// shader) not applied: logged once, counted, announced (SSE scenes-error)
// and shown by GET /api/scenes until a good version comes.
func (s *Service) scenesError(err error) {
	s.scenes.mu.Lock()
	repeat := s.scenes.reloadErr == err.Error()
	s.scenes.reloadErr = err.Error()
	s.scenes.mu.Unlock()
	if repeat {
		return
	}
	s.stats.scenesErrors.Add(1)
	s.log.Error("scenes file not applied; the last good one stays", "err", err)
	if b, jerr := json.Marshal(map[string]string{"error": err.Error()}); jerr == nil {
		s.hub.publish(event{name: "scenes-error", data: b})
	}
}

// rebuildGenerators makes the generators of the isf sources in redo (by
// name) again from their files, in the description in force; on an error
// the ones running stay.
func (s *Service) rebuildGenerators(redo map[string]bool) error {
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	d := s.scenes.cur.Load().desc
	have := maps.Clone(s.scenes.chains)
	for _, sc := range d.Scenes {
		for i := range sc.Layers {
			if redo[sc.Layers[i].Source] {
				delete(have, layerKey(d, &sc.Layers[i]))
			}
		}
	}
	chains, err := s.buildChains(d, have)
	if err != nil {
		return fmt.Errorf("--scenes %s: %w", s.scenes.path, err)
	}
	if !s.applyLocked(d, chains, nil) {
		closeChains(chains, s.scenes.chains)
	}
	s.scenes.mu.Lock()
	s.scenes.reloadErr = ""
	s.scenes.mu.Unlock()
	return nil
}

// applyScenes puts d in force: sources the set in force has with the same
// settings run on, new ones start, the others stop; layer chains likewise.
// SSE scenes announces it. A chain that cannot be made (a pass that does
// not compile) fails it, and the set in force stays.
func (s *Service) applyScenes(d *scene.Description) error {
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	chains, err := s.buildChains(d, s.scenes.chains)
	if err != nil {
		return fmt.Errorf("--scenes %s: %w", s.scenes.path, err)
	}
	if !s.applyLocked(d, chains, nil) {
		closeChains(chains, s.scenes.chains)
	}
	return nil
}

// switchProgram puts scene name on air, with a cut when tr is nil, and
// reports whether the description in force has it. The change is made on
// the description in force under applyMu, so that a reload between the
// caller's look and the switch is not undone. A switch during a
// transition starts from the scene that transition was going to.
func (s *Service) switchProgram(name string, tr *switchRequest) bool {
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	cur := s.scenes.cur.Load()
	if _, ok := cur.desc.Scenes[name]; !ok {
		return false
	}
	d := *cur.desc
	from := d.Program
	d.Program = name
	var trans *sceneTransition
	if tr != nil && from != name {
		// The sources are the description's, in the same order: the
		// outgoing layers keep their frame indices.
		trans = &sceneTransition{name: tr.name, from: from, layers: cur.program, chain: tr.chain, start: time.Now(), duration: tr.duration}
	}
	s.applyLocked(&d, s.scenes.chains, trans)
	return true
}

// switchRequest is a transition asked for: its chain, ready, and how long.
type switchRequest struct {
	name     string
	chain    *compositor.LayerChain
	duration time.Duration
}

// transitionChain returns the chain of the transition called name, made on
// first use, with inputs set (the others as last set, or the shader's
// defaults).
func (s *Service) transitionChain(name string, inputs map[string]any) (*compositor.LayerChain, error) {
	in, ok := s.passes.reg.Lookup(name)
	if !ok || !in.Transition {
		return nil, fmt.Errorf("no transition %q (the transitions: %s)", name, strings.Join(s.transitionNames(), ", "))
	}
	s.scenes.applyMu.Lock()
	defer s.scenes.applyMu.Unlock()
	c := s.scenes.transitions[name]
	if c == nil {
		pass, err := s.passes.reg.New(name)
		if err != nil {
			return nil, err
		}
		if c, err = s.pl.NewTransition(name, pass); err != nil {
			return nil, err
		}
		if s.scenes.transitions == nil {
			s.scenes.transitions = map[string]*compositor.LayerChain{}
		}
		s.scenes.transitions[name] = c
	}
	for _, k := range slices.Sorted(maps.Keys(inputs)) {
		if k == isf.InputProgress {
			return nil, fmt.Errorf("transition %q: progress is the transition's own", name)
		}
		if err := c.SetUniform(name, k, inputs[k]); err != nil {
			return nil, fmt.Errorf("transition %q: %w", name, err)
		}
	}
	return c, nil
}

// transitionNames lists the transitions the registry has, by name.
func (s *Service) transitionNames() []string {
	out := []string{}
	for _, in := range s.passes.reg.List() {
		if in.Transition {
			out = append(out, in.Name)
		}
	}
	sort.Strings(out)
	return out
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

// applyLocked is applyScenes with applyMu held and d's chains made; it
// reports whether it put them in force (not when the service is not
// running, or stopping).
func (s *Service) applyLocked(d *scene.Description, chains map[string]*compositor.LayerChain, trans *sceneTransition) bool {
	sc := s.scenes
	if sc.ctx == nil || sc.ctx.Err() != nil {
		return false
	}
	cur := sc.cur.Load()
	next := newSceneSet(d, cur, chains)
	next.trans = trans
	for _, ss := range next.sources {
		if ss.done == nil {
			ss.start(sc.ctx, s, next)
		}
	}
	sc.cur.Store(next)
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

// activateNth puts the n-th scene (from 1, in name order) on air: the
// preview window's digit keys.
func (s *Service) activateNth(n int) {
	if s.scenes == nil {
		return
	}
	names := slices.Sorted(maps.Keys(s.scenes.cur.Load().desc.Scenes))
	if n < 1 || n > len(names) {
		return
	}
	if s.switchProgram(names[n-1], nil) {
		s.log.Info("preview: scene activated", "program", names[n-1])
	}
}

// ActivateRequest is the body of POST /api/scenes/{name}/activate (it may
// be empty: a cut).
type ActivateRequest struct {
	// Transition names a transition (GET /api/scenes "transitions"); empty
	// or "cut" for a cut.
	Transition string `json:"transition"`
	// Duration is the transition's, in seconds (0: 1 s; at most 60).
	Duration float64 `json:"duration"`
	// Inputs set the transition's own inputs (a wipe's angle) from this
	// switch on.
	Inputs map[string]any `json:"inputs,omitempty"`
}

// defaultTransition is a transition's duration when none is asked.
const defaultTransition = time.Second

// apiActivate is POST /api/scenes/{name}/activate: the scene goes on air.
// Only a cut exists yet; a transition is refused by name (422) rather than
// cut without saying so.
func (s *Service) apiActivate(w http.ResponseWriter, r *http.Request) {
	name, ok := s.scenesRoute(w, r, "/api/scenes/", "/activate")
	if !ok {
		return
	}
	var req ActivateRequest
	if r.ContentLength != 0 {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			jsonError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
	}
	if math.IsNaN(req.Duration) || req.Duration < 0 || req.Duration > 60 {
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("duration %g: want 0 to 60 seconds", req.Duration))
		return
	}
	if _, ok := s.scenes.cur.Load().desc.Scenes[name]; !ok {
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("no scene %q", name))
		return
	}
	var tr *switchRequest
	if req.Transition != "" && !strings.EqualFold(req.Transition, "cut") {
		chain, err := s.transitionChain(req.Transition, req.Inputs)
		if err != nil {
			jsonError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		d := time.Duration(req.Duration * float64(time.Second))
		if d == 0 {
			d = defaultTransition
		}
		tr = &switchRequest{name: req.Transition, chain: chain, duration: d}
	} else if len(req.Inputs) > 0 {
		jsonError(w, http.StatusUnprocessableEntity, "inputs: a cut has none")
		return
	}
	if !s.switchProgram(name, tr) {
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("no scene %q", name))
		return
	}
	s.log.Info("scene activated", "program", name, "transition", req.Transition)
	writeJSON(w, http.StatusOK, map[string]string{"program": name})
}

// stamp is what is looked at of a file to see it changed.
type stamp struct {
	mtime time.Time
	size  int64
}

// look reports whether the file at path changed since *st (the first look
// only records it) and records its stamp.
func look(path string, st *stamp) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if fi.ModTime().Equal(st.mtime) && fi.Size() == st.size {
		return false
	}
	first := st.mtime.IsZero()
	*st = stamp{fi.ModTime(), fi.Size()}
	return !first
}

// changed reports whether the scenes file's size or modification time
// differ from the last look (the first look only records them).
func (sc *scenes) changed() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return look(sc.path, &sc.file)
}

// noteShader records the stamp of an isf source's file as it is read.
func (sc *scenes) noteShader(path string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.shaders == nil {
		sc.shaders = map[string]stamp{}
	}
	st := stamp{}
	look(path, &st)
	sc.shaders[path] = st
}

// shadersChanged returns the isf sources of d whose shader file changed
// since the last look (a source new to the watch is recorded, not
// reported).
func (sc *scenes) shadersChanged(d *scene.Description) map[string]bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	next := map[string]stamp{}
	changed := map[string]bool{} // by path: a file two sources share is looked at once
	for _, src := range d.Sources {
		if _, ok := next[src.Path]; ok || src.Type != scene.TypeISF {
			continue
		}
		st := sc.shaders[src.Path]
		changed[src.Path] = look(src.Path, &st)
		next[src.Path] = st
	}
	sc.shaders = next
	var out map[string]bool
	for name, src := range d.Sources {
		if src.Type == scene.TypeISF && changed[src.Path] {
			if out == nil {
				out = map[string]bool{}
			}
			out[name] = true
		}
	}
	return out
}

// start runs the source on its own goroutine.
func (ss *sceneSource) start(ctx context.Context, s *Service, set *sceneSet) {
	if ss.spec.Type == scene.TypeISF {
		return // a generator on the GL thread: nothing to read
	}
	ctx, ss.stop = context.WithCancel(ctx)
	ss.done = make(chan struct{})
	go func() {
		defer close(ss.done)
		ss.run(ctx, s, set)
	}()
}

// end stops the source and frees its last frame once it has stopped.
func (ss *sceneSource) end() {
	if ss.stop == nil {
		return
	}
	ss.stop()
	<-ss.done
	ss.mu.Lock()
	ss.frame.Close()
	ss.mu.Unlock()
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
	var layerSources []string // the source of each of c.Layers, then of c.Transition.From
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
			c.Frames = append(c.Frames, ss.newest())
		}
		c.Layers, layerSources = showable(c.Layers[:0], layerSources[:0], set, c.Frames, set.program)
		c.Transition = nil
		if t := set.trans; t != nil {
			if progress := t.progress(time.Now()); progress < 1 {
				trans.From, layerSources = showable(trans.From[:0], layerSources, set, c.Frames, t.layers)
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
		s.output(ctx, err, created, &out, layerSources)
	}
}

// showable appends to dst the layers that have something to show (a
// generator, or a source with a frame in frames), and their sources' names
// to names.
func showable(dst []compositor.Layer, names []string, set *sceneSet, frames []media.VideoFrame, layers []compositor.Layer) ([]compositor.Layer, []string) {
	for _, l := range layers {
		switch {
		case l.Frame == compositor.Generated:
			if l.Chain != nil {
				dst = append(dst, l)
				names = append(names, l.Spec.Source)
			}
		case !frames[l.Frame].Closed():
			dst = append(dst, l)
			names = append(names, set.sources[l.Frame].name)
		}
	}
	return dst, names
}

// newest returns a reference to the source's newest frame (closed when it
// has none), which the caller closes.
func (ss *sceneSource) newest() media.VideoFrame {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f, err := ss.frame.Clone()
	if err != nil {
		return media.VideoFrame{}
	}
	return f
}

// put keeps f as the newest frame, closing the one before.
func (ss *sceneSource) put(f media.VideoFrame) {
	ss.mu.Lock()
	ss.frame.Close()
	ss.frame, ss.at = f, time.Now()
	ss.frames++
	ss.mu.Unlock()
}

func (ss *sceneSource) set(state, lastError string) {
	ss.mu.Lock()
	ss.state = state
	if lastError != "" {
		ss.lastError = lastError
	}
	ss.mu.Unlock()
}

// run opens and reads the source until ctx ends. A failure is logged once
// per cause and the source reopened with backoff (1 s, doubling, at most
// 30 s); its last frame stays on the canvas meanwhile. A file that ends
// without loop stays on its last frame.
func (ss *sceneSource) run(ctx context.Context, s *Service, set *sceneSet) {
	if ss.spec.Type == scene.TypeColor {
		f, err := ss.colorFrame(set)
		if err != nil {
			ss.set("failed", err.Error())
			return
		}
		ss.put(f)
		ss.set("live", "")
		return
	}
	backoff, lastErr := time.Second, ""
	for ctx.Err() == nil {
		src, err := safe.Value(func() (source.Video, error) { return ss.open(s, set) })
		if err == nil {
			if t, ok := src.(*text.Source); ok {
				ss.mu.Lock()
				for k, v := range ss.fields {
					t.SetField(k, v)
				}
				ss.running = t
				ss.mu.Unlock()
			}
			ss.set("live", "")
			start := time.Now()
			err = ss.pump(ctx, src)
			ss.mu.Lock()
			ss.running = nil
			ss.mu.Unlock()
			if cerr := safe.Do(src.Close); cerr != nil && isPanic(cerr) {
				s.panicked("closing source "+ss.name, cerr)
			}
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, io.EOF) {
				s.log.Info("source ended; its last frame stays", "source", ss.name)
				ss.set("ended", "")
				return
			}
			if time.Since(start) > time.Minute {
				backoff = time.Second
			}
		}
		s.stats.inputErrors.Add(1)
		ss.set("failed", err.Error())
		if isPanic(err) {
			s.panicked("source "+ss.name, err)
		} else if err.Error() != lastErr {
			s.log.Error("source failed; reopening", "source", ss.name, "err", err, "in", backoff)
		}
		lastErr = err.Error()
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// Limits on a text source's fields set through the API.
const (
	maxTextFields     = 32
	maxTextFieldBytes = 256
)

// apiSourceFields is POST /api/sources/{name}/fields: values for a text
// source's {{name}} fields, shown from its next frame, e.g.
// {"score": "3-1"}. They stay when the source reopens; an empty value
// shows nothing.
func (s *Service) apiSourceFields(w http.ResponseWriter, r *http.Request) {
	name, ok := s.scenesRoute(w, r, "/api/sources/", "/fields")
	if !ok {
		return
	}
	var fields map[string]string
	if err := json.NewDecoder(r.Body).Decode(&fields); err != nil {
		jsonError(w, http.StatusBadRequest, `body: want {"field": "value", ...}: `+err.Error())
		return
	}
	set := s.scenes.cur.Load()
	i := slices.IndexFunc(set.sources, func(ss *sceneSource) bool { return ss.name == name })
	switch {
	case i < 0:
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("no source %q", name))
		return
	case set.sources[i].spec.Type != scene.TypeText:
		jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("source %q is a %s source: only text sources have fields", name, set.sources[i].spec.Type))
		return
	}
	for k, v := range fields {
		if k == "clock" || k == "date" || len(k) == 0 || len(k) > 64 || len(v) > maxTextFieldBytes {
			jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("field %q: want a name other than clock and date, and a value of at most %d bytes", k, maxTextFieldBytes))
			return
		}
	}
	ss := set.sources[i]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.fields == nil {
		ss.fields = map[string]string{}
	}
	for k := range fields {
		if _, known := ss.fields[k]; !known && len(ss.fields) >= maxTextFields {
			jsonError(w, http.StatusUnprocessableEntity, fmt.Sprintf("at most %d fields per source", maxTextFields))
			return
		}
	}
	for k, v := range fields {
		ss.fields[k] = v
		if ss.running != nil {
			ss.running.SetField(k, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"source": name, "fields": ss.fields})
}

func (ss *sceneSource) open(s *Service, set *sceneSet) (source.Video, error) {
	sz := set.size(ss.spec)
	fps := set.desc.Canvas.FPS
	switch ss.spec.Type {
	case scene.TypeTestsrc:
		return testsrc.NewSource(sz[0], sz[1], fps, testsrc.SourceOptions{})
	case scene.TypeY4M:
		return y4m.Open(ss.spec.Path, y4m.Options{Loop: ss.spec.Loop})
	case scene.TypeImage:
		return still.Open(ss.spec.Path, fps, still.Options{MaxImagePixels: s.cfg.MaxImagePixels})
	case scene.TypeText:
		return text.Open(ss.spec.Text, text.Options{Width: sz[0], Height: sz[1], FPS: fps, Size: ss.spec.Size, Font: ss.spec.Font})
	}
	return nil, fmt.Errorf("source type %q is not composed yet", ss.spec.Type)
}

// pump reads the source until it ends or fails; each read runs under
// safe.Value (sources parse outside data).
func (ss *sceneSource) pump(ctx context.Context, src source.Video) error {
	for {
		f, err := safe.Value(func() (media.VideoFrame, error) { return src.ReadVideo(ctx) })
		if err != nil {
			return err
		}
		ss.put(f)
	}
}

// colorFrame is a color source's one frame.
func (ss *sceneSource) colorFrame(set *sceneSet) (media.VideoFrame, error) {
	sz := set.size(ss.spec)
	c, _ := scene.ParseColor(ss.spec.Color) // checked by Validate
	img := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{c[0], c[1], c[2], c[3]}}, image.Point{}, draw.Src)
	return media.NewVideoFrame(img.Pix, media.VideoFrameInit{
		Format: media.RGBA, CodedWidth: sz[0], CodedHeight: sz[1],
		Layout: []media.PlaneLayout{{Stride: img.Stride}},
	})
}

// ScenesView is GET /api/scenes: the description in force, with every
// default filled in, each source's state, and the error of the file's
// last version when it could not be applied.
type ScenesView struct {
	*scene.Description
	SourceStates map[string]SourceView `json:"sourceStates"`
	ReloadError  string                `json:"reloadError,omitempty"`
	// Transitions name the transitions a switch may use.
	Transitions []string `json:"transitions"`
	// Transition is the switch under way, if any.
	Transition *TransitionView `json:"transition,omitempty"`
}

// TransitionView is a switch under way.
type TransitionView struct {
	Name     string  `json:"name"`
	From     string  `json:"from"`
	Progress float64 `json:"progress"`
}

// SourceView is one source's state: "opening", "live", "stalled" (live,
// but no frame for stallAfter), "ended" or "failed".
type SourceView struct {
	State     string `json:"state"`
	Frames    uint64 `json:"frames"`
	LastError string `json:"lastError,omitempty"`
}

// sourceStallAfter is how long a live source may go without a frame
// before it is said to be stalled (its last frame stays on the canvas).
const sourceStallAfter = 3 * time.Second

// errNoScenes answers a scenes route of a service without --scenes.
func errNoScenes(w http.ResponseWriter) {
	jsonError(w, http.StatusNotFound, "no scenes: the service runs one --input (start it with --scenes FILE)")
}

// scenesRoute takes the {name} of a route prefix{name}suffix, answering
// 404 (and false) without --scenes or for another path.
func (s *Service) scenesRoute(w http.ResponseWriter, r *http.Request, prefix, suffix string) (string, bool) {
	if s.scenes == nil {
		errNoScenes(w)
		return "", false
	}
	name, _ := strings.CutPrefix(r.URL.Path, prefix)
	name, ok := strings.CutSuffix(name, suffix)
	if !ok || name == "" || strings.Contains(name, "/") {
		jsonError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path+" (want "+prefix+"{name}"+suffix+")")
		return "", false
	}
	return name, true
}

func (s *Service) apiScenes(w http.ResponseWriter, r *http.Request) {
	if s.scenes == nil {
		errNoScenes(w)
		return
	}
	set := s.scenes.cur.Load()
	v := ScenesView{Description: set.desc, SourceStates: map[string]SourceView{}, Transitions: s.transitionNames()}
	if t := set.trans; t != nil {
		if p := t.progress(time.Now()); p < 1 {
			v.Transition = &TransitionView{Name: t.name, From: t.from, Progress: p}
		}
	}
	s.scenes.mu.Lock()
	v.ReloadError = s.scenes.reloadErr
	s.scenes.mu.Unlock()
	for _, ss := range set.sources {
		ss.mu.Lock()
		sv := SourceView{State: ss.state, Frames: ss.frames, LastError: ss.lastError}
		if sv.State == "live" && ss.spec.Type != scene.TypeColor && ss.spec.Type != scene.TypeISF && time.Since(ss.at) > sourceStallAfter {
			sv.State = "stalled"
		}
		ss.mu.Unlock()
		v.SourceStates[ss.name] = sv
	}
	writeJSON(w, http.StatusOK, v)
}
